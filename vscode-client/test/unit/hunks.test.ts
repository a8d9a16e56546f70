import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { HunkMismatchError, HunkReview, addedLines, appliedPlacements, layoutHunks } from '../../src/diff/hunks';
import type { FileChange, Hunk } from '../../src/protocol';

const original = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'].join('\n') + '\n';
// Hunk 0 replaces "b" by "B"; hunk 1 inserts "x" and "y" after "h" (new side shifted by hunk 0's +0).
const h0: Hunk = { index: 0, oldStart: 1, oldLines: 3, newStart: 1, newLines: 3, lines: [' a', '-b', '+B', ' c'], status: 'pending' };
const h1: Hunk = { index: 1, oldStart: 8, oldLines: 2, newStart: 8, newLines: 4, lines: [' h', '+x', '+y', ' i'], status: 'pending' };

describe('layoutHunks', () => {
  it('applies every hunk', () => {
    const { text } = layoutHunks(original, [h0, h1], () => true);
    assert.equal(text, 'a\nB\nc\nd\ne\nf\ng\nh\nx\ny\ni\nj\n');
  });

  it('applies only the chosen hunks and places each in the result', () => {
    const { text, placements } = layoutHunks(original, [h1, h0], (h) => h.index === 1);
    assert.equal(text, 'a\nb\nc\nd\ne\nf\ng\nh\nx\ny\ni\nj\n');
    assert.deepEqual(placements, [
      { index: 0, taken: false, start: 0, length: 3, anchor: 1 },
      { index: 1, taken: true, start: 7, length: 4, anchor: 8 },
    ]);
  });

  it('keeps CRLF line endings and a missing final newline', () => {
    const { text } = layoutHunks('a\r\nb\r\nc', [{ ...h0, lines: [' a', '-b', '+B', ' c', '\\ No newline at end of file'] }], () => true);
    assert.equal(text, 'a\r\nB\r\nc');
  });

  it('inserts into an empty file (an added file)', () => {
    const add: Hunk = { index: 0, oldStart: 0, oldLines: 0, newStart: 1, newLines: 2, lines: ['+one', '+two'], status: 'pending' };
    assert.equal(layoutHunks('', [add], () => true).text, 'one\ntwo\n');
    assert.equal(layoutHunks('', [add], () => false).text, '');
  });

  it('refuses a hunk whose context is not in the file', () => {
    assert.throws(() => layoutHunks(original.replace('b', 'z'), [h0], () => true), HunkMismatchError);
  });
});

describe('appliedPlacements', () => {
  it('shifts later hunks back when an earlier one was undone', () => {
    const grow: Hunk = { index: 0, oldStart: 1, oldLines: 1, newStart: 1, newLines: 3, lines: ['+1', '+2', ' a'], status: 'applied' };
    const later: Hunk = { ...h1, newStart: 10, status: 'applied' };
    const both = appliedPlacements([{ ...grow, status: 'applied' }, later]);
    assert.deepEqual(both.map((p) => [p.index, p.start, p.anchor]), [[0, 0, 0], [1, 9, 10]]);
    const undone = appliedPlacements([{ ...grow, status: 'reverted' }, later]);
    assert.deepEqual(undone.map((p) => [p.index, p.start, p.anchor]), [[1, 7, 8]]);
    assert.deepEqual(addedLines(later, undone[0]!), [8, 9]);
  });
});

describe('HunkReview', () => {
  const changes: FileChange[] = [
    { path: '/w/a.txt', kind: 'update', diff: '', hunks: [h0, h1] },
    { path: '/w/b.txt', kind: 'update', diff: '', hunks: [{ ...h0 }] },
  ];

  it('is complete only when every hunk of every file is decided', () => {
    const review = new HunkReview(changes);
    review.decide('/w/a.txt', 0, 'accepted');
    review.decideAll('rejected', '/w/b.txt');
    assert.equal(review.isComplete(), false);
    assert.deepEqual(review.undecided(), [{ path: '/w/a.txt', index: 1 }]);
    review.decide('/w/a.txt', 1, 'rejected');
    assert.equal(review.isComplete(), true);
    assert.deepEqual(review.result(), { decision: 'accept', accepted: [{ path: '/w/a.txt', indexes: [0] }] });
  });

  it('answers a plain accept or a decline when the decisions agree', () => {
    const review = new HunkReview(changes);
    review.decideAll('accepted');
    assert.deepEqual(review.result(), { decision: 'accept' });
    review.decideAll('rejected');
    assert.deepEqual(review.result(), { decision: 'decline' });
    assert.equal(review.shows('/w/a.txt', h0), false);
  });

  it('answers a change without hunks (a rename) only through Accept all or Reject all', () => {
    const review = new HunkReview([{ path: '/w/old.txt', movePath: '/w/new.txt', kind: 'update', diff: '', hunks: [] }]);
    assert.equal(review.isComplete(), false);
    review.decideAll('accepted');
    assert.equal(review.isComplete(), true);
    assert.deepEqual(review.result(), { decision: 'accept' });
  });

  it('refuses a hunk that is not part of the proposal', () => {
    assert.throws(() => new HunkReview(changes).decide('/w/a.txt', 7, 'accepted'));
  });
});
