/** Renders the transcript: one element per item (messages, command and tool cards, diff cards,
 * plans), reused as long as the item object is unchanged. */
import type { WebviewMessage } from '../chat/messages';
import type { FileChange, Hunk, Item, ItemOf } from '../protocol';
import { arrangeItems, basename, changeStats, changeStatusLabel, explorationSummary, hunkInEffect, isApplyTurn, plural, relativeTo, SANDBOX_WORDS, lineSpan, toolKind, turnChangedFiles } from '../state/present';
import type { TurnView } from '../state/reducer';
import { durationWords, otherContent, resultText, toolCallSummary } from '../mcp/present';
import { h, icon, reconcile } from './dom';
import { renderMarkdown } from './markdown';
import { subagentCard } from './subagent';

export interface ItemContext {
  post(message: WebviewMessage): void;
  /** User's open/closed choice per collapsible card, kept across re-renders. */
  expanded: Map<string, boolean>;
  /** The shown thread's workspace roots, to name files relative to them. */
  roots(): string[];
}

const OUTPUT_TAIL = 30_000;

function collapsible(ctx: ItemContext, id: string, className: string, defaultOpen: boolean, summary: (Node | null)[], body: (Node | null)[]): HTMLDetailsElement {
  const details = h('details', { className: `card ${className}`, 'data-item': id });
  const initial = ctx.expanded.get(id) ?? defaultOpen;
  details.open = initial;
  // The user's choice is taken from the summary's activation (a click, or Enter/Space, which the
  // browser turns into a click) at once: toggle events arrive later, possibly after a re-render
  // replaced this element, and reading them then made a folded card reopen now and then.
  const head = h('summary', {}, ...summary);
  head.addEventListener('click', () => ctx.expanded.set(id, !details.open));
  details.append(head, h('div', { className: 'card-body' }, ...body));
  return details;
}

function statusBadge(status: ItemOf<'commandExecution'>['status'], exitCode?: number | null): HTMLElement {
  switch (status) {
    case 'pending':
      return h('span', { className: 'badge waiting' }, icon('bell-dot'), ' waiting for approval');
    case 'inProgress':
      return h('span', { className: 'badge running' }, icon('loading codicon-modifier-spin'), ' running');
    case 'declined':
      return h('span', { className: 'badge declined' }, icon('circle-slash'), ' declined');
    case 'failed':
      return h('span', { className: 'badge failed' }, icon('error'), exitCode !== undefined && exitCode !== null ? ` exit ${exitCode}` : ' failed');
    default:
      if (exitCode !== undefined && exitCode !== null) {
        return h('span', { className: `badge ${exitCode === 0 ? 'ok' : 'failed'}` }, icon(exitCode === 0 ? 'pass' : 'error'), ` exit ${exitCode}`);
      }
      return h('span', { className: 'badge ok' }, icon('pass'), ` ${status}`);
  }
}

function commandCard(ctx: ItemContext, item: ItemOf<'commandExecution'>): HTMLElement {
  const running = item.status === 'inProgress' || item.status === 'pending';
  const output = item.output.length > OUTPUT_TAIL ? `…\n${item.output.slice(-OUTPUT_TAIL)}` : item.output;
  const meta = [item.cwd, SANDBOX_WORDS[item.sandbox], item.durationMs != null ? `${(item.durationMs / 1000).toFixed(1)}s` : '']
    .filter(Boolean)
    .join(' · ');
  return collapsible(
    ctx,
    item.id,
    'command',
    running,
    [icon('terminal'), h('code', { className: 'command-line' }, item.command), statusBadge(item.status, item.exitCode)],
    [
      h('div', { className: 'meta' }, meta),
      item.reason ? h('div', { className: 'meta' }, item.reason) : null,
      // Nothing ran yet while the command waits for approval: no empty output box.
      item.status === 'pending' ? null : h('pre', { className: 'output', tabindex: '0', 'aria-label': 'Command output' }, output || (running ? '' : '(no output)')),
    ],
  );
}

