import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { LockError, parseLock, runtimeRequirements } from '../../src/backend/lock';

const REPO = resolve(__dirname, '..', '..', '..');
const LOCK = readFileSync(join(REPO, 'requirements.lock.txt'), 'utf8');
const PYPROJECT = readFileSync(join(REPO, 'pyproject.toml'), 'utf8');

const names = (requirements: string): string[] => parseLock(requirements).map((e) => e.name);

describe('runtimeRequirements (the extension venv installs the runtime part of the lock)', () => {
  const runtime = runtimeRequirements(LOCK, PYPROJECT);

  it('keeps what the backend imports and its build backend, with the pins and hashes of the lock', () => {
    const chosen = names(runtime);
    for (const name of ['pygls', 'lsprotocol', 'openai', 'msgspec', 'watchfiles', 'ripgrep', 'tree-sitter', 'tree-sitter-bash', 'pathspec', 'setuptools']) {
      assert.ok(chosen.includes(name), `${name} is in the runtime part`);
    }
    // Pulled in by those: openai -> pydantic -> pydantic-core, typing-extensions...
    for (const name of ['pydantic', 'pydantic-core', 'typing-extensions', 'anyio', 'attrs', 'cattrs']) assert.ok(chosen.includes(name), name);
    const full = new Map(parseLock(LOCK).map((e) => [e.name, e.text]));
    for (const entry of parseLock(runtime)) {
      assert.equal(entry.text, full.get(entry.name), `${entry.name} exactly as locked`);
      assert.match(entry.text, /--hash=sha256:[0-9a-f]{64}/);
    }
  });

  it('leaves out the test and lint tools and what only they pull in', () => {
    const chosen = names(runtime);
    for (const name of ['pytest', 'pytest-lsp', 'pytest-asyncio', 'hypothesis', 'ruff', 'pyright', 'nodeenv', 'uv', 'pluggy', 'iniconfig', 'sortedcontainers', 'packaging']) {
      assert.ok(!chosen.includes(name), `${name} is not installed for users`);
    }
  });

  it('refuses a lock that lacks a dependency pyproject.toml names', () => {
    const stale = PYPROJECT.replace('"pathspec>=0.12",', '"pathspec>=0.12",\n  "brand-new-dep>=1",');
    assert.throws(() => runtimeRequirements(LOCK, stale), (err: unknown) => err instanceof LockError && /brand-new-dep.*make lock/.test(err.message));
  });

  it('reads requirement names with extras and comments in the dependency list', () => {
    const lock = ['a==1 \\', '    --hash=sha256:aa', '    # via tether (pyproject.toml)', 'b-c==2 \\', '    --hash=sha256:bb', '    # via', '    #   a', '    #   d', 'd==3 \\', '    --hash=sha256:dd', '    # via tether (pyproject.toml)', 'e==4 \\', '    --hash=sha256:ee', ''].join('\n');
    const pyproject = '[build-system]\nrequires = ["e"]\n[project]\ndependencies = [\n  # a comment with "quotes"\n  "A[extra]>=1",\n]\n';
    assert.deepEqual(names(runtimeRequirements(lock, pyproject)), ['a', 'b-c', 'e']);
  });
});
