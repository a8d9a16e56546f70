/** MCP servers (issue 18) end to end in code-server: the real backend starts real Python stdio
 * MCP servers (test/fixtures/mcp_tickets.py sandboxed, mcp-server-time unsandboxed from the
 * user's config.toml, and the test suite's basic.py from the workspace's .mcp.json, which waits
 * for trust). The panel lists them live, the project server is trusted from the panel, and the
 * scripted model calls tickets' tools: a read-only one runs unasked (a card), one that writes is
 * approved from the notification (checked on disk), one asks the user through a form, and
 * "Always allow" sticks: saved in config.toml, the next call runs unasked; a URL elicitation
 * shows the whole address in a modal, and Decline reaches the server; "Allow for session" from
 * the panel's card lets the tool run unasked for the rest of the thread. */
import { strict as assert } from 'node:assert';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CLIENT, PYTHON, REPO } from '../support/processes';
import { Workbench, until } from '../support/workbench';

const TICKETS = join(CLIENT, 'test', 'fixtures', 'mcp_tickets.py');
const BASIC = join(REPO, 'tests', 'mcp', 'servers', 'basic.py');

const CONFIG = `
[mcp_servers.tickets]
command = ${JSON.stringify(PYTHON)}
args = [${JSON.stringify(TICKETS)}]

[mcp_servers.clock]
command = ${JSON.stringify(PYTHON)}
args = ["-m", "mcp_server_time", "--local-timezone", "UTC"]
sandbox = "none"
`;

const MCP_JSON = JSON.stringify({ mcpServers: { notes: { command: PYTHON, args: [BASIC] } } }, null, 2);

const SCRIPT = [
  { text: 'Hi! The MCP servers are starting.' },
  { tool_calls: [{ name: 'mcp__tickets__find_ticket', arguments: { text: 'greet' } }] },
  { text: 'Found ticket #7.' },
  { tool_calls: [{ name: 'mcp__tickets__create_ticket', arguments: { title: 'greet() prints twice' } }] },
  { text: 'Filed ticket #42.' },
  { tool_calls: [{ name: 'mcp__tickets__assign', arguments: { ticket: 42 } }] },
  { text: 'Assigned as you said.' },
  { tool_calls: [{ name: 'mcp__tickets__create_ticket', arguments: { title: 'second' } }] },
  { text: 'Filed it; create_ticket is always allowed now.' },
  { tool_calls: [{ name: 'mcp__tickets__create_ticket', arguments: { title: 'third' } }] },
  { text: 'Filed without asking.' },
  { tool_calls: [{ name: 'mcp__notes__login', arguments: {} }] },
  { text: 'You did not sign in.' },
  { tool_calls: [{ name: 'mcp__notes__write_note', arguments: { path: 'note-1.txt', text: 'first' } }] },
  { text: 'Wrote the first note.' },
  { tool_calls: [{ name: 'mcp__notes__write_note', arguments: { path: 'note-2.txt', text: 'second' } }] },
  { text: 'Wrote the second note without asking.' },
];

let wb: Workbench;

