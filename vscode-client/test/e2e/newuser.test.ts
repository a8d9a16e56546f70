/** A new user's first session, end to end in code-server: the backend starts with no model
 * (no key, no endpoint), the user types a message, then sets the endpoint and model in the
 * Settings UI while the panel is open (the path on which tether.model used to be ignored), and
 * goes on: file names in replies, following a long answer, diff labels, instant answers, a new
 * API key, and a reload. One test per bug of issue 16; each failed before its fix. */
import { strict as assert } from 'node:assert';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PYTHON } from '../support/processes';
import { Workbench, until } from '../support/workbench';

const LONG_ANSWER = 'This answer streams for a while so the panel has to keep up with it. '.repeat(14);
const SCRIPT = [
  { text: 'Hi from the chat API.' },
  { text: 'Hi from the responses API.' },
  { text: 'Look at **calc.py**, then `src/util.py:3`, see https://example.com/docs; node.js is not a file.' },
  { tool_calls: [{ name: 'shell', arguments: { command: 'seq 1 60' } }] },
  { text: LONG_ANSWER, deltas: 50, delay: 0.12 },
  {
    tool_calls: [
      { name: 'apply_patch', arguments: { patch: ['*** Begin Patch', '*** Update File: calc.py', '@@', ' def add(a, b):', '-    return a + b', '+    return b + a', '*** End Patch'].join('\n') } },
    ],
  },
  { text: 'Swapped the operands.' },
];

/** The editor's environment without any model configuration: a new user's machine. */
function unconfiguredEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(OPENAI_|TETHER_)/.test(k)));
}

function findLogs(dir: string, name: RegExp): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) found.push(...findLogs(path, name));
    else if (name.test(entry)) found.push(path);
  }
  return found;
}

let wb: Workbench;

