/** Hunk bookkeeping for inline diffs: applying a chosen subset of a file's hunks to its text,
 * where each hunk lands in the result, and the per-hunk decisions of a review. Pure, so the
 * arithmetic that decides what ends up on disk is tested without VS Code. */
import type { FileChange, FileChangeApprovalResult, Hunk } from '../protocol';

/** A hunk's context or removed lines are not in the text: the file changed under the proposal. */
export class HunkMismatchError extends Error {
  constructor(
    readonly hunkIndex: number,
    readonly line: number,
  ) {
    super(`hunk ${hunkIndex} does not match the file at line ${line + 1}; the file changed since the proposal`);
  }
}

export interface HunkPlacement {
  index: number;
  taken: boolean;
  /** 0-based first line of the hunk (context included) in the result text. */
  start: number;
  /** Lines the hunk occupies in the result text (its new side if taken, its old side if not). */
  length: number;
  /** 0-based line of the first changed line in the result, where a CodeLens belongs. */
  anchor: number;
}

export interface Layout {
  text: string;
  placements: HunkPlacement[];
}

function splitText(text: string): { lines: string[]; eol: string; finalEol: boolean } {
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  const finalEol = text.length === 0 || text.endsWith('\n');
  const body = finalEol && text.length > 0 ? text.slice(0, -eol.length) : text;
  return { lines: text.length === 0 ? [] : body.split(eol), eol, finalEol };
}

/** Index (0-based) in the old text where a hunk's old side begins. Unified diffs number lines
 * from 1, except that an empty old side names the line *after which* lines are inserted. */
export function oldIndex(hunk: Hunk): number {
  return hunk.oldLines === 0 ? hunk.oldStart : hunk.oldStart - 1;
}

/** Applies the hunks `take` selects to `original` and says where every hunk landed. */
export function layoutHunks(original: string, hunks: readonly Hunk[], take: (hunk: Hunk) => boolean): Layout {
  const { lines, eol, finalEol } = splitText(original);
  const out: string[] = [];
  const placements: HunkPlacement[] = [];
  let cursor = 0;
  let noFinalEol = false;
  for (const hunk of [...hunks].sort((a, b) => a.oldStart - b.oldStart)) {
    const begin = oldIndex(hunk);
    if (begin < cursor || begin > lines.length) throw new HunkMismatchError(hunk.index, begin);
    out.push(...lines.slice(cursor, begin));
    cursor = begin;
    const taken = take(hunk);
    const start = out.length;
    let anchor = -1;
    let lastSign = '';
    for (const line of hunk.lines) {
      const sign = line.charAt(0);
      const content = line.slice(1);
      if (sign === '\\') {
        // "\ No newline at end of file" qualifies the line before it.
        if (lastSign === '+' && taken) noFinalEol = true;
        if (lastSign === ' ') noFinalEol = true;
        continue;
      }
      lastSign = sign;
      if (sign === ' ' || sign === '-') {
        if (lines[cursor] !== content) throw new HunkMismatchError(hunk.index, cursor);
        cursor++;
      }
      if (sign !== ' ' && anchor < 0) anchor = out.length;
      if (sign === ' ' || (sign === '-' && !taken) || (sign === '+' && taken)) out.push(content);
    }
    placements.push({ index: hunk.index, taken, start, length: out.length - start, anchor: anchor < 0 ? start : anchor });
  }
  out.push(...lines.slice(cursor));
  const endsWithEol = noFinalEol ? false : finalEol || (lines.length === 0 && out.length > 0);
  const text = out.join(eol) + (endsWithEol && out.length > 0 ? eol : '');
  return { text, placements };
}

/** Where the applied hunks of an agent edit sit in the file now, from the hunks alone: each
 * hunk's newStart assumes every earlier hunk applied, so earlier undone ones shift it back. */
