/** @-mentions: workspace files whose path contains what the user typed after "@". */
import type { MentionCandidate } from './messages';
import * as api from '../vscodeapi';

export const EXCLUDE = '**/{node_modules,.git,.venv,venv,dist,out,build,__pycache__}/**';

/** Escapes glob metacharacters so a typed name matches literally. */
export function literalGlob(text: string): string {
  return text.replace(/[\\*?[\]{}]/g, (c) => `[${c}]`);
}

export async function findMentionCandidates(query: string): Promise<MentionCandidate[]> {
  const needle = query.trim();
  const pattern = needle ? `**/*${literalGlob(needle)}*` : '**/*';
  const uris = await api.findFiles(pattern, EXCLUDE, 200);
  const candidates = uris.map((uri) => ({ path: uri.fsPath, label: api.asRelativePath(uri.fsPath) }));
  // Shorter paths first: "@main" most likely means src/main.ts, not a deep fixture.
  candidates.sort((a, b) => a.label.length - b.label.length || a.label.localeCompare(b.label));
  return candidates.slice(0, 20);
}
