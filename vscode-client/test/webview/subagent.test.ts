/** The chat webview's sub-agent card in headless Chromium, fed what the host forwards: a child
 * shown from its spawn through its live current tool to its answer and changed files; Open and
 * Stop post for that child, not the parent; a sub-agent's approval names it; a screenshot
 * against its committed baseline. */
import { strict as assert } from 'node:assert';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import type { HostMessage, WebviewMessage } from '../../src/chat/messages';
import type { Item, ServerNotification } from '../../src/protocol';
import { type ChatEvent, initialState } from '../../src/state/reducer';
import { launchChromium } from '../support/browser';
import { checkAgainstBaseline, colourCount } from '../support/screenshots';
import * as stream from '../fixtures/stream';

const ROOT = resolve(__dirname, '..', '..');
const HARNESS = pathToFileURL(join(ROOT, 'test', 'webview', 'harness.html')).href;
const BASELINES = join(ROOT, 'test', 'webview', 'baselines');
const threadId = stream.thread.id;
const turnId = 'turn_sub';
const childId = 'thr_child';

let browser: Browser;
let page: Page;

async function deliver(...messages: HostMessage[]): Promise<void> {
  for (const message of messages) await page.evaluate((m) => (window as unknown as { __deliver(m: unknown): void }).__deliver(m), message);
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
}

const feed = (...events: ChatEvent[]): Promise<void> => deliver(...events.map((event): HostMessage => ({ type: 'event', event })));
const n = (notification: ServerNotification): ChatEvent => ({ type: 'notification', notification });
const posted = (): Promise<WebviewMessage[]> => page.evaluate(() => (window as unknown as { __posted: WebviewMessage[] }).__posted);
const updated = (item: Item): ChatEvent => n({ method: 'item/updated', params: { threadId, turnId, item } });

const spawned: Item = { type: 'subagent', id: 'item_s', agentThreadId: childId, agentType: 'explorer', prompt: 'Find every caller of greet()\nand say where they are.', status: 'pending' };

describe('chat webview: sub-agents', () => {
  before(async () => {
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 420, height: 560 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(HARNESS);
    await deliver({ type: 'snapshot', state: { ...initialState('agent'), ...stream.snapshot } });
    const turn = { id: turnId, threadId, status: 'inProgress' as const, items: [] };
    await feed({ type: 'threadLoaded', thread: stream.thread, turns: [] }, { type: 'turnAccepted', turn }, n({ method: 'turn/started', params: { threadId, turn } }));
    assert.deepEqual(errors, []);
  });

  after(async () => {
    await browser?.close();
  });

  it('shows the child live: waiting, its current tool, then its answer and files', async () => {
    await feed(n({ method: 'item/started', params: { threadId, turnId, item: spawned } }));
    const card = page.locator('[data-item=item_s]');
    assert.match((await card.textContent()) ?? '', /explorer.*waiting for a slot/);
    assert.equal((await card.locator('.subagent-task').textContent())?.trim(), 'Find every caller of greet()');
    await feed(updated({ ...spawned, status: 'inProgress', agentTurnIds: ['turn_c1'], activity: '$ rg -n "greet\\(" src' }));
    assert.equal((await card.locator('.subagent-activity').textContent())?.trim(), '$ rg -n "greet\\(" src');
    await card.getByRole('button', { name: 'Stop' }).click();
    assert.deepEqual((await posted()).at(-1), { type: 'stopAgent', threadId: childId, turnId: 'turn_c1' });
    await feed(
      updated({
        ...spawned,
        status: 'completed',
        agentTurnIds: ['turn_c1'],
        summary: 'Two callers: `src/app.py:3` and `src/cli.py:12`.',
        changedFiles: [`${stream.WORKSPACE}/src/app.py`],
      }),
    );
    assert.equal(await card.locator('.subagent-activity').count(), 0);
    assert.equal(await card.getByRole('button', { name: 'Stop' }).count(), 0, 'a finished child has nothing to stop');
    assert.match((await card.locator('.subagent-summary').innerHTML()) ?? '', /<code class="file-ref" data-path="src\/app.py" data-line="3">src\/app.py:3<\/code>/);
    await card.getByRole('button', { name: 'app.py' }).click();
    assert.deepEqual((await posted()).at(-1), { type: 'openFile', path: `${stream.WORKSPACE}/src/app.py` });
    await card.getByRole('button', { name: 'Open' }).click();
    assert.deepEqual((await posted()).at(-1), { type: 'openThread', threadId: childId });
    const png = await page.screenshot({ animations: 'disabled', caret: 'hide' });
    assert.ok(colourCount(png) > 20, 'the screenshot looks blank or unstyled');
    const problem = checkAgainstBaseline('subagent-card', png, BASELINES);
    assert.equal(problem, undefined, problem);
  });

  it("names the sub-agent in its approval, shown from the parent's thread", async () => {
    await feed({
      type: 'approvalOpened',
      approval: { kind: 'command', threadId: childId, parentThreadId: threadId, agentType: 'explorer', turnId: 'turn_c1', itemId: 'item_cmd', command: 'python3 -c "print(3)"', cwd: stream.WORKSPACE, sandbox: 'readOnly', suggestedRules: [] },
    });
    assert.match((await page.locator('#approvals').textContent()) ?? '', /Sub-agent “explorer” wants to run “python3 -c "print\(3\)"”/);
  });
});
