/** The chat state and the one reducer that folds the server's item stream (and the few things the
 * extension host learns by itself) into it. Pure: the extension host and the webview run the same
 * reducer on the same events, so what the panel shows and what the host acts on never disagree. */
import type {
  CommandApprovalParams,
  FileChangeApprovalParams,
  FileReadApprovalParams,
  Item,
  McpElicitationParams,
  McpServer,
  McpToolCallApprovalParams,
  Mode,
  ServerNotification,
  Thread,
  Turn,
  Usage,
} from '../protocol';
import { upsertServer } from '../mcp/present';

export type PendingApproval =
  | ({ kind: 'command' } & CommandApprovalParams)
  | ({ kind: 'fileChange' } & FileChangeApprovalParams)
  | ({ kind: 'fileRead' } & FileReadApprovalParams)
  | ({ kind: 'mcpTool' } & McpToolCallApprovalParams)
  /** An elicitation has no item: the host gives it an `itemId` of its own to key it by. */
  | ({ kind: 'elicitation'; itemId: string } & McpElicitationParams);

export interface TurnView {
  id: string;
  status: Turn['status'];
  items: Item[];
  error?: Turn['error'];
  usage?: Usage | null;
  /** Set while the server retries a failed model call; the next item clears it. */
  retry?: { attempt: number; maxAttempts: number; message: string };
}

export type ServerStatus = 'starting' | 'ready' | 'error' | 'stopped';

export interface ChatState {
  /** The thread the panel shows; absent until the first prompt starts one. */
  thread?: Thread;
  /** Mode of the shown thread, or of the next thread when none is started yet; unknown until
   * the backend has said its default. */
  mode?: Mode;
  turns: TurnView[];
  usage?: Usage | null;
  approvals: PendingApproval[];
  models: string[];
  /** The backend's model (tether.model, else its environment or config.toml). */
  defaultModel?: string;
  /** A model the user picked in the panel; it wins until tether.model changes. */
  pickedModel?: string;
  history: Thread[];
  server: { status: ServerStatus; message?: string };
  /** The MCP servers of the shown thread (`mcpServer/list`, then `mcpServer/statusChanged`);
   * undefined until listed. */
  mcpServers?: McpServer[];
}

export type ChatEvent =
  | { type: 'notification'; notification: ServerNotification }
  | { type: 'threadLoaded'; thread: Thread; turns: Turn[] }
  | { type: 'threadCleared' }
  | { type: 'turnAccepted'; turn: Turn }
  | { type: 'itemReplaced'; threadId: string; item: Item }
  | { type: 'approvalOpened'; approval: PendingApproval }
  | { type: 'approvalClosed'; itemId: string }
  | { type: 'models'; models: string[]; defaultModel?: string; forgetPick?: boolean }
  | { type: 'modelSelected'; model?: string }
  | { type: 'modeSelected'; mode: Mode }
  | { type: 'history'; threads: Thread[] }
  | { type: 'mcpServers'; threadId: string; servers: McpServer[] }
  | { type: 'server'; status: ServerStatus; message?: string };

export function initialState(mode?: Mode): ChatState {
  return { mode, turns: [], approvals: [], models: [], history: [], server: { status: 'starting' } };
}

/** The model the next turn asks for, which is also what the panel's picker shows. */
export function nextModel(state: ChatState): string | undefined {
  return state.pickedModel ?? state.defaultModel;
}

export function reduce(state: ChatState, event: ChatEvent): ChatState {
  switch (event.type) {
    case 'notification':
      return reduceNotification(state, event.notification);
    case 'threadLoaded':
      return {
        ...state,
        thread: event.thread,
        mode: event.thread.mode,
        turns: event.turns.map(turnView),
        // Turn usages are sums over calls; the meter waits for the next call's own figures.
        usage: undefined,
        // A sub-agent's approvals stay in sight from its parent's thread, and the other way.
        approvals: state.approvals.filter((a) => a.threadId === event.thread.id || ('parentThreadId' in a && a.parentThreadId === event.thread.id) || event.thread.parentThreadId === a.threadId),
        mcpServers: event.thread.id === state.thread?.id ? state.mcpServers : undefined,
      };
    case 'threadCleared':
      return { ...state, thread: undefined, turns: [], usage: undefined, approvals: [], mcpServers: undefined };
    case 'turnAccepted':
      if (event.turn.threadId !== state.thread?.id) return state;
      return acceptTurn(state, event.turn);
    case 'itemReplaced':
      if (event.threadId !== state.thread?.id) return state;
      return mapItem(state, event.item.id, () => event.item);
    case 'approvalOpened':
      return {
        ...state,
        approvals: [...state.approvals.filter((a) => a.itemId !== event.approval.itemId), event.approval],
      };
    case 'approvalClosed':
      return { ...state, approvals: state.approvals.filter((a) => a.itemId !== event.itemId) };
    case 'models':
      return { ...state, models: event.models, defaultModel: event.defaultModel, pickedModel: event.forgetPick ? undefined : state.pickedModel };
    case 'modelSelected':
      return { ...state, pickedModel: event.model };
    case 'modeSelected':
      return { ...state, mode: event.mode, thread: state.thread && { ...state.thread, mode: event.mode } };
    case 'history':
      return { ...state, history: event.threads };
    case 'mcpServers':
      return event.threadId === state.thread?.id ? { ...state, mcpServers: event.servers } : state;
    case 'server':
      return { ...state, server: { status: event.status, message: event.message } };
  }
}