function toolSummary(item: ItemOf<'toolCall'>): string {
  if (item.summary) return item.summary;
  const args = item.arguments as Record<string, unknown> | null;
  const first = args && typeof args === 'object' ? Object.values(args).find((v) => typeof v === 'string') : undefined;
  return first ? `${item.tool} ${String(first)}` : item.tool;
}

const TOOL_ICONS: Record<ReturnType<typeof toolKind>, string> = { read: 'file', search: 'search', list: 'list-tree', plan: 'checklist', other: 'tools' };

function toolCard(ctx: ItemContext, item: ItemOf<'toolCall'>): HTMLElement {
  return collapsible(
    ctx,
    item.id,
    'tool',
    false,
    [icon(TOOL_ICONS[toolKind(item.tool)]), h('span', { className: 'tool-summary' }, toolSummary(item)), item.status === 'completed' ? null : statusBadge(item.status)],
    [h('pre', { className: 'arguments' }, JSON.stringify(item.arguments, null, 2)), item.output ? h('pre', { className: 'output', tabindex: '0' }, item.output) : null],
  );
}

/** An MCP tool call, streamed like a command: open while it waits or runs (and when it failed),
 * its arguments, the text the model got back, what else came back, and the error. */
function mcpToolCard(ctx: ItemContext, item: ItemOf<'mcpToolCall'>): HTMLElement {
  const running = item.status === 'inProgress' || item.status === 'pending';
  const failed = item.status === 'failed' || item.result?.isError === true;
  const others = otherContent(item.result?.content ?? []);
  const badge = failed
    ? h('span', { className: 'badge failed' }, icon('error'), ' failed')
    : item.status === 'completed'
      ? h('span', { className: 'badge ok' }, icon('pass'), ` ${durationWords(item.durationMs) || 'done'}`)
      : statusBadge(item.status);
  const meta = [`MCP server ${item.server}`, failed || item.status !== 'completed' ? durationWords(item.durationMs) : ''].filter(Boolean).join(' · ');
  return collapsible(
    ctx,
    item.id,
    `mcp-call${failed ? ' failed' : ''}`,
    running || failed,
    // One line that loses its end first: the server and the tool stay readable in a narrow panel.
    [icon('tools'), h('span', { className: 'tool-summary' }, h('span', { className: 'mcp-call-server' }, `${item.server} › `), toolCallSummary(item)), badge],
    [
      h('div', { className: 'meta' }, meta),
      h('pre', { className: 'arguments', tabindex: '0', 'aria-label': 'Arguments' }, JSON.stringify(item.arguments ?? {}, null, 2)),
      resultText(item.result) ? h('pre', { className: 'output', tabindex: '0', 'aria-label': 'Result' }, resultText(item.result)) : null,
      others.length ? h('div', { className: 'meta' }, `Also returned: ${others.join(', ')}`) : null,
      item.result?.truncated ? h('div', { className: 'meta' }, 'The result was cut to fit the context; the model was told so.') : null,
      item.error ? h('div', { className: 'mcp-error', role: 'alert' }, item.error) : null,
    ],
  );
}

/** The findings go to the editor as comment threads; the chat shows the verdict and lists them,
 * each a link to its lines. */
function reviewCard(ctx: ItemContext, item: ItemOf<'review'>): HTMLElement {
  const findings = item.findings.map((f) =>
    h(
      'li',
      {},
      h('button', { className: 'link', title: f.path, onclick: () => ctx.post({ type: 'openFile', path: f.path, line: f.range.start }) }, `[P${f.priority}] ${f.title}`),
      h('span', { className: 'meta' }, ` ${basename(f.path)}:${f.range.start + 1}`),
    ),
  );
  const left = item.droppedFindings ? ` (${plural(item.droppedFindings, 'finding')} outside the change left out.)` : '';
  return h(
    'div',
    { className: 'card review', 'data-item': item.id },
    h('div', { className: 'review-verdict' }, icon(item.overallCorrectness === 'patchIsCorrect' ? 'pass' : 'warning'), ` Review: ${plural(item.findings.length, 'finding')}. ${item.overallExplanation}${left}`),
    findings.length ? h('ul', { className: 'findings' }, ...findings) : null,
  );
}

