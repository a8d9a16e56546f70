/** What the extension's own backend venv installs: the part of the repository's
 * requirements.lock.txt (shipped in the .vsix next to the backend source) that the backend needs
 * to run, exact versions and every hash kept. The lock also pins the test and lint tools (pytest,
 * ruff, pyright, uv), which a user's venv has no use for; the runtime part is found from the
 * lock's own `# via` notes (written by `uv pip compile`): the backend's `dependencies` from its
 * pyproject.toml and its build backend, then whatever something already chosen pulls in. */

export interface LockEntry {
  name: string;
  /** The requirement with its hashes, exactly as in the lock. */
  text: string;
  /** Who pulls it in (`# via`), normalized names; `tether (pyproject.toml)` is the project. */
  via: string[];
}

export class LockError extends Error {}

/** PEP 503 normalization: `Typing_Extensions` and `typing-extensions` are one package. */
export function normalizeName(name: string): string {
  return name.toLowerCase().replace(/[-_.]+/g, '-');
}

export function parseLock(lock: string): LockEntry[] {
  const entries: LockEntry[] = [];
  let current: LockEntry | undefined;
  let inVia = false;
  for (const line of lock.split('\n')) {
    const start = /^([A-Za-z0-9][A-Za-z0-9._-]*)==/.exec(line);
    if (start) {
      current = { name: normalizeName(start[1]!), text: line, via: [] };
      entries.push(current);
      inVia = false;
      continue;
    }
    if (!current) continue;
    const via = /^\s+# via(?:\s+(\S.*))?$/.exec(line);
    if (via) {
      inVia = via[1] === undefined;
      if (via[1]) current.via.push(normalizeName(via[1].trim()));
      continue;
    }
    const more = /^\s+#\s{3}(\S.*)$/.exec(line);
    if (more && inVia) {
      current.via.push(normalizeName(more[1]!.trim()));
      continue;
    }
    if (/^\s+--hash=/.test(line)) current.text += `\n${line}`;
  }
  return entries;
}

/** The names in a TOML array of requirement strings, e.g. `dependencies = [...]`. */
function requirementNames(pyproject: string, key: string): string[] {
  // Up to the first `]` that ends a line: `"uvicorn[standard]",` does not end the list.
  const array = new RegExp(`^${key}\\s*=\\s*\\[([\\s\\S]*?)\\]\\s*$`, 'm').exec(pyproject);
  if (!array) throw new LockError(`pyproject.toml has no ${key} list`);
  const withoutComments = array[1]!.replace(/#.*$/gm, '');
  return [...withoutComments.matchAll(/["']([A-Za-z0-9][A-Za-z0-9._-]*)/g)].map((m) => normalizeName(m[1]!));
}

/** The lock's runtime part as a requirements file for `pip install --require-hashes --no-deps`. */
export function runtimeRequirements(lock: string, pyproject: string): string {
  const entries = parseLock(lock);
  const known = new Set(entries.map((e) => e.name));
  const roots = [...requirementNames(pyproject, 'dependencies'), ...requirementNames(pyproject, 'requires')];
  const missing = roots.filter((name) => !known.has(name));
  if (missing.length > 0) throw new LockError(`requirements.lock.txt lacks ${missing.join(', ')}, which pyproject.toml needs; run make lock`);
  const chosen = new Set(roots);
  for (let grew = true; grew; ) {
    grew = false;
    for (const entry of entries) {
      if (!chosen.has(entry.name) && entry.via.some((parent) => chosen.has(parent))) {
        chosen.add(entry.name);
        grew = true;
      }
    }
  }
  return `${entries
    .filter((e) => chosen.has(e.name))
    .map((e) => e.text)
    .join('\n')}\n`;
}