function reduceNotification(state: ChatState, n: ServerNotification): ChatState {
  // Every notification but thread/started names its thread; others' threads are not shown here.
  if (n.method === 'thread/started') return state;
  if (n.params.threadId !== state.thread?.id) return state;
  switch (n.method) {
    case 'thread/modeChanged':
      return { ...state, mode: n.params.mode, thread: state.thread && { ...state.thread, mode: n.params.mode } };
    case 'thread/tokenUsage/updated':
      return { ...state, usage: n.params.usage };
    case 'turn/started':
      return upsertTurn(state, n.params.turn);
    case 'turn/completed': {
      const next = upsertTurn(state, n.params.turn);
      // An approval cannot outlive its turn, even if the server's cancel got lost. The turn's
      // usage is a sum over its model calls, not what fills the context: the meter keeps the
      // last thread/tokenUsage/updated.
      return { ...next, approvals: next.approvals.filter((a) => a.turnId !== n.params.turn.id) };
    }
    case 'turn/diff/updated':
      return state;
    case 'turn/retrying': {
      const { attempt, maxAttempts, message } = n.params;
      return { ...state, turns: state.turns.map((t) => (t.id === n.params.turnId ? { ...t, retry: { attempt, maxAttempts, message } } : t)) };
    }
    case 'item/started': {
      const next = upsertItem(state, n.params.turnId, n.params.item);
      return { ...next, turns: next.turns.map((t) => (t.id === n.params.turnId && t.retry ? { ...t, retry: undefined } : t)) };
    }
    case 'item/updated':
    case 'item/completed':
      return upsertItem(state, n.params.turnId, n.params.item);
    case 'item/discarded': {
      // Streamed from a model call that then failed; the retry streams its own items.
      const itemId = n.params.itemId;
      return { ...state, turns: state.turns.map((t) => (t.id === n.params.turnId ? { ...t, items: t.items.filter((i) => i.id !== itemId) } : t)) };
    }
    case 'item/agentMessage/delta':
    case 'item/reasoning/delta': {
      const delta = n.params.delta;
      return mapItem(state, n.params.itemId, (item) =>
        item.type === 'agentMessage' || item.type === 'reasoning' ? { ...item, text: item.text + delta } : item,
      );
    }
    case 'item/commandExecution/outputDelta': {
      const chunk = n.params.chunk;
      return mapItem(state, n.params.itemId, (item) =>
        item.type === 'commandExecution' ? { ...item, output: item.output + chunk } : item,
      );
    }
    case 'mcpServer/statusChanged':
      return { ...state, mcpServers: upsertServer(state.mcpServers ?? [], n.params.server) };
    case 'hook/started':
    case 'hook/completed':
      // A blocked tool's item carries the hook's reason itself; the runs are for logs and SDKs.
      return state;
  }
}

function turnView(turn: Turn): TurnView {
  return { id: turn.id, status: turn.status, items: turn.items, error: turn.error, usage: turn.usage };
}

/** The `turn/start` result: a snapshot taken when the turn began. Its notifications may have
 * arrived before it (a model that answers at once can finish the turn first), and they are newer:
 * a turn already known keeps its status and items and only gains items it has not seen. */
function acceptTurn(state: ChatState, turn: Turn): ChatState {
  const known = state.turns.find((t) => t.id === turn.id);
  if (!known) return { ...state, turns: [...state.turns, turnView(turn)] };
  const unseen = turn.items.filter((i) => !known.items.some((o) => o.id === i.id));
  if (unseen.length === 0) return state;
  return { ...state, turns: state.turns.map((t) => (t === known ? { ...t, items: [...unseen, ...t.items] } : t)) };
}

/** turn/started and turn/completed: the turn's own fields win. Its items are authoritative once
 * the turn is over; while it runs, the turn object is a snapshot that may be older than the
 * stream, so streamed items are kept and only unseen ones are added. */
function upsertTurn(state: ChatState, turn: Turn): ChatState {
  const index = state.turns.findIndex((t) => t.id === turn.id);
  if (index < 0) return { ...state, turns: [...state.turns, turnView(turn)] };
  const old = state.turns[index]!;
  const final = turn.status !== 'inProgress' && turn.items.length > 0;
  const items = final ? turn.items : [...old.items, ...turn.items.filter((i) => !old.items.some((o) => o.id === i.id))];
  const merged: TurnView = { ...turnView(turn), items, retry: final ? undefined : old.retry };
  const turns = state.turns.slice();
  turns[index] = merged;
  return { ...state, turns };
}

function upsertItem(state: ChatState, turnId: string, item: Item): ChatState {
  let turns = state.turns;
  if (!turns.some((t) => t.id === turnId)) {
    turns = [...turns, { id: turnId, status: 'inProgress', items: [] }];
  }
  return {
    ...state,
    turns: turns.map((turn) => {
      if (turn.id !== turnId) return turn;
      const index = turn.items.findIndex((i) => i.id === item.id);
      if (index < 0) return { ...turn, items: [...turn.items, item] };
      const items = turn.items.slice();
      items[index] = item;
      return { ...turn, items };
    }),
  };
}

function mapItem(state: ChatState, itemId: string, update: (item: Item) => Item): ChatState {
  return {
    ...state,
    turns: state.turns.map((turn) =>
      turn.items.some((i) => i.id === itemId)
        ? { ...turn, items: turn.items.map((i) => (i.id === itemId ? update(i) : i)) }
        : turn,
    ),
  };
}

/** The turn a stop button or a steering message applies to. */
export function runningTurn(state: ChatState): TurnView | undefined {
  return state.turns.find((t) => t.status === 'inProgress');
}

export function findItem(state: ChatState, itemId: string): { turnId: string; item: Item } | undefined {
  for (const turn of state.turns) {
    const item = turn.items.find((i) => i.id === itemId);
    if (item) return { turnId: turn.id, item };
  }
  return undefined;
}