function explorationCard(ctx: ItemContext, id: string, items: ItemOf<'toolCall'>[]): HTMLElement {
  const running = items.some((i) => i.status === 'inProgress');
  return collapsible(
    ctx,
    `group:${id}`,
    'exploration',
    false,
    [icon('search'), h('span', {}, explorationSummary(items)), running ? icon('loading codicon-modifier-spin') : null],
    items.map((item) => toolCard(ctx, item)),
  );
}

const HUNK_NOTES: Partial<Record<NonNullable<Hunk['status']>, string>> = { rejected: 'rejected, not applied', reverted: 'undone' };

/** The diff of one file as git would show it (paths relative to the workspace root), built from
 * its hunks so each one shows its state: a rejected or undone hunk is marked and struck out. */
function fileDiff(ctx: ItemContext, change: FileChange): HTMLElement {
  const name = relativeTo(ctx.roots(), change.path);
  const pre = h('pre', { className: 'diff', tabindex: '0', 'aria-label': `Diff of ${name}` });
  const line = (className: string, text: string): void => void pre.append(h('span', { className }, `${text}\n`));
  line('file', `--- ${change.kind === 'add' ? '/dev/null' : `a/${name}`}`);
  line('file', `+++ ${change.kind === 'delete' ? '/dev/null' : `b/${relativeTo(ctx.roots(), change.movePath ?? change.path)}`}`);
  for (const hunk of change.hunks) {
    const note = hunk.status ? HUNK_NOTES[hunk.status] : undefined;
    const off = hunkInEffect(hunk) ? '' : ' off';
    line(`hunk${off}`, `@@ -${hunk.oldStart},${hunk.oldLines} +${hunk.newStart},${hunk.newLines} @@${note ? `  (${note})` : ''}`);
    for (const text of hunk.lines) line((text.startsWith('+') ? 'add' : text.startsWith('-') ? 'del' : 'ctx') + off, text);
  }
  return pre;
}

function fileChangeCard(ctx: ItemContext, item: ItemOf<'fileChange'>): HTMLElement {
  const files = item.changes.map((change) => {
    const stats = changeStats(change);
    const statusParts = (['applied', 'rejected', 'reverted', 'pending'] as const)
      .filter((s) => stats.byStatus[s] > 0)
      .map((s) => `${stats.byStatus[s]} ${s === 'reverted' ? 'undone' : s === 'pending' ? 'proposed' : s}`);
    const name = relativeTo(ctx.roots(), change.path);
    return h(
      'li',
      { className: 'file-row' },
      h('button', { className: 'link', title: `Open ${name}`, onclick: () => ctx.post({ type: 'openFile', path: change.path }) }, icon(change.kind === 'add' ? 'new-file' : change.kind === 'delete' ? 'trash' : 'file'), ` ${basename(change.path)}`),
      h('span', { className: 'added', title: 'lines added (on disk now)' }, `+${stats.added}`),
      h('span', { className: 'removed', title: 'lines removed (on disk now)' }, `−${stats.removed}`),
      statusParts.length ? h('span', { className: 'meta' }, statusParts.join(' · ')) : null,
    );
  });
  const actions: Node[] = [];
  if (item.status === 'pending') actions.push(h('button', { className: 'primary', onclick: () => ctx.post({ type: 'reviewChange', itemId: item.id }) }, icon('diff'), ' Review'));
  if (item.changes.some((c) => c.hunks.some((hk) => hk.status === 'applied'))) {
    actions.push(h('button', { className: 'secondary', onclick: () => ctx.post({ type: 'undoChange', itemId: item.id }) }, icon('discard'), ' Undo all'));
  }
  const card = h(
    'div',
    { className: 'card diff-card', 'data-item': item.id },
    h('div', { className: 'card-title' }, icon('diff'), ` ${plural(item.changes.length, 'file')} changed`, h('span', { className: `badge ${item.status}` }, changeStatusLabel(item))),
    h('ul', { className: 'files' }, ...files),
    item.reason ? h('div', { className: 'meta' }, item.reason) : null,
    actions.length ? h('div', { className: 'actions' }, ...actions) : null,
  );
  card.append(collapsible(ctx, `diff:${item.id}`, 'diff-text', false, [h('span', {}, 'Show diff')], item.changes.map((c) => fileDiff(ctx, c))));
  return card;
}

