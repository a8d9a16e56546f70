/** The pure part of review findings in the editor (issue 20), testable without VS Code: a
 * finding's label, which reviews replace each other, and a suggestion applied to a file's text. */
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