export function appliedPlacements(hunks: readonly Hunk[]): HunkPlacement[] {
  const placements: HunkPlacement[] = [];
  let shift = 0;
  for (const hunk of [...hunks].sort((a, b) => a.newStart - b.newStart)) {
    const applied = hunk.status === 'applied';
    if (applied) {
      const start = (hunk.newLines === 0 ? hunk.newStart : hunk.newStart - 1) + shift;
      let offset = 0;
      let anchor = -1;
      for (const line of hunk.lines) {
        const sign = line.charAt(0);
        if (sign === '\\') continue;
        if (sign !== ' ' && anchor < 0) anchor = start + offset;
        if (sign !== '-') offset++;
      }
      placements.push({ index: hunk.index, taken: true, start, length: hunk.newLines, anchor: anchor < 0 ? start : anchor });
    } else {
      shift += hunk.oldLines - hunk.newLines;
    }
  }
  return placements;
}

/** 0-based lines of a placed, applied hunk that the hunk added (for decorations). */
export function addedLines(hunk: Hunk, placement: HunkPlacement): number[] {
  const result: number[] = [];
  let line = placement.start;
  for (const text of hunk.lines) {
    const sign = text.charAt(0);
    if (sign === '\\' || sign === '-') continue;
    if (sign === '+') result.push(line);
    line++;
  }
  return result;
}

export function removedCount(hunk: Hunk): number {
  return hunk.lines.filter((l) => l.startsWith('-')).length;
}

export type HunkDecision = 'accepted' | 'rejected';

/** The user's per-hunk decisions on a proposed fileChange, and the approval answer they add up to. */
export class HunkReview {
  private readonly decisions = new Map<string, HunkDecision>();
  /** Accept all / Reject all: the only decision a change without hunks (a rename, deleting an
   * empty file) can get. */
  private wholeDecision?: HunkDecision;

  constructor(readonly changes: readonly FileChange[]) {}

  private static key(path: string, index: number): string {
    return `${index}\u0000${path}`;
  }

  decide(path: string, index: number, decision: HunkDecision): void {
    const change = this.changes.find((c) => c.path === path);
    if (!change?.hunks.some((h) => h.index === index)) throw new Error(`no hunk ${index} in ${path}`);
    this.decisions.set(HunkReview.key(path, index), decision);
  }

  decideAll(decision: HunkDecision, path?: string): void {
    if (path === undefined) this.wholeDecision = decision;
    for (const change of this.changes) {
      if (path !== undefined && change.path !== path) continue;
      for (const hunk of change.hunks) this.decisions.set(HunkReview.key(change.path, hunk.index), decision);
    }
  }

  decisionOf(path: string, index: number): HunkDecision | undefined {
    return this.decisions.get(HunkReview.key(path, index));
  }

  /** What the preview shows: everything not rejected, so the user sees the file as it would be. */
  shows(path: string, hunk: Hunk): boolean {
    return this.decisionOf(path, hunk.index) !== 'rejected';
  }

  undecided(): { path: string; index: number }[] {
    const rest: { path: string; index: number }[] = [];
    for (const change of this.changes) {
      for (const hunk of change.hunks) {
        if (!this.decisionOf(change.path, hunk.index)) rest.push({ path: change.path, index: hunk.index });
      }
    }
    return rest;
  }

  private get hunkCount(): number {
    return this.changes.reduce((n, c) => n + c.hunks.length, 0);
  }

  isComplete(): boolean {
    if (this.hunkCount === 0) return this.wholeDecision !== undefined;
    return this.undecided().length === 0;
  }

  /** The approval answer: every hunk accepted is a plain accept, none is a decline, and a mix
   * lists exactly the accepted hunks (the server rejects the rest). */
  result(): FileChangeApprovalResult {
    const accepted = this.changes
      .map((c) => ({ path: c.path, indexes: c.hunks.filter((h) => this.decisionOf(c.path, h.index) === 'accepted').map((h) => h.index) }))
      .filter((s) => s.indexes.length > 0);
    const total = this.hunkCount;
    if (total === 0) return { decision: this.wholeDecision === 'accepted' ? 'accept' : 'decline' };
    const count = accepted.reduce((n, s) => n + s.indexes.length, 0);
    if (count === 0) return { decision: 'decline' };
    if (count === total) return { decision: 'accept' };
    return { decision: 'accept', accepted };
  }
}
