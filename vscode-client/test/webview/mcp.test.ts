/** The chat webview's MCP parts in headless Chromium, fed the messages the host sends: the servers
 * section (live status, tools, an unsandboxed server called out, trust, restart), a tool-call card
 * streamed from pending to its result, the approval card, and an elicitation form checked before
 * it answers; screenshots against committed baselines. */
import { strict as assert } from 'node:assert';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import type { HostMessage, WebviewMessage } from '../../src/chat/messages';
import type { Item, McpServer, ServerNotification } from '../../src/protocol';
import { type ChatEvent, initialState } from '../../src/state/reducer';
import { launchChromium } from '../support/browser';
import { checkAgainstBaseline, colourCount } from '../support/screenshots';
import * as stream from '../fixtures/stream';

const ROOT = resolve(__dirname, '..', '..');
const HARNESS = pathToFileURL(join(ROOT, 'test', 'webview', 'harness.html')).href;
const BASELINES = join(ROOT, 'test', 'webview', 'baselines');
const threadId = stream.thread.id;
const turnId = 'turn_mcp';

let browser: Browser;
let page: Page;

async function deliver(...messages: HostMessage[]): Promise<void> {
  for (const message of messages) await page.evaluate((m) => (window as unknown as { __deliver(m: unknown): void }).__deliver(m), message);
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
}

const feed = (...events: ChatEvent[]): Promise<void> => deliver(...events.map((event): HostMessage => ({ type: 'event', event })));
const n = (notification: ServerNotification): ChatEvent => ({ type: 'notification', notification });
const posted = (): Promise<WebviewMessage[]> => page.evaluate(() => (window as unknown as { __posted: WebviewMessage[] }).__posted);

async function shot(name: string): Promise<void> {
  const png = await page.screenshot({ animations: 'disabled', caret: 'hide' });
  assert.ok(colourCount(png) > 20, `${name}: the screenshot looks blank or unstyled`);
  const problem = checkAgainstBaseline(name, png, BASELINES);
  assert.equal(problem, undefined, problem);
}

const docs: McpServer = {
  name: 'docs',
  status: 'starting',
  transport: 'stdio',
  sandbox: 'workspaceWrite',
  source: '/home/user/.tether/config.toml',
  command: 'python -m docs_server --root .',
};
const tickets: McpServer = {
  name: 'tickets',
  status: 'ready',
  transport: 'stdio',
  sandbox: 'none',
  source: '/home/user/.tether/config.toml',
  command: 'node tickets.js',
  toolCount: 2,
  tools: [
    { name: 'find_ticket', modelName: 'mcp__tickets__find_ticket', description: 'Find tickets by text.', annotations: { readOnlyHint: true } },
    { name: 'create_ticket', modelName: 'mcp__tickets__create_ticket', description: 'Open a ticket.', annotations: { destructiveHint: false, openWorldHint: true }, approvalMode: 'approve' },
  ],
};
const project: McpServer = {
  name: 'browser',
  status: 'untrusted',
  transport: 'stdio',
  sandbox: 'workspaceWrite',
  network: true,
  source: `${stream.WORKSPACE}/.mcp.json`,
  project: true,
  digest: 'sha256:abc',
  trust: 'unknown',
  command: 'npx -y browser-mcp',
  error: 'Defined by the project: it starts once you trust it.',
};

const call: Item = { type: 'mcpToolCall', id: 'item_m', server: 'tickets', tool: 'create_ticket', arguments: { title: 'greet() prints twice', labels: ['bug'] }, status: 'pending' };

