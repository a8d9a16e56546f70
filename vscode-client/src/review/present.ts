/** The pure part of review findings in the editor (issue 20), testable without VS Code: a
 * finding's label, which reviews replace each other, a suggestion applied to a file's text, and
 * a commit's finding moved to the working tree's lines. */
import type { Finding, ReviewTarget } from '../protocol';

export function findingLabel(finding: Finding): string {
  return `[P${finding.priority}] ${finding.title}`;
}

/** Reviews of the same target have the same key: a new one replaces the threads of the last. */
export function targetKey(target: ReviewTarget): string {
  switch (target.type) {
    case 'uncommittedChanges':
      return 'uncommitted';
    case 'baseBranch':
      return `branch:${target.branch}`;
    case 'commit':
      return `commit:${target.sha}`;
    case 'turn':
      return `turn:${target.turnId}`;
    case 'custom':
      return `custom:${target.instructions}`;
  }
}

/** The 0-based lines `start`..`end` (inclusive) of `text`, or undefined when the text is shorter. */
export function linesAt(text: string, start: number, end: number): string | undefined {
  const lines = text.split(/\r?\n/);
  return end < lines.length ? lines.slice(start, end + 1).join('\n') : undefined;
}

/** `text` with the 0-based lines `start`..`end` (inclusive) replaced by `suggestion`, in the
 * file's own line endings (CRLF stays CRLF); undefined when the file is shorter than that. */
export function applySuggestion(text: string, start: number, end: number, suggestion: string): string | undefined {
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  const lines = text.split(/\r?\n/);
  if (start > end || end >= lines.length) return undefined;
  const replacement = suggestion.replace(/\r?\n$/, '').split(/\r?\n/);
  lines.splice(start, end - start + 1, ...replacement);
  return lines.join(eol);
}

/** One hunk of a unified diff, as its `@@ -oldStart,oldLines +newStart,newLines @@` line says. */
export interface DiffHunk {
  oldStart: number;
  oldLines: number;
  newStart: number;
  newLines: number;
}

export function diffHunks(diff: string): DiffHunk[] {
  const hunks: DiffHunk[] = [];
  for (const m of diff.matchAll(/^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@/gm)) {
    hunks.push({ oldStart: Number(m[1]), oldLines: Number(m[2] ?? '1'), newStart: Number(m[3]), newLines: Number(m[4] ?? '1') });
  }
  return hunks;
}

/** Where the 0-based `line` of a diff's old side is on its new side, or undefined when the diff
 * changed that line. (A hunk of no old lines inserts after `oldStart`.) */
export function mapLine(hunks: DiffHunk[], line: number): number | undefined {
  const x = line + 1;
  let offset = 0;
  for (const h of hunks) {
    if (h.oldLines === 0 ? x <= h.oldStart : x < h.oldStart) break;
    if (x < h.oldStart + h.oldLines) return undefined;
    offset += h.newLines - h.oldLines;
  }
  return x + offset - 1;
}

/** A commit's finding on the working tree's lines (`diff`: from the commit to the working tree,
 * zero context): moved with the lines before it, or as it was, with a note, when its own lines
 * changed since. */
export function onWorkingTree(finding: Finding, diff: string): Finding {
  const hunks = diffHunks(diff);
  const start = mapLine(hunks, finding.range.start);
  const end = mapLine(hunks, finding.range.end);
  if (start !== undefined && end !== undefined) return { ...finding, range: { start, end } };
  return { ...finding, body: `_These lines changed since the commit; the finding is shown where they were in it._\n\n${finding.body}` };
}
