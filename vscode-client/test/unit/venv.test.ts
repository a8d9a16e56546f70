/** The extension's own backend venv, made for real (python -m venv, pip from PyPI or its cache):
 * it holds exactly the runtime part of the lock, and a file whose hash does not match stops it.
 * About 20 s with pip's cache warm: pip installs some twenty packages. */
import { strict as assert } from 'node:assert';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseLock, runtimeRequirements } from '../../src/backend/lock';
import { SetupError, createVenv, run, venvIsCurrent, venvPlan } from '../../src/backend/python';

const REPO = resolve(__dirname, '..', '..', '..');

/** The backend as stage-backend.mjs puts it into the .vsix. */
function stageBackend(target: string): void {
  for (const name of ['pyproject.toml', 'requirements.lock.txt', 'README.md', 'protocol', 'server', 'sandbox']) {
    cpSync(join(REPO, name), join(target, name), { recursive: true, filter: (src) => !/__pycache__|\.pyc$/.test(src) });
  }
}

describe('the extension venv', { timeout: 600_000 }, () => {
  let tmp: string;
  before(() => {
    tmp = mkdtempSync(join(tmpdir(), 'tether-venv-'));
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));

  it('installs exactly the locked runtime versions, then the backend', async () => {
    const backend = join(tmp, 'backend');
    stageBackend(backend);
    const plan = venvPlan(join(tmp, 'storage'), backend, '9.9.9');
    const steps: string[] = [];
    const python = await createVenv(plan, (m) => steps.push(m), () => undefined);
    assert.ok(venvIsCurrent(plan));
    const freeze = await run(python, ['-m', 'pip', 'freeze', '--all', '--exclude', 'tether', '--exclude', 'pip']);
    assert.equal(freeze.code, 0, freeze.output);
    const installed = new Map(freeze.output.trim().split('\n').map((line) => line.split('==') as [string, string]).map(([n, v]) => [n.toLowerCase().replace(/[-_.]+/g, '-'), v]));
    const wanted = new Map(
      parseLock(runtimeRequirements(readFileSync(join(REPO, 'requirements.lock.txt'), 'utf8'), readFileSync(join(REPO, 'pyproject.toml'), 'utf8')))
        .filter((e) => !/sys_platform == 'win32'|sys_platform == 'emscripten'/.test(e.text.split('\n')[0]!.replace(/sys_platform != 'emscripten'/g, '')))
        .map((e) => [e.name, /==([^\s;\\]+)/.exec(e.text)![1]!]),
    );
    assert.deepEqual(Object.fromEntries([...installed].sort()), Object.fromEntries([...wanted].sort()));
    assert.ok(!installed.has('pytest') && !installed.has('ruff'));
    const tether = await run(python, ['-m', 'pip', 'show', 'tether']);
    assert.match(tether.output, /Version: 0\.1\.0/);
    assert.ok(steps.some((s) => s.includes('installing the Tether backend')), steps.join('\n'));
  });

  it('stops at a file whose hash the lock does not list', async () => {
    const backend = join(tmp, 'tampered');
    stageBackend(backend);
    const lockFile = join(backend, 'requirements.lock.txt');
    const lock = readFileSync(lockFile, 'utf8');
    // Every hash of msgspec replaced: whichever file pip picks, it does not match.
    const tampered = lock.replace(/(msgspec==[^\n]*\n(?:\s+--hash=sha256:[0-9a-f]{64}[^\n]*\n)+)/, (block) => block.replace(/[0-9a-f]{64}/g, '0'.repeat(64)));
    assert.notEqual(tampered, lock);
    writeFileSync(lockFile, tampered);
    const plan = venvPlan(join(tmp, 'storage-tampered'), backend, '9.9.9');
    await assert.rejects(createVenv(plan, () => undefined, () => undefined), (err: unknown) => err instanceof SetupError && /locked dependencies/.test(err.message) && /hash/i.test(err.message));
    assert.ok(!venvIsCurrent(plan));
  });
});
