import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { READ_DECISIONS, fileReadMessage } from '../../src/approvals/rules';
import { mentionAt } from '../../src/webview/composer';

describe('mentionAt', () => {
  it('finds the @word right before the caret', () => {
    assert.deepEqual(mentionAt('explain @src/ma', 15), { start: 8, query: 'src/ma' });
    assert.deepEqual(mentionAt('@', 1), { start: 0, query: '' });
  });

  it('ignores e-mail addresses and finished mentions', () => {
    assert.equal(mentionAt('mail me@example.com', 19), undefined);
    assert.equal(mentionAt('see @a.ts now', 13), undefined);
  });
});

describe('file read approvals', () => {
  it('names the file and maps every button to a decision', () => {
    assert.match(fileReadMessage({ threadId: 't', turnId: 'u', itemId: 'i', path: '/etc/hosts' }), /read \/etc\/hosts, outside the workspace/);
    assert.deepEqual(Object.values(READ_DECISIONS), ['accept', 'acceptForSession', 'decline', 'cancel']);
  });
});
