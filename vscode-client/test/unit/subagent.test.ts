import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { commandApprovalMessage, fileReadMessage } from '../../src/approvals/rules';
import type { CommandApprovalParams, Thread } from '../../src/protocol';
import { initialState, reduce } from '../../src/state/reducer';

const parent: Thread = { id: 'thr_p', cwd: '/w', roots: ['/w'], mode: 'agent', model: 'm', status: 'running', createdAt: 1, updatedAt: 1 };
const child: Thread = { ...parent, id: 'thr_c', mode: 'readOnly', parentThreadId: 'thr_p', parentItemId: 'item_s', agentType: 'explorer' };
const asked: CommandApprovalParams = { threadId: 'thr_c', parentThreadId: 'thr_p', agentType: 'explorer', turnId: 'turn_c', itemId: 'item_c', command: 'make', cwd: '/w', sandbox: 'readOnly', suggestedRules: [] };

describe('sub-agent approvals', () => {
  it('name the sub-agent that asks', () => {
    assert.match(commandApprovalMessage(asked), /^Sub-agent “explorer” wants to run “make” in \/w/);
    assert.match(commandApprovalMessage({ ...asked, agentType: undefined, parentThreadId: undefined }), /^Tether wants to run/);
    assert.match(fileReadMessage({ threadId: 'thr_c', turnId: 't', itemId: 'i', path: '/etc/hosts', agentType: 'explorer' }), /^Sub-agent “explorer” wants to read \/etc\/hosts/);
  });

  it("stay pending when the panel moves between the parent's thread and the child's", () => {
    let state = reduce(initialState('agent'), { type: 'threadLoaded', thread: parent, turns: [] });
    state = reduce(state, { type: 'approvalOpened', approval: { kind: 'command', ...asked } });
    state = reduce(state, { type: 'threadLoaded', thread: child, turns: [] });
    assert.deepEqual(state.approvals.map((a) => a.itemId), ['item_c']);
    state = reduce(state, { type: 'threadLoaded', thread: parent, turns: [] });
    assert.deepEqual(state.approvals.map((a) => a.itemId), ['item_c']);
    state = reduce(state, { type: 'threadLoaded', thread: { ...parent, id: 'thr_other' }, turns: [] });
    assert.deepEqual(state.approvals, []);
  });
});
