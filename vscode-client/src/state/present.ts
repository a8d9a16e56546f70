/** How items are arranged and summarised for display: grouping of reads and searches, diff
 * counts, the context meter. Pure and shared by the webview and the host. */
import type { FileChange, Hunk, Item, ItemOf, Mode, Range, SandboxLauncherInfo, Usage } from '../protocol';

export type Block =
  | { kind: 'item'; item: Item }
  | { kind: 'exploration'; id: string; items: ItemOf<'toolCall'>[] };

export type ToolKind = 'read' | 'search' | 'list' | 'plan' | 'other';

export function toolKind(tool: string): ToolKind {
  // By words of the tool's name (read_file, list_dir, grep_search, update_plan, ...): the backend
  // owns the tool set, the panel only needs a coarse kind to group and label them.
  const words = tool.toLowerCase().split(/[^a-z]+/);
  const has = (...names: string[]): boolean => names.some((n) => words.includes(n));
  if (has('plan', 'todo', 'todos')) return 'plan';
  if (has('search', 'grep', 'find', 'glob', 'rg', 'ripgrep')) return 'search';
  if (has('list', 'ls', 'dir', 'listdir', 'tree')) return 'list';
  if (has('read', 'open', 'view', 'cat')) return 'read';
  return 'other';
}

function explores(item: Item): item is ItemOf<'toolCall'> {
  return item.type === 'toolCall' && toolKind(item.tool) !== 'plan' && toolKind(item.tool) !== 'other';
}

/** Consecutive reads, listings and searches collapse into one "explored" block: a turn that reads
 * twenty files should not push the answer off screen. A single one stays on its own. */
export function arrangeItems(items: Item[]): Block[] {
  const blocks: Block[] = [];
  let run: ItemOf<'toolCall'>[] = [];
  const flush = (): void => {
    if (run.length === 1) blocks.push({ kind: 'item', item: run[0]! });
    else if (run.length > 1) blocks.push({ kind: 'exploration', id: run[0]!.id, items: run });
    run = [];
  };
  for (const item of items) {
    if (explores(item)) {
      run.push(item);
      continue;
    }
    flush();
    blocks.push({ kind: 'item', item });
  }
  flush();
  return blocks;
}

export function explorationSummary(items: ItemOf<'toolCall'>[]): string {
  const counts = { read: 0, search: 0, list: 0 };
  for (const item of items) {
    const kind = toolKind(item.tool);
    if (kind === 'read' || kind === 'search' || kind === 'list') counts[kind]++;
  }
  const parts: string[] = [];
  if (counts.read) parts.push(`read ${plural(counts.read, 'file')}`);
  if (counts.search) parts.push(`searched ${plural(counts.search, 'time')}`);
  if (counts.list) parts.push(`listed ${plural(counts.list, 'folder')}`);
  const text = parts.join(', ');
  return text.charAt(0).toUpperCase() + text.slice(1);
}

export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

export interface ChangeStats {
  added: number;
  removed: number;
  hunks: number;
  byStatus: Record<'pending' | 'applied' | 'rejected' | 'reverted', number>;
}

/** Whether a hunk's change is in the file (applied) or would be (still proposed). */
export function hunkInEffect(hunk: Hunk): boolean {
  return hunk.status === 'applied' || hunk.status === 'pending';
}

/** Lines added and removed count only hunks in effect: after a rejection or an undo the card
 * shows what is on disk, not what was once proposed. */
export function changeStats(change: FileChange): ChangeStats {
  const stats: ChangeStats = {
    added: 0,
    removed: 0,
    hunks: change.hunks.length,
    byStatus: { pending: 0, applied: 0, rejected: 0, reverted: 0 },
  };
  for (const hunk of change.hunks) {
    stats.byStatus[hunk.status ?? 'pending']++;
    if (!hunkInEffect(hunk)) continue;
    for (const line of hunk.lines) {
      if (line.startsWith('+')) stats.added++;
      else if (line.startsWith('-')) stats.removed++;
    }
  }
  return stats;
}

export interface ContextMeter {
  used: number;
  window?: number;
  /** 0..1 when the window is known. */
  fraction?: number;
  label: string;
}

export function contextMeter(usage: Usage | null | undefined): ContextMeter | undefined {
  if (!usage) return undefined;
  // The prompt of the last call is what occupies the context; output tokens join it next call.
  const used = (usage.inputTokens ?? 0) + (usage.outputTokens ?? 0) || (usage.totalTokens ?? 0);
  const window = usage.contextWindow ?? undefined;
  if (!window) return { used, label: `${compact(used)} tokens` };
  const fraction = Math.min(1, used / window);
  return { used, window, fraction, label: `${compact(used)} / ${compact(window)} tokens (${Math.round(fraction * 100)}%)` };
}

