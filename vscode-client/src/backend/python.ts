/** Finds the Python that runs the backend: `tether.pythonPath` when set, otherwise the extension's
 * own virtual environment, created on first run from the backend source shipped in the .vsix and
 * the runtime part of its requirements.lock.txt: exact versions, every file's hash checked, as
 * the repository's own set-up installs them (`scripts/setup-python.sh`). */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LockError, runtimeRequirements } from './lock';

export interface RunResult {
  code: number | null;
  output: string;
}

/** Runs a program to completion, feeding each output line to `onLine` (for progress and logs). */
export function run(command: string, args: string[], onLine?: (line: string) => void, cwd?: string): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd, env: { ...process.env, PIP_DISABLE_PIP_VERSION_CHECK: '1' } });
    let output = '';
    let partial = '';
    const onData = (data: Buffer): void => {
      const text = data.toString();
      output = (output + text).slice(-20_000);
      const lines = (partial + text).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) if (line.trim()) onLine?.(line);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', (err) => resolve({ code: null, output: String(err) }));
    child.on('close', (code) => resolve({ code, output }));
  });
}

const IMPORT_CHECK = 'import server, protocol, sandbox; print(protocol.PROTOCOL_VERSION)';

/** Undefined when `python` can run the backend, else what is wrong in words for the user. */
export async function backendProblem(python: string): Promise<string | undefined> {
  const result = await run(python, ['-c', IMPORT_CHECK]);
  if (result.code === 0) return undefined;
  if (result.code === null) return `${python} could not be started (${result.output.trim()})`;
  const last = result.output.trim().split('\n').pop() ?? '';
  return `${python} cannot import the Tether backend (${last})`;
}

const BASE_PYTHONS = ['python3.13', 'python3.12', 'python3.11', 'python3'];

async function findBasePython(): Promise<string | undefined> {
  for (const candidate of BASE_PYTHONS) {
    const result = await run(candidate, ['-c', 'import sys, venv; sys.exit(0 if sys.version_info >= (3, 11) else 1)']);
    if (result.code === 0) return candidate;
  }
  return undefined;
}

export interface VenvPlan {
  venvDir: string;
  python: string;
  stamp: string;
  /** The backend source in the extension (pyproject.toml, requirements.lock.txt, its packages). */
  backendDir: string;
  version: string;
}

export function venvPlan(storageDir: string, backendDir: string, version: string): VenvPlan {
  const venvDir = join(storageDir, 'venv');
  const python = process.platform === 'win32' ? join(venvDir, 'Scripts', 'python.exe') : join(venvDir, 'bin', 'python');
  return { venvDir, python, stamp: join(venvDir, '.tether-backend-version'), backendDir, version };
}

/** The venv is reused only when it was completed for this very extension version. */
export function venvIsCurrent(plan: VenvPlan): boolean {
  return existsSync(plan.python) && existsSync(plan.stamp) && readFileSync(plan.stamp, 'utf8').trim() === plan.version;
}

export class SetupError extends Error {}

async function pip(plan: VenvPlan, args: string[], onLine: (line: string) => void, failure: string): Promise<void> {
  const result = await run(plan.python, ['-m', 'pip', ...args], onLine);
  if (result.code === 0) return;
  // pip's first ERROR line says what went wrong (a hash mismatch, no matching version); its
  // last line which package.
  const lines = result.output.trim().split('\n');
  const error = lines.find((l) => l.startsWith('ERROR:')) ?? '';
  throw new SetupError(`pip ${failure}: ${[error, lines[lines.length - 1]?.trim()].filter((l, i, all) => l && all.indexOf(l) === i).join(' … ')}`);
}

/** Creates (or refreshes) the venv and installs the backend into it, reporting each step. */
export async function createVenv(plan: VenvPlan, report: (message: string) => void, log: (line: string) => void): Promise<string> {
  if (!existsSync(join(plan.backendDir, 'pyproject.toml'))) {
    throw new SetupError(`The backend source is missing from the extension (${plan.backendDir}); set tether.pythonPath to a Python that has it installed.`);
  }
  report('looking for Python 3.11 or newer');
  const base = await findBasePython();
  if (!base) throw new SetupError('No Python 3.11 or newer with the venv module was found on PATH. Install one, or set tether.pythonPath.');
  let requirements: string;
  try {
    requirements = runtimeRequirements(readFileSync(join(plan.backendDir, 'requirements.lock.txt'), 'utf8'), readFileSync(join(plan.backendDir, 'pyproject.toml'), 'utf8'));
  } catch (err) {
    if (err instanceof LockError || (err as NodeJS.ErrnoException).code === 'ENOENT') throw new SetupError(`The extension's lock file is unusable: ${(err as Error).message}; set tether.pythonPath instead.`);
    throw err;
  }
  // A venv of an earlier version starts over: the lock, not what was there, decides its content.
  report(`creating a virtual environment with ${base}`);
  const made = await run(base, ['-m', 'venv', '--clear', plan.venvDir], log);
  if (made.code !== 0) throw new SetupError(`${base} -m venv failed: ${made.output.trim().split('\n').pop()}`);
  const lockFile = join(plan.venvDir, 'tether-requirements.txt');
  writeFileSync(lockFile, requirements);
  const progress = (line: string): void => {
    log(line);
    const match = /^(Collecting|Installing|Building|Successfully) (.*)/.exec(line.trim());
    if (match) report(`${match[1]} ${match[2]}`.slice(0, 80));
  };
  report('installing the Tether backend and its dependencies (first run only)');
  // Every file's hash is checked; --no-deps keeps out anything the lock does not name.
  await pip(plan, ['install', '--require-hashes', '--no-deps', '-r', lockFile], progress, 'could not install the locked dependencies');
  // The backend itself, built by the locked setuptools rather than whatever the index has today.
  await pip(plan, ['install', '--no-deps', '--no-build-isolation', plan.backendDir], progress, 'could not install the backend');
  // A dependency the runtime part left out would only show at the first import otherwise.
  await pip(plan, ['check'], log, 'found the backend\'s dependencies incomplete');
  const problem = await backendProblem(plan.python);
  if (problem) throw new SetupError(problem);
  writeFileSync(plan.stamp, plan.version);
  return plan.python;
}