describe('a new user in code-server', { timeout: 300_000 }, () => {
  before(async () => {
    wb = await Workbench.start({
      files: { 'calc.py': 'def add(a, b):\n    return a + b\n', 'src/util.py': 'one = 1\ntwo = 2\nthree = 3\nfour = 4\n' },
      script: SCRIPT,
      models: ['local-model-a', 'local-model-b'],
      configToml: 'default_mode = "fullAccess"\n',
      settings: (_baseUrl, home) => ({ 'tether.pythonPath': PYTHON, 'tether.home': home }),
      env: unconfiguredEnv(),
    });
  });

  after(async () => {
    await wb?.close();
  });

  it('starts new threads in the mode config.toml names (bug 2)', async () => {
    await wb.openChat();
    await until('the panel to show config.toml default_mode', async () => (await wb.chat().locator('#mode').getAttribute('data-value')) === 'fullAccess');
    await wb.page.locator('.statusbar-item', { hasText: 'Tether: Full access' }).waitFor();
  });

  it('keeps a message sent before a model is set in the box, and names the settings (bug 3)', async () => {
    await wb.send('Hello there');
    const toast = wb.page.locator('.notification-toast', { hasText: 'no model to talk to yet' });
    await toast.waitFor({ timeout: 30_000 });
    const text = (await toast.textContent()) ?? '';
    assert.match(text, /tether\.baseUrl and tether\.model/);
    assert.doesNotMatch(text, /OPENAI_|TETHER_/);
    await toast.locator('a.monaco-button', { hasText: 'Set API Key' }).waitFor();
    await toast.locator('a.monaco-button', { hasText: 'Open Settings' }).waitFor();
    await until('the message back in the box', async () => (await wb.chat().locator('#prompt').inputValue()) === 'Hello there');
    assert.equal(await wb.chat().locator('.msg.user').count(), 0);
    await wb.snap('no-model');
    await toast.locator('.codicon-notifications-clear, .codicon-close').first().click().catch(() => undefined);
  });

  it('uses tether.model set in the Settings UI at once, over the chat API, and shows it (bug 1)', async () => {
    await wb.setSettings({ 'tether.baseUrl': wb.modelUrl, 'tether.wireApi': 'chat', 'tether.model': 'local-model-a' });
    await until('the picker to show the new model', async () => (await wb.chat().locator('#model').getAttribute('data-value')) === 'local-model-a');
    await wb.chat().locator('#prompt').press('Enter');
    await wb.chat().locator('.msg.agent', { hasText: 'Hi from the chat API.' }).waitFor({ timeout: 30_000 });
    assert.deepEqual(wb.modelRequests(), [{ path: '/v1/chat/completions', model: 'local-model-a' }]);
    await wb.snap('configured');
  });

  it('follows a changed tether.model and wire API on the next turn (bug 1)', async () => {
    await wb.setSettings({ 'tether.wireApi': 'responses', 'tether.model': 'local-model-b' });
    await until('the picker to show the changed model', async () => (await wb.chat().locator('#model').getAttribute('data-value')) === 'local-model-b');
    await wb.send('Again');
    await wb.chat().locator('.msg.agent', { hasText: 'Hi from the responses API.' }).waitFor({ timeout: 30_000 });
    assert.deepEqual(wb.modelRequests()[1], { path: '/v1/responses', model: 'local-model-b' });
  });

  it('opens workspace files named in a reply and never links a bare domain (bug 4)', async () => {
    await wb.send('Which files?');
    const reply = wb.chat().locator('.msg.agent', { hasText: 'Look at' });
    await reply.waitFor({ timeout: 30_000 });
    assert.equal(await reply.locator('a[href^="http://calc.py"]').count(), 0, 'calc.py is not a domain');
    await reply.locator('a[href="https://example.com/docs"]').waitFor();
    await reply.locator('.file-link', { hasText: 'calc.py' }).waitFor({ timeout: 15_000 });
    assert.equal(await reply.locator('.file-link', { hasText: 'node.js' }).count(), 0, 'only existing files become links');
    await reply.locator('.file-link', { hasText: 'src/util.py:3' }).click();
    await wb.page.locator('.tab.active', { hasText: 'util.py' }).waitFor({ timeout: 15_000 });
    await until('the cursor on line 3', async () => ((await wb.page.locator('.statusbar-item', { hasText: /Ln \d+/ }).first().textContent()) ?? '').includes('Ln 3'));
    await wb.runCommand('View: Close All Editors');
  });

  it('keeps following a streaming answer after a card is expanded, with a jump button when scrolled up (bug 5)', async () => {
    const transcript = wb.chat().locator('#transcript');
    const distanceToEnd = (): Promise<number> => transcript.evaluate((el) => el.scrollHeight - el.scrollTop - el.clientHeight);
    await wb.send('Count to sixty, then explain');
    await wb.chat().locator('.msg.agent.streaming', { hasText: 'This answer streams' }).waitFor({ timeout: 30_000 });
    // The user expands the command card at the bottom while the answer streams.
    await wb.chat().locator('.card.command summary').last().click();
    await wb.chat().locator('.card.command[open] pre.output').last().waitFor();
    const grown = await transcript.evaluate((el) => el.scrollHeight);
    await until('more of the answer', async () => (await transcript.evaluate((el) => el.scrollHeight)) > grown + 20);
    assert.ok((await distanceToEnd()) < 30, 'the view stays at the newest content');
    await transcript.evaluate((el) => el.scrollTo({ top: 0 }));
    const jump = wb.chat().locator('#jump-latest');
    await jump.waitFor({ state: 'visible' });
    await wb.snap('jump-to-latest');
    await jump.click();
    await until('the end again', async () => (await distanceToEnd()) < 30);
    await jump.waitFor({ state: 'hidden' });
    await wb.chat().locator('.msg.agent.streaming').waitFor({ state: 'detached', timeout: 30_000 });
  });

  it('labels a diff relative to the workspace like git (bug 7)', async () => {
    await wb.send('Swap the operands');
    await wb.chat().locator('.msg.agent', { hasText: 'Swapped the operands.' }).waitFor({ timeout: 30_000 });
    const card = wb.chat().locator('.diff-card').last();
    await card.locator('summary', { hasText: 'Show diff' }).click();
    const diff = (await card.locator('pre.diff').textContent()) ?? '';
    assert.match(diff, /^--- a\/calc\.py\n\+\+\+ b\/calc\.py\n/);
    assert.ok(!diff.includes(wb.workspace.slice(1)), diff);
  });

  it('shows every instant answer: no notification is lost before the turn/start result (race)', async () => {
    for (let i = 1; i <= 6; i++) {
      await wb.send(`quick ${i}`);
      await wb.chat().locator('.msg.agent', { hasText: `quick ${i}` }).waitFor({ timeout: 30_000 });
      await until(`turn ${i} to end in the panel`, async () => (await wb.chat().locator('#stop').isHidden()) && (await wb.chat().locator('#send').textContent())?.trim() === 'Send');
    }
  });

  it('confirms a new API key and restarts the backend quietly (bug 8)', async () => {
    await wb.runCommand('Tether: Set API Key');
    const input = wb.page.locator('.quick-input-widget input');
    await input.fill('sk-new-key');
    await input.press('Enter');
    await wb.page.locator('.notification-toast', { hasText: 'API key saved' }).waitFor({ timeout: 60_000 });
    await wb.chat().locator('.msg.agent', { hasText: 'quick 6' }).waitFor();
    const [log] = findLogs(join(wb.userDataDir, 'logs'), /Tether\.log$/);
    const text = readFileSync(log!, 'utf8');
    assert.equal(text.match(/backend ready/g)?.length, 2, 'started, then restarted');
    assert.doesNotMatch(text, /Server process exited/);
  });

  it('restores the last thread after a reload and titles threads by their first message (bug 6)', async () => {
    await wb.page.reload();
    await wb.page.locator('.monaco-workbench').waitFor({ timeout: 60_000 });
    await wb.openChat();
    await wb.chat().locator('.msg.agent', { hasText: 'quick 6' }).waitFor({ timeout: 30_000 });
    await wb.chat().locator('#history-button').click();
    await wb.chat().locator('.history-entry.current .title', { hasText: 'Hello there' }).waitFor({ timeout: 15_000 });
    await wb.snap('restored');
  });
});