const STEP_ICONS = { pending: 'circle-large-outline', inProgress: 'loading codicon-modifier-spin', completed: 'pass-filled' } as const;

function planCard(item: ItemOf<'plan'>): HTMLElement {
  const done = item.steps.filter((s) => s.status === 'completed').length;
  return h(
    'div',
    { className: 'card plan', 'data-item': item.id },
    h('div', { className: 'card-title' }, icon('checklist'), ` Plan (${done}/${item.steps.length})`),
    item.explanation ? h('div', { className: 'meta' }, item.explanation) : null,
    h('ul', { className: 'steps', role: 'list' }, ...item.steps.map((s) => h('li', { className: `step ${s.status}`, 'aria-label': `${s.text} (${s.status})` }, icon(STEP_ICONS[s.status]), ` ${s.text}`))),
  );
}

/** The file a code block is for: named in its fence, else the last file named in the paragraph
 * right before it; undefined leaves the choice to the host (the active editor). */
function codeTarget(block: HTMLElement): string | undefined {
  if (block.dataset.path) return block.dataset.path;
  const refs = block.previousElementSibling?.querySelectorAll<HTMLElement>('.file-ref');
  return refs?.length ? refs[refs.length - 1]!.dataset.path : undefined;
}

const NOT_FILE_TEXT = new Set(['diff', 'patch', 'bash', 'sh', 'shell', 'console', 'zsh', 'powershell', 'ps1']);

/** Copy, Insert at cursor and Apply (a proposal through the server) above a code block. */
function addCodeActions(ctx: ItemContext, block: HTMLElement): void {
  const code = block.querySelector('code')?.textContent ?? '';
  const path = codeTarget(block);
  const copy = h('button', { className: 'icon-button code-copy', title: 'Copy', 'aria-label': 'Copy' }, icon('copy'));
  copy.addEventListener('click', () => {
    ctx.post({ type: 'copyCode', code });
    const shown = (name: string, label: string): void => {
      copy.replaceChildren(icon(name));
      copy.title = label;
      copy.setAttribute('aria-label', label);
    };
    shown('check', 'Copied');
    setTimeout(() => shown('copy', 'Copy'), 1500);
  });
  const insert = h('button', { className: 'icon-button code-insert', title: 'Insert at cursor', 'aria-label': 'Insert at cursor', onclick: () => ctx.post({ type: 'insertCode', code }) }, icon('insert'), h('span', {}, ' Insert'));
  const applyTitle = path ? `Apply to ${path}: review each change first` : "Apply to the active editor's file: review each change first";
  const apply = h('button', { className: 'icon-button code-apply', title: applyTitle, 'aria-label': applyTitle, onclick: () => ctx.post(path ? { type: 'applyCode', code, path } : { type: 'applyCode', code }) }, icon('git-compare'), h('span', {}, ' Apply'));
  const label = [block.dataset.lang, path].filter(Boolean).join(' · ');
  // A diff or a shell session is not the text of a file: no Apply for those.
  const fileText = !NOT_FILE_TEXT.has(block.dataset.lang ?? '');
  block.prepend(h('div', { className: 'code-toolbar' }, h('span', { className: 'code-label' }, label), h('span', { className: 'spacer' }), copy, insert, fileText ? apply : null));
}

