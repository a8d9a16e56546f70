/** Finds the Python that runs the backend: `tether.pythonPath` when set, otherwise the extension's
 * own virtual environment, created on first run from the backend source shipped in the .vsix. */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

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
  /** The backend source in the extension (pyproject.toml and its packages). */
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

/** Creates (or refreshes) the venv and installs the backend into it, reporting each step. */
export async function createVenv(plan: VenvPlan, report: (message: string) => void, log: (line: string) => void): Promise<string> {
  if (!existsSync(join(plan.backendDir, 'pyproject.toml'))) {
    throw new SetupError(`The backend source is missing from the extension (${plan.backendDir}); set tether.pythonPath to a Python that has it installed.`);
  }
  report('looking for Python 3.11 or newer');
  const base = await findBasePython();
  if (!base) throw new SetupError('No Python 3.11 or newer with the venv module was found on PATH. Install one, or set tether.pythonPath.');
  if (!existsSync(plan.python)) {
    report(`creating a virtual environment with ${base}`);
    const made = await run(base, ['-m', 'venv', plan.venvDir], log);
    if (made.code !== 0) throw new SetupError(`${base} -m venv failed: ${made.output.trim().split('\n').pop()}`);
  }
  report('installing the Tether backend and its dependencies (first run only)');
  const pip = await run(plan.python, ['-m', 'pip', 'install', '--upgrade', plan.backendDir], (line) => {
    log(line);
    const match = /^(Collecting|Installing|Building|Successfully) (.*)/.exec(line.trim());
    if (match) report(`${match[1]} ${match[2]}`.slice(0, 80));
  });
  if (pip.code !== 0) throw new SetupError(`pip could not install the backend: ${pip.output.trim().split('\n').pop()}`);
  const problem = await backendProblem(plan.python);
  if (problem) throw new SetupError(problem);
  writeFileSync(plan.stamp, plan.version);
  return plan.python;
}
