/** The panel around the transcript: toolbar (mode, model, history, new thread), the context
 * meter, the server banner, pending approvals and the thread history list. */
import type { WebviewMessage } from '../chat/messages';
import { COMMAND_CHOICES, type CommandChoice, commandApprovalMessage } from '../approvals/rules';
import { READ_CHOICES, fileReadMessage } from '../approvals/rules';
import type { Mode } from '../protocol';
import { MODES } from '../protocol';
import { MODE_LABELS, basename, contextMeter, plural } from '../state/present';
import { type ChatState, type PendingApproval, nextModel } from '../state/reducer';
import { h, icon } from './dom';
import { elicitationCard, mcpApprovalCard, pruneDrafts } from './mcp';
import { picker } from './picker';

type Post = (message: WebviewMessage) => void;

const CHOICE_ICONS: Record<CommandChoice, string> = { Run: 'play', 'Run for session': 'run-all', 'Always allow…': 'shield', Decline: 'circle-slash', Stop: 'debug-stop' };

/** The top row: the context meter (main.ts puts it first), then history and new thread. */
export function renderToolbar(root: HTMLElement, toggleHistory: () => void, post: Post): void {
  root.replaceChildren(
    h('span', { className: 'spacer' }),
    h('button', { className: 'icon-button', id: 'history-button', title: 'Thread history', 'aria-label': 'Thread history', onclick: toggleHistory }, icon('history')),
    h('button', { className: 'icon-button', id: 'new-thread', title: 'New thread', 'aria-label': 'New thread', onclick: () => post({ type: 'newThread' }) }, icon('add')),
  );
}

/** The mode and model pickers under the message box, as in Copilot Chat. */
export function renderPickers(root: HTMLElement, state: ChatState, post: Post): void {
  // The host confirms full access and answers with the mode in force; until then the old one shows.
  const mode = picker({
    id: 'mode',
    label: 'Mode',
    title: state.mode ? `${MODE_LABELS[state.mode].label}: ${MODE_LABELS[state.mode].detail}` : 'Mode: what Tether may do without asking',
    options: MODES.map((m) => ({ value: m, label: MODE_LABELS[m].label, detail: MODE_LABELS[m].detail, icon: MODE_LABELS[m].icon })),
    value: state.mode ?? '',
    onPick: (wanted) => post({ type: 'setMode', mode: wanted as Mode }),
  });
  mode.classList.add(`mode-${state.mode ?? 'unknown'}`);
  // The model the next turn asks for is always among the choices, and always the one shown.
  const next = nextModel(state);
  const choices = [...new Set([...(next ? [next] : []), ...state.models])];
  const model = picker({
    id: 'model',
    label: 'Model',
    title: next ? `Model for the next turn: ${next}` : 'No model set: set tether.model (or pick one here once the endpoint lists some)',
    options: choices.map((m) => ({ value: m, label: m })),
    value: next ?? '',
    placeholder: 'No model set',
    disabled: choices.length === 0,
    onPick: (value) => post({ type: 'selectModel', model: value || undefined }),
  });
  model.classList.add('model-picker');
  root.replaceChildren(mode, model);
}

export function renderMeter(root: HTMLElement, state: ChatState): void {
  const meter = contextMeter(state.usage);
  root.hidden = !meter;
  if (!meter) return;
  const bar = h('div', { className: 'meter-bar' });
  bar.style.width = `${Math.round((meter.fraction ?? 0) * 100)}%`;
  if ((meter.fraction ?? 0) > 0.8) bar.classList.add('high');
  root.replaceChildren(h('div', { className: 'meter-track', role: 'meter', 'aria-label': 'Context used', 'aria-valuemin': 0, 'aria-valuemax': meter.window ?? meter.used, 'aria-valuenow': meter.used }, bar), h('span', { className: 'meter-label' }, meter.label));
}