function compact(n: number): string {
  if (n >= 1_000_000) return `${(n / 1_000_000).toFixed(1)}M`;
  if (n >= 10_000) return `${Math.round(n / 1000)}k`;
  if (n >= 1000) return `${(n / 1000).toFixed(1)}k`;
  return String(n);
}

export function basename(path: string): string {
  const parts = path.split(/[\\/]/);
  return parts[parts.length - 1] || path;
}

/** The lines of an attached selection as the editor numbers them: `5-6`, or `5` (1-based; a
 * range ending at the start of a line leaves that line out, as a selection of whole lines does). */
export function lineSpan(range: Range): string {
  const first = range.start.line + 1;
  const last = range.end.character === 0 && range.end.line > range.start.line ? range.end.line : range.end.line + 1;
  return last > first ? `${first}-${last}` : `${first}`;
}

/** A turn with no message from the user and nothing but file changes: a code block the user
 * applied from the chat (`change/propose`), the only such turn the server makes. */
export function isApplyTurn(items: Item[]): boolean {
  return items.length > 0 && items.every((i) => i.type === 'fileChange');
}

/** Whether a turn changed files: an edit, or a command that could write. */
export function turnChangedFiles(items: Item[]): boolean {
  return items.some((i) => i.type === 'fileChange' || (i.type === 'commandExecution' && i.sandbox !== 'readOnly'));
}

/** `path` relative to the first root that holds it (as git shows it), else unchanged. */
export function relativeTo(roots: readonly string[], path: string): string {
  for (const root of roots) {
    const base = root.endsWith('/') ? root : `${root}/`;
    if (path.startsWith(base)) return path.slice(base.length);
  }
  return path;
}

/** A fileChange item's state in words: "2 of 3 changes applied", not `partiallyApplied`. */
export function changeStatusLabel(item: ItemOf<'fileChange'>): string {
  const hunks = item.changes.flatMap((c) => c.hunks);
  const applied = hunks.filter((h) => h.status === 'applied').length;
  switch (item.status) {
    case 'pending':
      return 'waiting for your review';
    case 'inProgress':
      return 'applying';
    case 'failed':
      return 'failed';
    case 'declined':
      return 'rejected';
  }
  if (hunks.length === 0 || applied === hunks.length) return item.status === 'reverted' ? 'undone' : 'applied';
  if (applied > 0) return `${applied} of ${plural(hunks.length, 'change')} applied`;
  return hunks.some((h) => h.status === 'reverted') ? 'undone' : 'rejected';
}

/** The modes in one line each, used by the panel's mode picker, the status bar, the quick pick and
 * (checked by a test) package.json's setting description; the approval reasons of the server
 * (sandbox/approval_policy.py) use the same words. PROTOCOL.md section 6 in short: Read-only
 * reads (and runs known-safe readers) freely and asks before any edit or other command, which
 * once approved can write in this folder, no network. */
export const MODE_LABELS: Record<Mode, { icon: string; label: string; detail: string }> = {
  readOnly: { icon: 'eye', label: 'Read-only', detail: 'Reads freely; asks before any edit or command' },
  agent: { icon: 'shield', label: 'Agent', detail: 'Edits and runs commands in this folder, no network' },
  fullAccess: { icon: 'warning', label: 'Full access', detail: 'No approvals, no sandbox: can do anything you can' },
};

/** What a command's sandbox lets it do, in the user's words. */
export const SANDBOX_WORDS: Record<ItemOf<'commandExecution'>['sandbox'], string> = {
  readOnly: "can't change anything",
  workspaceWrite: 'can write in this folder, no network',
  none: 'no sandbox: can do anything you can',
  // An executor's container or Pod (issue 24): its image and engine bound what it can do.
  container: 'in a container',
};

const LAUNCHER_NAMES: Record<SandboxLauncherInfo['name'], string> = { bwrap: 'bubblewrap', landlock: 'Landlock + seccomp', seatbelt: 'Seatbelt', none: 'no sandbox' };

/** Which OS sandbox guards commands, and what it means when it is weaker than bubblewrap. */
export function sandboxSummary(launcher: SandboxLauncherInfo | null | undefined): string | undefined {
  if (!launcher) return undefined;
  if (launcher.name === 'none') return `Commands run without an OS sandbox: every command that is not known-safe asks first. ${launcher.passedOver.join(' ')}`.trim();
  const head = `Commands run in the ${LAUNCHER_NAMES[launcher.name]} sandbox.`;
  return launcher.weakerThanBwrap ? `${head} It is weaker than bubblewrap: ${launcher.passedOver.join(' ')}`.trim() : head;
}