describe('MCP servers in code-server', { timeout: 300_000 }, () => {
  before(async () => {
    wb = await Workbench.start({
      files: { '.mcp.json': MCP_JSON, 'README.md': '# tickets demo\n' },
      script: SCRIPT,
      configToml: CONFIG,
      settings: (baseUrl, home) => ({ 'tether.pythonPath': PYTHON, 'tether.baseUrl': baseUrl, 'tether.model': 'scripted-model', 'tether.wireApi': 'responses', 'tether.home': home, 'tether.defaultMode': 'agent' }),
      env: { ...process.env, OPENAI_API_KEY: 'sk-e2e-test' },
    });
    await wb.openChat();
  });

  after(async () => {
    await wb?.close();
  });

  const chat = () => wb.chat();
  const server = (name: string, status?: string) => chat().locator(`#mcp .mcp-server[data-server="${name}"]${status ? `[data-status="${status}"]` : ''}`);

  async function step(name: string, body: () => Promise<void>): Promise<void> {
    try {
      await body();
    } catch (err) {
      await wb.snap(`mcp-${name}-failed`);
      throw new Error(`${String(err)}\ncode-server:\n${wb.log()}`);
    }
  }

  it('lists the servers of the thread live, with an unsandboxed one called out and a project one to trust', async () => {
    await step('list', async () => {
      await wb.send('Hello');
      await chat().locator('.msg.agent', { hasText: 'The MCP servers are starting.' }).waitFor({ timeout: 60_000 });
      const button = chat().locator('#mcp-button');
      await button.waitFor({ timeout: 30_000 });
      await button.click();
      await server('tickets', 'ready').waitFor({ timeout: 60_000 });
      await server('clock', 'ready').waitFor({ timeout: 60_000 });
      await server('notes', 'untrusted').waitFor();
      assert.match((await server('tickets').locator('.mcp-sandbox').textContent()) ?? '', /sandboxed: writes in this folder, no network/);
      assert.match((await server('clock').locator('.mcp-sandbox').textContent()) ?? '', /unsandboxed: runs as you/);
      assert.match((await server('notes').textContent()) ?? '', /project: .*\.mcp\.json/);
      await server('tickets').locator('.mcp-tools summary').click();
      assert.deepEqual(await server('tickets').locator('.mcp-tool-list li').evaluateAll((els) => els.map((e) => e.getAttribute('data-tool'))), ['find_ticket', 'create_ticket', 'assign']);
      // The host offered the project's server once, in a notification.
      await wb.page.locator('.notification-toast', { hasText: 'defines the MCP server “notes”' }).waitFor({ timeout: 15_000 });
      await wb.snap('mcp-servers');
    });
  });

  it('trusts the project server from the panel after a modal that shows what it runs', async () => {
    await step('trust', async () => {
      await server('notes').locator('.mcp-trust').click();
      const dialog = wb.page.locator('.monaco-dialog-box');
      await dialog.waitFor({ timeout: 15_000 });
      const text = (await dialog.textContent()) ?? '';
      assert.match(text, /\.mcp\.json defines the MCP server “notes”, which runs “.*basic\.py.*” \(sandboxed/);
      await wb.snap('mcp-trust-dialog');
      await dialog.locator('a.monaco-button', { hasText: 'Trust and start' }).click();
      await server('notes', 'ready').waitFor({ timeout: 60_000 });
    });
  });

  it('shows a read-only tool call as a card with its result', async () => {
    await step('call', async () => {
      await chat().locator('#mcp [aria-label="Close MCP servers"]').click();
      await wb.send('Is there a ticket about greet?');
      const card = chat().locator('.card.mcp-call', { hasText: 'find_ticket' });
      await card.waitFor({ timeout: 60_000 });
      await card.locator('.badge.ok').waitFor({ timeout: 60_000 });
      await chat().locator('.msg.agent', { hasText: 'Found ticket #7.' }).waitFor({ timeout: 30_000 });
      assert.match((await card.locator('summary').textContent()) ?? '', /tickets.*find_ticket greet/);
      await card.locator('summary').click();
      assert.equal((await card.locator('pre.output').textContent())?.trim(), "#7 greet() prints twice (matches 'greet')");
      assert.equal(await chat().locator('.card.approval').count(), 0, 'a read-only tool runs unasked');
      await wb.snap('mcp-call');
    });
  });

  it('asks before a tool that writes; Allow in the notification runs it', async () => {
    await step('approval', async () => {
      await wb.send('File a ticket for it');
      const toast = wb.page.locator('.notification-toast', { hasText: 'Tether wants to call “create_ticket”' });
      await toast.waitFor({ timeout: 60_000 });
      const card = chat().locator('.card.approval[aria-label="MCP tool approval"]');
      await card.waitFor();
      assert.deepEqual((await card.locator('button').allTextContents()).map((t) => t.trim()), ['Allow', 'Allow for session', 'Always allow', 'Decline', 'Stop']);
      assert.equal((await card.locator('.mcp-tool-description').textContent())?.trim(), 'create_ticket: Open a ticket.');
      assert.match((await card.locator('.mcp-sandbox').textContent()) ?? '', /tickets: sandboxed: writes in this folder, no network/);
      assert.deepEqual((await toast.locator('a.monaco-button').allTextContents()).map((t) => t.trim()), ['Allow', 'Allow for session', 'More…']);
      await chat().locator('.card.mcp-call', { hasText: 'create_ticket' }).locator('.badge', { hasText: 'waiting for approval' }).waitFor();
      assert.equal(existsSync(join(wb.workspace, 'tickets.txt')), false, 'nothing ran before the answer');
      await wb.snap('mcp-approval');
      await toast.locator('a.monaco-button', { hasText: /^Allow$/ }).click();
      await until('the ticket on disk', () => (existsSync(join(wb.workspace, 'tickets.txt')) && readFileSync(join(wb.workspace, 'tickets.txt'), 'utf8') === '#42 greet() prints twice\n' ? true : undefined), 60_000);
      await chat().locator('.card.mcp-call', { hasText: 'create_ticket' }).locator('.badge.ok').waitFor({ timeout: 30_000 });
      await chat().locator('.msg.agent', { hasText: 'Filed ticket #42.' }).waitFor({ timeout: 30_000 });
      assert.equal(await card.count(), 0);
    });
  });

  it('answers an elicitation with the form built from its schema', async () => {
    await step('elicitation', async () => {
      await wb.send('Assign it to someone');
      const form = chat().locator('form.elicitation');
      await form.waitFor({ timeout: 60_000 });
      assert.equal((await form.locator('.approval-text').textContent())?.trim(), 'Who should ticket #42 go to?');
      assert.deepEqual(await form.locator('.field').evaluateAll((els) => els.map((e) => e.getAttribute('data-field'))), ['assignee', 'priority', 'team', 'notify']);
      await form.getByRole('button', { name: 'Submit' }).click();
      await form.locator('.field-error', { hasText: 'Required.' }).first().waitFor();
      await chat().locator('form.elicitation').getByLabel('Assignee').fill('ada');
      await chat().locator('form.elicitation').getByLabel('Priority').fill('2');
      await chat().locator('form.elicitation').getByLabel('Team').selectOption('api');
      await chat().locator('form.elicitation').getByLabel('Notify them').uncheck();
      await wb.snap('mcp-elicitation');
      await chat().locator('form.elicitation').getByRole('button', { name: 'Submit' }).click();
      const card = chat().locator('.card.mcp-call', { hasText: 'assign' });
      await card.locator('.badge.ok').waitFor({ timeout: 60_000 });
      await chat().locator('.msg.agent', { hasText: 'Assigned as you said.' }).waitFor({ timeout: 30_000 });
      assert.equal(await chat().locator('form.elicitation').count(), 0);
      await card.locator('summary').click();
      assert.equal((await card.locator('pre.output').textContent())?.trim(), 'Assigned #42 to ada (priority 2, team api, notify False)');
      await wb.snap('mcp-elicitation-done');
    });
  });

  it('always allows a tool from More…: saved in config.toml, the next call runs unasked', async () => {
    await step('always', async () => {
      await wb.send('File another one');
      const toast = wb.page.locator('.notification-toast', { hasText: 'Tether wants to call “create_ticket”' });
      await toast.waitFor({ timeout: 60_000 });
      await toast.locator('a.monaco-button', { hasText: 'More…' }).click();
      const always = wb.page.locator('.quick-input-list .monaco-list-row', { hasText: 'Always allow' });
      await always.waitFor();
      await wb.snap('mcp-always-allow');
      await always.click();
      await chat().locator('.msg.agent', { hasText: 'always allowed now' }).waitFor({ timeout: 60_000 });
      const config = readFileSync(join(wb.home, 'config.toml'), 'utf8');
      assert.match(config, /approval_mode = "approve"/);
      assert.match(config, /\[mcp_servers\.tickets\]/, 'the user config keeps its servers');
      await wb.send('And one more');
      await chat().locator('.msg.agent', { hasText: 'Filed without asking.' }).waitFor({ timeout: 60_000 });
      assert.equal(await chat().locator('.card.approval').count(), 0);
      assert.equal(readFileSync(join(wb.workspace, 'tickets.txt'), 'utf8'), '#42 greet() prints twice\n#42 second\n#42 third\n');
    });
  });

  it('shows a URL elicitation in a modal with the whole address; Decline reaches the server', async () => {
    await step('url', async () => {
      await wb.send('Sign me in to the notes service');
      const dialog = wb.page.locator('.monaco-dialog-box', { hasText: 'asks you to open a page' });
      await dialog.waitFor({ timeout: 60_000 });
      const text = (await dialog.textContent()) ?? '';
      assert.match(text, /The MCP server “notes” asks you to open a page on example\.invalid:/);
      assert.match(text, /https:\/\/example\.invalid\/login/);
      assert.match(text, /Sign in, please/);
      await wb.snap('mcp-url-elicitation');
      await dialog.locator('a.monaco-button', { hasText: 'Decline' }).click();
      await chat().locator('.msg.agent', { hasText: 'You did not sign in.' }).waitFor({ timeout: 60_000 });
      const card = chat().locator('.card.mcp-call', { hasText: 'login' });
      await card.locator('summary').click();
      assert.equal((await card.locator('pre.output').textContent())?.trim(), 'url elicitation: decline');
    });
  });

  it("allows a tool for the session from the panel's card: its next call runs unasked", async () => {
    await step('session', async () => {
      await wb.send('Write a note');
      const card = chat().locator('.card.approval[aria-label="MCP tool approval"]', { hasText: 'write_note' });
      await card.waitFor({ timeout: 60_000 });
      assert.match((await card.locator('.mcp-sandbox').textContent()) ?? '', /notes: sandboxed: writes in this folder/);
      await card.getByRole('button', { name: 'Allow for session' }).click();
      await chat().locator('.msg.agent', { hasText: 'Wrote the first note.' }).waitFor({ timeout: 60_000 });
      assert.equal(readFileSync(join(wb.workspace, 'note-1.txt'), 'utf8'), 'first');
      await wb.send('Write another');
      await chat().locator('.msg.agent', { hasText: 'Wrote the second note without asking.' }).waitFor({ timeout: 60_000 });
      assert.equal(readFileSync(join(wb.workspace, 'note-2.txt'), 'utf8'), 'second');
      assert.equal(await chat().locator('.card.approval').count(), 0);
      // The user's config gained nothing for this tool: a session grant is not saved.
      assert.doesNotMatch(readFileSync(join(wb.home, 'config.toml'), 'utf8'), /write_note/);
    });
  });
});
