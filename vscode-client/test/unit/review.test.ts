import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { Finding } from '../../src/protocol';
import { applySuggestion, diffHunks, findingLabel, linesAt, mapLine, onWorkingTree, targetKey } from '../../src/review/present';

describe('applySuggestion', () => {
  const text = 'def add(a, b):\n    return a - b\n\n\ndef mean(xs):\n    return 0\n';

  it('replaces exactly the finding lines, keeping the rest and the final newline', () => {
    assert.equal(applySuggestion(text, 1, 1, '    return a + b'), text.replace('a - b', 'a + b'));
    assert.equal(applySuggestion(text, 1, 1, '    return a + b\n'), text.replace('a - b', 'a + b'), 'a trailing newline is not an extra line');
    assert.equal(applySuggestion(text, 4, 5, 'def mean(xs):\n    return sum(xs) / len(xs)'), text.replace('return 0', 'return sum(xs) / len(xs)'));
  });

  it('may grow or shrink the file', () => {
    assert.equal(applySuggestion('a\nb\nc\n', 1, 1, 'b1\nb2'), 'a\nb1\nb2\nc\n');
    assert.equal(applySuggestion('a\nb\nc\n', 0, 1, 'ab'), 'ab\nc\n');
  });

  it('keeps CRLF line endings, the suggestion included', () => {
    assert.equal(applySuggestion('a\r\nb\r\nc\r\n', 1, 1, 'x\ny'), 'a\r\nx\r\ny\r\nc\r\n');
  });

  it('refuses lines past the end of the file (it changed since the review)', () => {
    assert.equal(applySuggestion('a\nb\n', 5, 5, 'x'), undefined);
    assert.equal(applySuggestion('a\nb\n', 1, 0, 'x'), undefined);
  });
});

describe('linesAt', () => {
  it('reads the finding lines whatever the line endings, or undefined past the end', () => {
    assert.equal(linesAt('a\r\nb\r\nc', 1, 2), 'b\nc');
    assert.equal(linesAt('a\nb', 0, 0), 'a');
    assert.equal(linesAt('a\nb', 2, 2), undefined);
  });
});

describe('findings', () => {
  it('labels a finding by its priority', () => {
    assert.equal(findingLabel({ id: 'f', title: 'add subtracts', body: '', priority: 1, confidenceScore: 0.9, path: '/w/calc.py', range: { start: 1, end: 1 } }), '[P1] add subtracts');
  });

  it('keys reviews by their target: the same target again replaces, another does not', () => {
    assert.equal(targetKey({ type: 'uncommittedChanges' }), targetKey({ type: 'uncommittedChanges' }));
    assert.equal(targetKey({ type: 'commit', sha: 'abc', title: 'x' }), targetKey({ type: 'commit', sha: 'abc' }));
    const keys = [
      targetKey({ type: 'uncommittedChanges' }),
      targetKey({ type: 'baseBranch', branch: 'main' }),
      targetKey({ type: 'baseBranch', branch: 'release' }),
      targetKey({ type: 'commit', sha: 'abc' }),
      targetKey({ type: 'turn', turnId: 'turn_1' }),
      targetKey({ type: 'custom', instructions: 'look at db.py' }),
    ];
    assert.equal(new Set(keys).size, keys.length);
  });
});

describe('review settings', () => {
  it('keeps findings out of the Problems panel unless the user turns it on', () => {
    const manifest = JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8'));
    const setting = manifest.contributes.configuration.properties['tether.review.showInProblems'];
    assert.equal(setting.type, 'boolean');
    assert.equal(setting.default, false);
  });
});

describe('a commit finding on the working tree', () => {
  // From the commit to the working tree: a line inserted after line 1, lines 5-6 replaced by
  // three, line 9 deleted.
  const diff = ['diff --git a/f b/f', '--- a/f', '+++ b/f', '@@ -1,0 +2 @@', '+new', '@@ -5,2 +6,3 @@', '-a', '-b', '+x', '+y', '+z', '@@ -9 +11,0 @@', '-gone', ''].join('\n');
  const hunks = diffHunks(diff);

  it('reads the hunks, a missing count being one', () => {
    assert.deepEqual(hunks, [
      { oldStart: 1, oldLines: 0, newStart: 2, newLines: 1 },
      { oldStart: 5, oldLines: 2, newStart: 6, newLines: 3 },
      { oldStart: 9, oldLines: 1, newStart: 11, newLines: 0 },
    ]);
  });

  it('moves a line with the lines before it, and knows a changed one', () => {
    // 0-based old lines -> new lines.
    assert.deepEqual(
      [0, 1, 3, 4, 5, 6, 7, 8, 9].map((l) => mapLine(hunks, l)),
      [0, 2, 4, undefined, undefined, 8, 9, undefined, 10],
    );
    assert.equal(mapLine([], 3), 3);
  });

  it('places the finding on its lines now, or where it was with a note when they changed', () => {
    const finding: Finding = { id: 'f', title: 't', body: 'Body.', priority: 1, confidenceScore: 0.9, path: '/w/f', range: { start: 6, end: 7 } };
    assert.deepEqual(onWorkingTree(finding, diff).range, { start: 8, end: 9 });
    const changed = onWorkingTree({ ...finding, range: { start: 3, end: 4 } }, diff);
    assert.deepEqual(changed.range, { start: 3, end: 4 });
    assert.match(changed.body, /^_These lines changed since the commit/);
    assert.deepEqual(onWorkingTree(finding, '').range, finding.range, 'no diff: the file is as the commit left it');
  });
});
