/** Records a real turn for the webview test: starts the scripted model server and the real
 * backend (`python -m server --stdio`), runs one agent-mode turn over JSON-RPC and writes the
 * events the extension host would forward to the panel to test/fixtures/recorded-turn.json.
 *   node out/tools/record-stream.js        (after `node esbuild.mjs --tests`)
 * Re-record when the protocol or the backend's item stream changes. */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StreamMessageReader, StreamMessageWriter, createMessageConnection } from 'vscode-jsonrpc/node';
import { NOTIFICATION_METHODS, type ServerNotification, type Thread, type Turn } from '../../src/protocol';
import type { ChatEvent } from '../../src/state/reducer';
import { CLIENT, PYTHON, REPO, killGroup, startUntil } from '../support/processes';

const SHOWN_WORKSPACE = '/home/user/project';
const NOTES = Array.from({ length: 12 }, (_, i) => `note ${i + 1}`).join('\n') + '\n';
const SCRIPT = [
  {
    reasoning: 'The user wants the first note numbered in words. Look at the file first.',
    tool_calls: [
      { name: 'list_dir', arguments: {} },
      { name: 'read_file', arguments: { path: 'notes.txt' } },
      { name: 'search', arguments: { pattern: 'note 1\\b' } },
    ],
  },
  {
    tool_calls: [
      {
        name: 'update_plan',
        arguments: { steps: [{ text: 'Read notes.txt', status: 'completed' }, { text: 'Spell out the first note', status: 'inProgress' }, { text: 'Check the result', status: 'pending' }] },
      },
    ],
  },
  { tool_calls: [{ name: 'apply_patch', arguments: { patch: '*** Begin Patch\n*** Update File: notes.txt\n@@\n-note 1\n+note one\n note 2\n*** End Patch' } }] },
  { tool_calls: [{ name: 'shell', arguments: { command: 'grep -c note notes.txt' } }] },
  { text: 'Done: the first line now reads **note one**.\n\n- `notes.txt` still has 12 notes\n- nothing else changed', deltas: 10 },
];

async function main(): Promise<void> {
  const tmp = mkdtempSync(join(tmpdir(), 'tether-record-'));
  const workspace = join(tmp, 'workspace');
  mkdirSync(workspace);
  writeFileSync(join(workspace, 'notes.txt'), NOTES);
  writeFileSync(join(tmp, 'script.json'), JSON.stringify(SCRIPT));
  const model = await startUntil(PYTHON, ['-m', 'tests.model_server', '--port', '0', '--script', join(tmp, 'script.json')], { cwd: REPO, ready: /^(http:\/\/\S+)\s*$/m, timeoutMs: 30_000 });
  const server = spawn(PYTHON, ['-m', 'server', '--stdio'], {
    cwd: workspace,
    env: { ...process.env, OPENAI_BASE_URL: model.match[1], OPENAI_API_KEY: 'sk-record', TETHER_MODEL: 'scripted-model', TETHER_HOME: join(tmp, 'home') },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const connection = createMessageConnection(new StreamMessageReader(server.stdout), new StreamMessageWriter(server.stdin));
  const events: ChatEvent[] = [];
  let threadId = '';
  const done = new Promise<void>((resolve) => {
    for (const method of NOTIFICATION_METHODS) {
      connection.onNotification(method, (params: unknown) => {
        const notification = { method, params } as ServerNotification;
        if (method !== 'thread/started') events.push({ type: 'notification', notification });
        if (notification.method === 'turn/completed' && notification.params.threadId === threadId) resolve();
      });
    }
  });
  connection.onRequest((method: string, params: unknown) => {
    throw new Error(`agent mode asked for ${method} (${JSON.stringify(params)}); the recording expects none`);
  });
  connection.listen();
  try {
    await connection.sendRequest('initialize', { processId: process.pid, rootUri: null, capabilities: {}, initializationOptions: { defaultMode: 'agent', wireApi: 'responses' } });
    connection.sendNotification('initialized', {});
    const { thread } = await connection.sendRequest<{ thread: Thread }>('thread/start', { cwd: workspace, mode: 'agent' });
    threadId = thread.id;
    events.push({ type: 'threadLoaded', thread, turns: [] });
    const { turn } = await connection.sendRequest<{ turn: Turn }>('turn/start', { threadId, input: [{ type: 'text', text: 'Spell out the first note in words.' }] });
    events.push({ type: 'turnAccepted', turn });
    await Promise.race([done, new Promise((_, reject) => setTimeout(() => reject(new Error('the turn did not complete in 60 s')), 60_000))]);
    // Paths show where the recording ran; the fixture keeps a stable, readable one instead.
    const text = JSON.stringify(events, null, 1).split(workspace).join(SHOWN_WORKSPACE);
    const out = join(CLIENT, 'test', 'fixtures', 'recorded-turn.json');
    writeFileSync(out, `${text}\n`);
    console.log(`recorded ${events.length} events to ${out}`);
  } finally {
    connection.dispose();
    server.kill();
    killGroup(model);
    rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
