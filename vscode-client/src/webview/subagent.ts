/** The card of a sub-agent the parent turn spawned: who it is, its task, what it does right now
 * (its current tool), its answer once done and the files it changed; "Open" shows the child's
 * own thread in the panel, "Stop" interrupts the child alone. */
import type { ItemOf } from '../protocol';
import { basename } from '../state/present';
import { h, icon } from './dom';
import type { ItemContext } from './items';
import { renderMarkdown } from './markdown';

type Subagent = ItemOf<'subagent'>;

const STATUS: Record<Subagent['status'], [string, string, string]> = {
  pending: ['waiting', 'clock', 'waiting for a slot'],
  inProgress: ['running', 'loading codicon-modifier-spin', 'working'],
  completed: ['ok', 'pass', 'done'],
  failed: ['failed', 'error', 'failed'],
  interrupted: ['declined', 'debug-stop', 'stopped'],
  closed: ['declined', 'close', 'closed'],
};

export function subagentStatusWords(item: Subagent): string {
  return STATUS[item.status][2];
}

export function subagentCard(ctx: ItemContext, item: Subagent): HTMLElement {
  const [badgeClass, badgeIcon, words] = STATUS[item.status];
  const running = item.status === 'inProgress' || item.status === 'pending';
  const lastTurn = item.agentTurnIds?.[item.agentTurnIds.length - 1];
  const task = item.prompt.split('\n')[0] ?? '';
  const actions = [
    h('button', { className: 'secondary', title: 'Show the sub-agent\'s own thread', onclick: () => ctx.post({ type: 'openThread', threadId: item.agentThreadId }) }, icon('link-external'), ' Open'),
    running && lastTurn
      ? h('button', { className: 'secondary', title: 'Interrupt this sub-agent only', onclick: () => ctx.post({ type: 'stopAgent', threadId: item.agentThreadId, turnId: lastTurn }) }, icon('debug-stop'), ' Stop')
      : null,
  ];
  const summary = h('div', { className: 'markdown subagent-summary' });
  if (item.summary) summary.innerHTML = renderMarkdown(item.summary);
  const changed = item.changedFiles ?? [];
  return h(
    'div',
    { className: `card subagent ${item.status}`, 'data-item': item.id },
    h(
      'div',
      { className: 'card-title' },
      icon('hubot'),
      h('span', {}, ` ${item.agentType}`),
      item.isolation === 'worktree' ? h('span', { className: 'meta' }, ' · own worktree') : null,
      h('span', { className: 'spacer' }),
      h('span', { className: `badge ${badgeClass}` }, icon(badgeIcon), ` ${words}`),
    ),
    h('div', { className: 'subagent-task', title: item.prompt }, task),
    running && item.activity ? h('div', { className: 'meta subagent-activity' }, icon('debug-step-over'), ` ${item.activity}`) : null,
    item.summary && !running ? summary : null,
    changed.length
      ? h(
          'div',
          { className: 'meta' },
          'Changed: ',
          ...changed.map((path) => h('button', { className: 'link', title: path, onclick: () => ctx.post({ type: 'openFile', path }) }, basename(path))),
        )
      : null,
    h('div', { className: 'actions' }, ...actions),
  );
}
