/** File names in the agent's replies: which of them are files of this workspace. A name with a
 * folder is looked up under each workspace folder; a bare name anywhere in the workspace, when
 * exactly one file has it. Anything else (a domain, `e.g`, a file elsewhere) stays text. */
import { isAbsolute, join } from 'node:path';
import * as api from '../vscodeapi';
import { EXCLUDE, literalGlob } from './mentions';

function inside(path: string, folders: string[]): boolean {
  return folders.some((folder) => path === folder || path.startsWith(folder.endsWith('/') ? folder : `${folder}/`));
}

async function resolveOne(ref: string, folders: string[]): Promise<string | null> {
  if (isAbsolute(ref)) return inside(ref, folders) && (await api.isFile(ref)) ? ref : null;
  for (const folder of folders) {
    const candidate = join(folder, ref);
    if (inside(candidate, folders) && (await api.isFile(candidate))) return candidate;
  }
  if (ref.includes('/')) return null;
  const found = await api.findFiles(`**/${literalGlob(ref)}`, EXCLUDE, 2);
  return found.length === 1 ? found[0]!.fsPath : null;
}

/** Absolute path per reference, null for those that are not workspace files. */
export async function resolveFileRefs(refs: string[]): Promise<Record<string, string | null>> {
  const folders = api.workspaceFolders().map((f) => f.uri.fsPath);
  const entries = await Promise.all(refs.slice(0, 200).map(async (ref) => [ref, await resolveOne(ref, folders)] as const));
  return Object.fromEntries(entries);
}