export function renderBanner(root: HTMLElement, state: ChatState): void {
  const { status, message } = state.server;
  root.hidden = status === 'ready';
  if (status === 'ready') return;
  root.className = `banner ${status}`;
  root.setAttribute('role', status === 'error' ? 'alert' : 'status');
  root.replaceChildren(
    icon(status === 'starting' ? 'loading codicon-modifier-spin' : status === 'error' ? 'error' : 'debug-disconnect'),
    ` ${status === 'starting' ? 'Starting the Tether backend…' : message ?? 'The Tether backend is not running.'}`,
  );
}

function approvalCard(approval: PendingApproval, post: Post, state: ChatState): HTMLElement {
  if (approval.kind === 'mcpTool') return mcpApprovalCard(approval, post, state.mcpServers);
  if (approval.kind === 'elicitation') return elicitationCard(approval, post);
  if (approval.kind === 'command') {
    return h(
      'div',
      { className: 'card approval', role: 'group', 'aria-label': 'Command approval', 'data-approval': approval.itemId },
      h('div', { className: 'card-title' }, icon('bell-dot'), ' Approval needed'),
      h('div', { className: 'approval-text' }, commandApprovalMessage(approval)),
      h('div', { className: 'actions' }, ...COMMAND_CHOICES.map((choice, i) => h('button', { className: i === 0 ? 'primary' : 'secondary', onclick: () => post({ type: 'commandApproval', itemId: approval.itemId, choice }) }, icon(CHOICE_ICONS[choice]), ` ${choice}`))),
    );
  }
  if (approval.kind === 'fileRead') {
    return h(
      'div',
      { className: 'card approval', role: 'group', 'aria-label': 'File read approval', 'data-approval': approval.itemId },
      h('div', { className: 'card-title' }, icon('bell-dot'), ' Approval needed'),
      h('div', { className: 'approval-text' }, fileReadMessage(approval)),
      h('div', { className: 'actions' }, ...READ_CHOICES.map((choice, i) => h('button', { className: i === 0 ? 'primary' : 'secondary', onclick: () => post({ type: 'fileReadApproval', itemId: approval.itemId, choice }) }, ` ${choice}`))),
    );
  }
  // The diff card in the transcript has the reason and the files: here one line that stays in
  // sight above the message box until the review is done.
  const hunks = approval.changes.reduce((n, c) => n + c.hunks.length, 0);
  return h(
    'div',
    { className: 'card approval review-bar', role: 'group', 'aria-label': 'Edit approval', 'data-approval': approval.itemId, title: approval.reason ?? '' },
    icon('bell-dot'),
    h('span', { className: 'approval-text' }, h('strong', {}, plural(hunks, 'proposed change')), ` in ${approval.changes.map((c) => basename(c.path)).join(', ')}`),
    h('button', { className: 'primary', onclick: () => post({ type: 'reviewChange', itemId: approval.itemId }) }, icon('diff'), ' Review'),
  );
}

export function renderApprovals(root: HTMLElement, state: ChatState, post: Post): void {
  root.hidden = state.approvals.length === 0;
  pruneDrafts(state.approvals);
  root.replaceChildren(...state.approvals.map((a) => approvalCard(a, post, state)));
}

export function renderHistory(root: HTMLElement, state: ChatState, post: Post, close: () => void): void {
  const items = state.history.map((thread) =>
    h(
      'li',
      {},
      h(
        'button',
        { className: `history-entry${thread.id === state.thread?.id ? ' current' : ''}`, onclick: () => (post({ type: 'openThread', threadId: thread.id }), close()) },
        h('span', { className: 'title' }, thread.title || '(untitled)'),
        h('span', { className: 'meta' }, `${new Date(thread.updatedAt).toLocaleString()} · ${MODE_LABELS[thread.mode].label}`),
      ),
    ),
  );
  root.replaceChildren(
    h('div', { className: 'card-title' }, icon('history'), ' Threads', h('span', { className: 'spacer' }), h('button', { className: 'icon-button', 'aria-label': 'Close history', onclick: close }, icon('close'))),
    items.length ? h('ul', { className: 'history-list' }, ...items) : h('div', { className: 'meta' }, 'No earlier threads.'),
  );
}
