// Copies the Python backend source (pyproject.toml, the lock and its packages) into backend/ so
// the .vsix carries it: on first run the extension installs the lock's runtime part, then the
// backend, into its own virtual environment (src/backend/python.ts).
import { cpSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const client = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const repo = resolve(client, '..');
const target = join(client, 'backend');
rmSync(target, { recursive: true, force: true });
mkdirSync(target);
for (const name of ['pyproject.toml', 'requirements.lock.txt', 'protocol', 'server', 'sandbox', 'tether_sdk']) {
  cpSync(join(repo, name), join(target, name), { recursive: true, filter: (src) => !/__pycache__|\.pyc$/.test(src) });
}
// pyproject.toml names a readme; setuptools refuses to build without it.
if (existsSync(join(repo, 'README.md'))) cpSync(join(repo, 'README.md'), join(target, 'README.md'));
else writeFileSync(join(target, 'README.md'), '# Tether backend\n');
console.log(`staged the backend source in ${target}`);