export function renderItem(ctx: ItemContext, item: Item, streaming: boolean): HTMLElement {
  switch (item.type) {
    case 'userMessage':
      return h(
        'div',
        { className: 'msg user', 'data-item': item.id },
        ...item.content.map((part) =>
          part.type === 'text'
            ? h('div', { className: 'text' }, part.text)
            : part.type === 'file'
              ? h('span', { className: 'chip', title: part.path }, icon('file'), ` ${basename(part.path)}`)
              : part.type === 'image'
                ? h('span', { className: 'chip', title: part.path ?? 'image' }, icon('file-media'), ` ${part.path ? basename(part.path) : 'image'}`)
                : h('span', { className: 'chip', title: `${part.path}, ${lineSpan(part.range).includes('-') ? 'lines' : 'line'} ${lineSpan(part.range)}` }, icon('selection'), ` ${basename(part.path)}:${lineSpan(part.range)}`),
        ),
      );
    case 'agentMessage': {
      const el = h('div', { className: `msg agent markdown${streaming ? ' streaming' : ''}`, 'data-item': item.id });
      el.innerHTML = renderMarkdown(item.text);
      // A block still streaming may be cut short: its buttons come once it is whole.
      if (!streaming) for (const block of el.querySelectorAll<HTMLElement>('.code-block')) addCodeActions(ctx, block);
      return el;
    }
    case 'reasoning': {
      const body = h('div', { className: 'markdown reasoning-text' });
      body.innerHTML = renderMarkdown(item.text);
      return collapsible(ctx, item.id, 'reasoning', false, [icon('lightbulb'), h('span', {}, streaming ? 'Thinking…' : 'Thought')], [body]);
    }
    case 'toolCall':
      return toolCard(ctx, item);
    case 'commandExecution':
      return commandCard(ctx, item);
    case 'mcpToolCall':
      return mcpToolCard(ctx, item);
    case 'fileChange':
      return fileChangeCard(ctx, item);
    case 'plan':
      return planCard(item);
    case 'contextCompaction':
      return h('div', { className: 'note', 'data-item': item.id }, icon('fold'), ' Earlier context was summarised to make room.');
    case 'error':
      return h('div', { className: 'card error', role: 'alert', 'data-item': item.id }, icon('error'), ` ${item.message}`);
    case 'review':
      return reviewCard(ctx, item);
    case 'subagent':
      return subagentCard(ctx, item);
  }
}

type Speaker = 'user' | 'agent';

/** Keeps rendered items per item object: the reducer replaces only what changed. */
export class TranscriptRenderer {
  private readonly cache = new WeakMap<object, { el: HTMLElement; streaming: boolean }>();
  private readonly turnElements = new Map<string, HTMLElement>();
  private readonly labels = new Map<string, HTMLElement>();

  constructor(
    private readonly root: HTMLElement,
    private readonly ctx: ItemContext,
  ) {}

  private speakerLabel(key: string, who: Speaker): HTMLElement {
    let el = this.labels.get(key);
    if (!el) {
      el = h('div', { className: `speaker ${who}` }, h('span', { className: `avatar ${who}`, 'aria-hidden': 'true' }, icon(who === 'user' ? 'account' : 'hubot')), h('span', { className: 'name' }, who === 'user' ? 'You' : 'Tether'));
      this.labels.set(key, el);
    }
    return el;
  }

  private applyLine(turn: TurnView): HTMLElement {
    const changes = turn.items.flatMap((i) => (i.type === 'fileChange' ? i.changes : []));
    const names = [...new Set(changes.map((c) => relativeTo(this.ctx.roots(), c.path)))].join(', ');
    const waiting = turn.items.some((i) => i.type === 'fileChange' && i.status === 'pending');
    return h('div', { className: 'note system-line apply-line' }, icon('git-compare'), ` Applied a code block to ${names}${waiting ? ' — review the changes' : ''}`);
  }

  private element(key: object, streaming: boolean, build: () => HTMLElement): HTMLElement {
    const cached = this.cache.get(key);
    if (cached && cached.streaming === streaming) return cached.el;
    const el = build();
    this.cache.set(key, { el, streaming });
    return el;
  }

