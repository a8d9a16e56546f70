import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { applySuggestion, findingLabel, linesAt, targetKey } from '../../src/review/suggestion';

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