describe('chat webview: MCP', () => {
  before(async () => {
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 420, height: 760 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(HARNESS);
    await deliver({ type: 'snapshot', state: { ...initialState('agent'), ...stream.snapshot } });
    assert.deepEqual(errors, []);
  });

  after(async () => {
    await browser?.close();
  });

  it('shows no MCP button before a thread lists servers, and explains an empty section', async () => {
    assert.equal(await page.locator('#mcp-button').isVisible(), false);
    await deliver({ type: 'showMcp' });
    assert.match((await page.locator('#mcp').textContent()) ?? '', /MCP servers start with a thread/);
    await page.locator('#mcp [aria-label="Close MCP servers"]').click();
    assert.equal(await page.locator('#mcp').isVisible(), false);
  });

  it('lists the servers with live status, sandbox, tools, restart and trust', async () => {
    await feed({ type: 'threadLoaded', thread: stream.thread, turns: [] }, { type: 'mcpServers', threadId, servers: [docs, tickets, project] });
    const button = page.locator('#mcp-button');
    assert.equal((await button.textContent())?.trim(), '1/3');
    assert.match((await button.getAttribute('title')) ?? '', /1 of 3 ready, 1 starting, 1 to trust/);
    assert.match((await button.getAttribute('class')) ?? '', /attention/);
    await button.click();
    const rows = page.locator('#mcp .mcp-server');
    assert.deepEqual(await rows.evaluateAll((els) => els.map((e) => `${e.getAttribute('data-server')}:${e.getAttribute('data-status')}`)), ['browser:untrusted', 'docs:starting', 'tickets:ready']);
    const unsafe = page.locator('[data-server=tickets] .mcp-sandbox');
    assert.equal((await unsafe.textContent())?.trim(), 'unsandboxed: runs as you, can do anything you can');
    assert.match((await unsafe.getAttribute('class')) ?? '', /unsandboxed/);
    assert.match((await page.locator('[data-server=browser] .mcp-sandbox').textContent()) ?? '', /network allowed/);
    // The status comes live: docs gets ready with its tools.
    await feed(n({ method: 'mcpServer/statusChanged', params: { threadId, server: { ...docs, status: 'ready', toolCount: 1, tools: [{ name: 'search_docs', modelName: 'mcp__docs__search_docs', annotations: { readOnlyHint: true, openWorldHint: false } }] } } }));
    assert.equal(await page.locator('[data-server=docs]').getAttribute('data-status'), 'ready');
    assert.equal((await button.textContent())?.trim(), '2/3');
    const tools = page.locator('[data-server=tickets] .mcp-tools');
    await tools.locator('summary').click();
    assert.deepEqual(await tools.locator('li').evaluateAll((els) => els.map((e) => e.getAttribute('data-tool'))), ['find_ticket', 'create_ticket']);
    assert.deepEqual(await tools.locator('li').nth(1).locator('.tag').allTextContents(), ['open world', 'always allowed']);
    // The user's open tool list stays open across a status change.
    await feed(n({ method: 'mcpServer/statusChanged', params: { threadId, server: { ...tickets, restarts: 1 } } }));
    assert.equal(await page.locator('[data-server=tickets] .mcp-tools').getAttribute('open'), '');
    assert.match((await page.locator('[data-server=tickets]').textContent()) ?? '', /restarted 1×/);
    await shot('mcp-servers');
    await page.locator('[data-server=browser] .mcp-trust').click();
    assert.deepEqual((await posted()).at(-1), { type: 'mcpTrust', name: 'browser' });
    assert.equal(await page.locator('[data-server=browser] .mcp-restart').count(), 0, 'an untrusted server has nothing to restart');
    await page.locator('[data-server=docs] .mcp-restart').click();
    assert.deepEqual((await posted()).at(-1), { type: 'mcpRestart', name: 'docs' });
    await page.locator('#mcp-reload').click();
    assert.deepEqual((await posted()).at(-1), { type: 'mcpReload' });
    await button.click();
    assert.equal(await page.locator('#mcp').isVisible(), false);
  });

  it('streams an MCP tool call as a card: waiting, approved from the panel, then its result', async () => {
    await feed(
      { type: 'turnAccepted', turn: { id: turnId, threadId, status: 'inProgress', items: [] } },
      n({ method: 'item/started', params: { threadId, turnId, item: { type: 'userMessage', id: 'item_u', content: [{ type: 'text', text: 'File a ticket for the double greeting' }] } } }),
      n({ method: 'item/started', params: { threadId, turnId, item: call } }),
      {
        type: 'approvalOpened',
        approval: { kind: 'mcpTool', threadId, turnId, itemId: 'item_m', server: 'tickets', tool: 'create_ticket', arguments: call.type === 'mcpToolCall' ? call.arguments : {}, annotations: { openWorldHint: true }, reason: 'Agent mode asks before MCP tools that are not read-only.' },
      },
    );
    const card = page.locator('.card.mcp-call[data-item="item_m"]');
    assert.equal(await card.getAttribute('open'), '', 'a waiting call is expanded');
    assert.match((await card.locator('summary').textContent()) ?? '', /tickets.*create_ticket greet\(\) prints twice.*waiting for approval/);
    const approval = page.locator('.card.approval[aria-label="MCP tool approval"]');
    assert.equal(await approval.locator('.approval-text').textContent(), 'Tether wants to call “create_ticket” of the MCP server “tickets”. The server marks it open world. Agent mode asks before MCP tools that are not read-only.');
    assert.deepEqual((await approval.locator('button').allTextContents()).map((t) => t.trim()), ['Allow', 'Allow for session', 'Always allow', 'Decline', 'Stop']);
    assert.equal(await approval.locator('.mcp-tool-description').textContent(), 'create_ticket: Open a ticket.');
    assert.equal((await approval.locator('.mcp-sandbox.unsandboxed').textContent())?.trim(), 'tickets: unsandboxed: runs as you, can do anything you can');
    assert.match((await approval.locator('pre.arguments').textContent()) ?? '', /"labels": \[\n\s+"bug"/);
    await shot('mcp-approval');
    await approval.getByRole('button', { name: 'Allow for session' }).click();
    assert.deepEqual((await posted()).at(-1), { type: 'mcpToolApproval', itemId: 'item_m', choice: 'Allow for session' });
    await feed(
      { type: 'approvalClosed', itemId: 'item_m' },
      n({ method: 'item/updated', params: { threadId, turnId, item: { ...call, status: 'inProgress' } } }),
    );
    assert.match((await card.locator('.badge').textContent()) ?? '', /running/);
    await feed(
      n({
        method: 'item/completed',
        params: { threadId, turnId, item: { ...call, status: 'completed', durationMs: 420, result: { content: [{ type: 'text', text: 'Opened ticket #42' }, { type: 'image', mimeType: 'image/png' }], output: 'Opened ticket #42' } } },
      }),
    );
    assert.equal(await card.getAttribute('open'), null, 'a finished call folds away');
    assert.match((await card.locator('.badge').textContent()) ?? '', /420 ms/);
    await card.locator('summary').click();
    assert.equal(await card.locator('pre.output').textContent(), 'Opened ticket #42');
    assert.match((await card.textContent()) ?? '', /Also returned: image \(image\/png\)/);
    await shot('mcp-call');
    const failed: Item = { ...call, id: 'item_m2', status: 'failed', error: 'The tool did not answer within 120 s (tool_timeout_sec).', durationMs: 120_000 };
    await feed(n({ method: 'item/completed', params: { threadId, turnId, item: failed } }));
    const failedCard = page.locator('.card.mcp-call[data-item="item_m2"]');
    assert.equal(await failedCard.getAttribute('open'), '', 'a failed call stays open with its error');
    assert.equal(await failedCard.locator('.mcp-error').textContent(), 'The tool did not answer within 120 s (tool_timeout_sec).');
  });

  it('asks with a form built from the schema, says what is wrong, then answers with the values', async () => {
    await feed({
      type: 'approvalOpened',
      approval: {
        kind: 'elicitation',
        itemId: 'elicitation-1',
        threadId,
        turnId,
        server: 'tickets',
        mode: 'form',
        message: 'Who should the ticket go to?',
        requestedSchema: {
          type: 'object',
          properties: {
            assignee: { type: 'string', title: 'Assignee', description: 'A user name' },
            priority: { type: 'integer', title: 'Priority', minimum: 1, maximum: 5 },
            team: { type: 'string', title: 'Team', enum: ['web', 'api'], enumNames: ['Web', 'API'] },
            notify: { type: 'boolean', title: 'Notify them', default: true },
          },
          required: ['assignee', 'priority'],
        },
      },
    });
    const form = page.locator('form.elicitation');
    assert.equal(await form.locator('.approval-text').textContent(), 'Who should the ticket go to?');
    assert.deepEqual(await form.locator('.field').evaluateAll((els) => els.map((e) => e.getAttribute('data-field'))), ['assignee', 'priority', 'team', 'notify']);
    assert.equal(await form.locator('[data-field=notify] input').isChecked(), true);
    await form.getByLabel('Priority').fill('9');
    await form.getByRole('button', { name: 'Submit' }).click();
    assert.deepEqual(await form.locator('.field-error').allTextContents(), ['Required.', 'At most 5.']);
    assert.notEqual((await posted()).at(-1)?.type, 'elicitationAnswer', 'nothing is sent while the form is wrong');
    // The typed value survived the re-render with the errors.
    assert.equal(await page.locator('form.elicitation').getByLabel('Priority').inputValue(), '9');
    await shot('mcp-elicitation');
    const fresh = page.locator('form.elicitation');
    await fresh.getByLabel('Assignee').fill('ada');
    assert.deepEqual(await fresh.locator('.field-error').allTextContents(), ['At most 5.'], 'an edited field loses its error');
    await fresh.getByLabel('Priority').fill('2');
    await fresh.getByLabel('Team').selectOption('api');
    await fresh.getByLabel('Notify them').uncheck();
    await fresh.getByRole('button', { name: 'Submit' }).click();
    assert.deepEqual((await posted()).at(-1), { type: 'elicitationAnswer', itemId: 'elicitation-1', action: 'accept', values: { assignee: 'ada', priority: '2', team: 'api', notify: false } });
    await feed({ type: 'approvalClosed', itemId: 'elicitation-1' });
    assert.equal(await page.locator('form.elicitation').count(), 0);
  });

  it('offers only decline and cancel for a schema it cannot show', async () => {
    await feed({ type: 'approvalOpened', approval: { kind: 'elicitation', itemId: 'elicitation-2', threadId, server: 'odd', mode: 'form', message: 'Nested?', requestedSchema: { type: 'object', properties: { deep: { type: 'object' } } } } });
    const form = page.locator('form.elicitation');
    assert.equal(await form.getByRole('button', { name: 'Submit' }).isDisabled(), true);
    assert.match((await form.locator('.field-error').textContent()) ?? '', /cannot be shown here \(deep: type "object"/);
    await form.getByRole('button', { name: 'Decline' }).click();
    assert.deepEqual((await posted()).at(-1), { type: 'elicitationAnswer', itemId: 'elicitation-2', action: 'decline' });
  });

  it('offers the way to the servers when a required one held the turn back', async () => {
    await feed(n({ method: 'turn/completed', params: { threadId, turn: { id: 'turn_req', threadId, status: 'failed', items: [], error: { code: 'mcpServerRequired', message: 'MCP server `docs` is required but not ready: exited with 1' } } } }));
    const footer = page.locator('[data-turn="turn_req"] .card.error');
    assert.match((await footer.textContent()) ?? '', /required but not ready/);
    await footer.getByRole('button', { name: 'Show MCP servers' }).click();
    assert.deepEqual((await posted()).at(-1), { type: 'showMcp' });
  });
});