  render(turns: TurnView[]): void {
    const nodes = turns.map((turn) => {
      let el = this.turnElements.get(turn.id);
      if (!el) {
        el = h('section', { className: 'turn', 'data-turn': turn.id });
        this.turnElements.set(turn.id, el);
      }
      const live = turn.status === 'inProgress';
      const last = turn.items[turn.items.length - 1];
      const children: Node[] = [];
      // A code block applied from the chat is the user's act, not a reply: a line saying so
      // stands where a "Tether" header would.
      let speaker: Speaker | undefined = isApplyTurn(turn.items) ? 'agent' : undefined;
      if (speaker) children.push(this.applyLine(turn));
      arrangeItems(withoutReviewAnswer(turn.items)).forEach((block, i) => {
        // Who speaks is named where it changes: "You" over the user's messages, "Tether" over
        // what answers them.
        const who: Speaker = block.kind === 'item' && block.item.type === 'userMessage' ? 'user' : 'agent';
        if (who !== speaker) children.push(this.speakerLabel(`${turn.id}:${i}:${who}`, who));
        speaker = who;
        children.push(
          block.kind === 'item'
            ? this.element(block.item, live && block.item === last, () => renderItem(this.ctx, block.item, live && block.item === last))
            : // A group is rebuilt when any of its items changed: key on the last item object.
              this.element(block.items[block.items.length - 1]!, live, () => explorationCard(this.ctx, block.id, block.items)),
        );
      });
      const footer = turnFooter(this.ctx, turn);
      if (footer) children.push(footer);
      reconcile(el, children);
      return el;
    });
    reconcile(this.root, nodes);
  }
}

/** A review turn's last message is its answer as JSON; the review card says it better. */
function withoutReviewAnswer(items: Item[]): Item[] {
  if (!items.some((i) => i.type === 'review')) return items;
  const answer = items.map((i) => i.type).lastIndexOf('agentMessage');
  return items.filter((_, index) => index !== answer);
}

function turnFooter(ctx: ItemContext, turn: TurnView): HTMLElement | undefined {
  if (turn.status === 'interrupted') return h('div', { className: 'note' }, icon('debug-stop'), ' Stopped.');
  if (turn.status === 'failed') {
    // A required MCP server was not ready (or not trusted): the way to it is one click.
    const toServers = turn.error?.code === 'mcpServerRequired' ? h('button', { className: 'link show-mcp', onclick: () => ctx.post({ type: 'showMcp' }) }, icon('server'), ' Show MCP servers') : null;
    return h('div', { className: 'card error', role: 'alert' }, icon('error'), ` ${turn.error?.message ?? 'The turn failed.'}`, toServers ? ' ' : null, toServers);
  }
  if (turn.status === 'inProgress' && turn.retry) {
    return h('div', { className: 'note working', role: 'status' }, icon('sync codicon-modifier-spin'), ` Retrying the model (${turn.retry.attempt}/${turn.retry.maxAttempts}): ${turn.retry.message}`);
  }
  if (turn.status === 'inProgress' && turn.items.length === 0) return h('div', { className: 'note working' }, icon('loading codicon-modifier-spin'), ' Working…');
  // Edits and commands may have changed files: all of them in one multi-diff (tether.reviewTurn),
  // or reviewed for bugs as findings in the editor (tether.reviewThisTurn).
  if (turn.status === 'completed' && turnChangedFiles(turn.items)) {
    const review = h('button', { className: 'link review-turn', title: 'Open every file this turn changed in one diff', onclick: () => ctx.post({ type: 'reviewTurn', turnId: turn.id }) }, icon('diff-multiple'), ' Review changes');
    const findings = h('button', { className: 'link review-turn-findings', title: 'Review what this turn changed for bugs; the findings show on their lines', onclick: () => ctx.post({ type: 'reviewTurnFindings', turnId: turn.id }) }, icon('checklist'), ' Review this turn');
    return h('div', { className: 'turn-actions' }, review, findings);
  }
  return undefined;
}
