import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import type { Item, ServerNotification, Thread, Turn } from '../../src/protocol';
import { type ChatEvent, initialState, nextModel, reduce, runningTurn } from '../../src/state/reducer';

const thread: Thread = { id: 'th', cwd: '/w', roots: [], mode: 'agent', model: 'm', status: 'idle', createdAt: 1, updatedAt: 1 };
const turn: Turn = { id: 'tu', threadId: 'th', status: 'inProgress', items: [] };
const n = (notification: ServerNotification): ChatEvent => ({ type: 'notification', notification });
const run = (events: ChatEvent[]) => events.reduce(reduce, initialState('agent'));

describe('reduce', () => {
  it('streams an agent message from deltas and keeps the completed item authoritative', () => {
    const msg: Item = { type: 'agentMessage', id: 'i1', text: '' };
    const events: ChatEvent[] = [
      { type: 'threadLoaded', thread, turns: [] },
      { type: 'turnAccepted', turn },
      n({ method: 'turn/started', params: { threadId: 'th', turn } }),
      n({ method: 'item/started', params: { threadId: 'th', turnId: 'tu', item: msg } }),
      n({ method: 'item/agentMessage/delta', params: { threadId: 'th', turnId: 'tu', itemId: 'i1', delta: 'Hel' } }),
      n({ method: 'item/agentMessage/delta', params: { threadId: 'th', turnId: 'tu', itemId: 'i1', delta: 'lo' } }),
    ];
    const streaming = run(events);
    assert.equal(streaming.turns.length, 1);
    assert.deepEqual(streaming.turns[0]!.items, [{ ...msg, text: 'Hello' }]);
    assert.equal(runningTurn(streaming)?.id, 'tu');

    const done = [
      n({ method: 'thread/tokenUsage/updated', params: { threadId: 'th', usage: { inputTokens: 7, cachedInputTokens: 0, outputTokens: 2, totalTokens: 9, contextWindow: 100 } } }),
      n({ method: 'item/completed', params: { threadId: 'th', turnId: 'tu', item: { ...msg, text: 'Hello!' } } }),
      n({ method: 'turn/completed', params: { threadId: 'th', turn: { ...turn, status: 'completed', items: [], usage: { inputTokens: 50, cachedInputTokens: 0, outputTokens: 40, totalTokens: 90 } } } }),
    ].reduce(reduce, streaming);
    assert.equal((done.turns[0]!.items[0] as { text: string }).text, 'Hello!');
    assert.equal(done.turns[0]!.status, 'completed');
    assert.equal(done.usage?.totalTokens, 9, 'the meter shows the last call, not the turn sum');
    assert.equal(runningTurn(done), undefined);
  });

  it('keeps streamed items when the turn/start result arrives after them', () => {
    const user: Item = { type: 'userMessage', id: 'u1', content: [{ type: 'text', text: 'hi' }] };
    const thinking: Item = { type: 'reasoning', id: 'r1', text: '' };
    const state = run([
      { type: 'threadLoaded', thread, turns: [] },
      n({ method: 'turn/started', params: { threadId: 'th', turn } }),
      n({ method: 'item/started', params: { threadId: 'th', turnId: 'tu', item: user } }),
      n({ method: 'item/started', params: { threadId: 'th', turnId: 'tu', item: thinking } }),
      n({ method: 'item/reasoning/delta', params: { threadId: 'th', turnId: 'tu', itemId: 'r1', delta: 'hmm' } }),
      { type: 'turnAccepted', turn: { ...turn, items: [user] } },
    ]);
    assert.deepEqual(state.turns[0]!.items.map((i) => i.id), ['u1', 'r1']);
    assert.equal((state.turns[0]!.items[1] as { text: string }).text, 'hmm');
  });

  it('keeps a turn finished before its turn/start result arrived (a model that answers at once)', () => {
    const user: Item = { type: 'userMessage', id: 'u1', content: [{ type: 'text', text: 'hi' }] };
    const reply: Item = { type: 'agentMessage', id: 'a1', text: 'Hi!' };
    const state = run([
      { type: 'threadLoaded', thread, turns: [] },
      n({ method: 'turn/started', params: { threadId: 'th', turn } }),
      n({ method: 'item/completed', params: { threadId: 'th', turnId: 'tu', item: user } }),
      n({ method: 'item/completed', params: { threadId: 'th', turnId: 'tu', item: reply } }),
      n({ method: 'turn/completed', params: { threadId: 'th', turn: { ...turn, status: 'completed', items: [user, reply] } } }),
      // The result was taken when the turn began: still inProgress, only the user's message.
      { type: 'turnAccepted', turn: { ...turn, items: [user] } },
    ]);
    assert.equal(state.turns[0]!.status, 'completed');
    assert.deepEqual(state.turns[0]!.items.map((i) => i.id), ['u1', 'a1']);
    assert.equal(runningTurn(state), undefined, 'the composer goes back to Send');
  });

  it('shows the backend model until the user picks one, and a new tether.model replaces the pick', () => {
    const listed = run([{ type: 'models', models: ['gpt-5-codex'], defaultModel: 'gpt-5-codex' }]);
    assert.equal(nextModel(listed), 'gpt-5-codex');
    const configured = reduce(listed, { type: 'models', models: ['qwen', 'llama'], defaultModel: 'qwen' });
    assert.equal(nextModel(configured), 'qwen', 'the setting reaches the picker without a pick in between');
    const picked = reduce(configured, { type: 'modelSelected', model: 'llama' });
    assert.equal(nextModel(reduce(picked, { type: 'models', models: ['qwen', 'llama'], defaultModel: 'qwen' })), 'llama', 'a refresh keeps the pick');
    assert.equal(nextModel(reduce(picked, { type: 'models', models: ['mistral'], defaultModel: 'mistral', forgetPick: true })), 'mistral');
  });

  it('drops an item the server discards after a failed model call', () => {
    const partial: Item = { type: 'agentMessage', id: 'a1', text: '' };
    const state = run([
      { type: 'threadLoaded', thread, turns: [turn] },
      n({ method: 'item/started', params: { threadId: 'th', turnId: 'tu', item: partial } }),
      n({ method: 'item/agentMessage/delta', params: { threadId: 'th', turnId: 'tu', itemId: 'a1', delta: 'half an ans' } }),
      n({ method: 'item/discarded', params: { threadId: 'th', turnId: 'tu', itemId: 'a1', reason: 'the stream broke; retrying' } }),
    ]);
    assert.deepEqual(state.turns[0]!.items, []);
  });

  it('appends command output chunks in order', () => {
    const cmd: Item = { type: 'commandExecution', id: 'c', command: 'ls', cwd: '/w', status: 'inProgress', output: '', sandbox: 'readOnly' };
    const state = run([
      { type: 'threadLoaded', thread, turns: [turn] },
      n({ method: 'item/started', params: { threadId: 'th', turnId: 'tu', item: cmd } }),
      n({ method: 'item/commandExecution/outputDelta', params: { threadId: 'th', turnId: 'tu', itemId: 'c', stream: 'stdout', chunk: 'a\n' } }),
      n({ method: 'item/commandExecution/outputDelta', params: { threadId: 'th', turnId: 'tu', itemId: 'c', stream: 'stderr', chunk: 'b\n' } }),
    ]);
    assert.equal((state.turns[0]!.items[0] as { output: string }).output, 'a\nb\n');
  });

  it('ignores notifications of other threads', () => {
    const state = run([
      { type: 'threadLoaded', thread, turns: [] },
      n({ method: 'turn/started', params: { threadId: 'other', turn: { ...turn, threadId: 'other' } } }),
      n({ method: 'thread/modeChanged', params: { threadId: 'other', mode: 'fullAccess' } }),
    ]);
    assert.equal(state.turns.length, 0);
    assert.equal(state.mode, 'agent');
  });

  it('drops pending approvals when their turn ends', () => {
    const state = run([
      { type: 'threadLoaded', thread, turns: [turn] },
      {
        type: 'approvalOpened',
        approval: { kind: 'command', threadId: 'th', turnId: 'tu', itemId: 'c', command: 'rm x', cwd: '/w', sandbox: 'workspaceWrite', suggestedRules: [] },
      },
    ]);
    assert.equal(state.approvals.length, 1);
    const ended = reduce(state, n({ method: 'turn/completed', params: { threadId: 'th', turn: { ...turn, status: 'interrupted' } } }));
    assert.equal(ended.approvals.length, 0);
    assert.equal(ended.turns[0]!.status, 'interrupted');
  });

  it('follows the mode of the thread', () => {
    const state = run([{ type: 'threadLoaded', thread, turns: [] }, n({ method: 'thread/modeChanged', params: { threadId: 'th', mode: 'readOnly' } })]);
    assert.equal(state.mode, 'readOnly');
    assert.equal(state.thread?.mode, 'readOnly');
  });
});
