/** The chat webview in headless Chromium, fed a recorded stream through the same messages the
 * extension host sends; checks the DOM, what the panel posts back, and screenshots of the key
 * states against committed baselines. */
import { strict as assert } from 'node:assert';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import type { HostMessage, WebviewMessage } from '../../src/chat/messages';
import { type Item, MODES } from '../../src/protocol';
import { MODE_LABELS } from '../../src/state/present';
import { initialState } from '../../src/state/reducer';
import { launchChromium } from '../support/browser';
import { checkAgainstBaseline, colourCount } from '../support/screenshots';
import * as stream from '../fixtures/stream';
import recorded from '../fixtures/recorded-turn.json';

const ROOT = resolve(__dirname, '..', '..');
const HARNESS = pathToFileURL(join(ROOT, 'test', 'webview', 'harness.html')).href;
const BASELINES = join(ROOT, 'test', 'webview', 'baselines');

let browser: Browser;
let page: Page;

async function deliver(...messages: HostMessage[]): Promise<void> {
  for (const message of messages) await page.evaluate((m) => (window as unknown as { __deliver(m: unknown): void }).__deliver(m), message);
  // The panel renders on the next animation frame.
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
}

async function feed(events: stream.ChatEventList): Promise<void> {
  await deliver(...events.map((event): HostMessage => ({ type: 'event', event })));
}

async function posted(): Promise<WebviewMessage[]> {
  return page.evaluate(() => (window as unknown as { __posted: WebviewMessage[] }).__posted);
}

async function shot(name: string): Promise<void> {
  // The newest item is the state under test: pin the transcript to its end so the picture does
  // not depend on when the panel's own stick-to-bottom ran.
  await page.evaluate(() => {
    const transcript = document.getElementById('transcript')!;
    transcript.scrollTop = transcript.scrollHeight;
    return new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
  });
  const png = await page.screenshot({ animations: 'disabled', caret: 'hide' });
  assert.ok(colourCount(png) > 20, `${name}: the screenshot looks blank or unstyled`);
  const problem = checkAgainstBaseline(name, png, BASELINES);
  assert.equal(problem, undefined, problem);
}

/** A fresh panel showing one finished turn of these items. */
async function showTurn(items: Item[]): Promise<void> {
  await deliver({ type: 'snapshot', state: { ...initialState('agent'), ...stream.snapshot } });
  await feed([{ type: 'threadLoaded', thread: { ...stream.thread, status: 'idle' }, turns: [{ id: 'turn_shown', threadId: stream.thread.id, status: 'completed', items }] }]);
}

const CODE_REPLY = [
  'Change `src/greet.py`:',
  '```python\ndef greet(name):\n    # once\n    return f"hi {name}"\n```',
  'And a new file:',
  '```ts path=src/util.ts\nexport const n = 1;\n```',
  '```\nplain text\n```',
  'Then run:',
  '```sh\npytest -q\n```',
].join('\n\n');

describe('chat webview', () => {
  before(async () => {
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 420, height: 760 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(HARNESS);
    assert.deepEqual(errors, []);
  });

  after(async () => {
    await browser?.close();
  });

  it('asks the host for its state once loaded', async () => {
    assert.deepEqual(await posted(), [{ type: 'ready' }]);
    await deliver({ type: 'snapshot', state: { ...initialState('agent'), ...stream.snapshot } });
    assert.equal(await page.locator('#mode').getAttribute('data-value'), 'agent');
    assert.equal(await page.locator('#model').getAttribute('data-value'), 'scripted-model');
    assert.equal(await page.locator('#empty').isVisible(), true);
  });

  it('streams a markdown message with reads grouped, a plan and the context meter', async () => {
    await feed(stream.streamingMessage);
    const message = page.locator('.msg.agent');
    assert.equal(await message.getAttribute('class'), 'msg agent markdown streaming');
    assert.equal(await message.locator('strong').textContent(), 'twice');
    assert.equal(await message.locator('li code').textContent(), 'src/app.py');
    assert.equal(await page.locator('.card.exploration summary').first().textContent(), 'Read 1 file, searched 1 time');
    assert.deepEqual(await page.locator('.plan .step').evaluateAll((els) => els.map((e) => e.className)), ['step completed', 'step inProgress', 'step pending']);
    assert.equal(await page.locator('.meter-label').textContent(), '32k / 128k tokens (25%)');
    assert.equal(await page.locator('#stop').isVisible(), true);
    assert.equal((await page.locator('#send').textContent())?.trim(), 'Steer');
    await shot('streaming-message');
  });

  it('renders model output as text, never as markup that runs', async () => {
    await feed(stream.hostileMessage);
    const hostile = page.locator('[data-item="item_x"]');
    assert.equal(await hostile.locator('img, script').count(), 0);
    assert.equal(await hostile.locator('a[href^="javascript"]').count(), 0);
    assert.equal(await page.evaluate(() => document.body.dataset.pwned), undefined);
  });

  it('shows a command card with live output, then its exit code', async () => {
    await feed(stream.commandCard);
    const card = page.locator('.card.command[data-item="item_c"]');
    assert.equal(await card.getAttribute('open'), '', 'a running command is expanded');
    assert.equal(await card.locator('.command-line').textContent(), 'python -m pytest -q tests/test_greet.py');
    assert.equal(await card.locator('pre.output').textContent(), '..F\nFAILED tests/test_greet.py::test_once\n');
    assert.match((await card.locator('.badge').textContent()) ?? '', /running/);
    await shot('command-running');
    await feed(stream.commandDone);
    assert.match((await card.locator('.badge').textContent()) ?? '', /exit 1/);
    assert.match((await card.locator('.meta').first().textContent()) ?? '', /can write in this folder, no network · 1\.2s/);
    assert.equal(await card.getAttribute('open'), null, 'a finished command folds away');
    await card.locator('summary').focus();
    await page.keyboard.press('Enter');
    assert.equal(await card.getAttribute('open'), '', 'Enter on the summary opens the card');
    await page.keyboard.press('Enter');
    assert.equal(await card.getAttribute('open'), null, 'and Enter again closes it');
  });

  it('shows a diff card with per-file line and hunk counts and a Review action', async () => {
    await feed(stream.diffCard);
    const card = page.locator('.diff-card[data-item="item_f"]');
    const rows = await card.locator('.file-row').evaluateAll((els) => els.map((e) => Array.from(e.children, (c) => c.textContent?.trim()).join(' ')));
    assert.deepEqual(rows, ['app.py +2 −1 2 proposed', 'test_greet.py +1 −0 1 proposed']);
    await shot('diff-card');
    await card.getByRole('button', { name: 'Review' }).click();
    assert.deepEqual((await posted()).at(-1), { type: 'reviewChange', itemId: 'item_f' });
  });

  it('shows a pending approval whose buttons answer the host', async () => {
    await feed(stream.approval);
    const card = page.locator('.card.approval');
    assert.equal(await card.count(), 1);
    assert.match((await card.locator('.approval-text').textContent()) ?? '', /“rm -rf build && make” in .*can write in this folder, no network/);
    assert.deepEqual(await card.locator('button').allTextContents(), [' Run', ' Run for session', ' Always allow…', ' Decline', ' Stop'].map((s) => s.trim()).map((s) => ` ${s}`));
    await shot('approval');
    await card.getByRole('button', { name: 'Run', exact: true }).focus();
    await page.keyboard.press('Enter');
    assert.deepEqual((await posted()).at(-1), { type: 'commandApproval', itemId: 'item_c2', choice: 'Run' });
    await feed(stream.turnDone);
    assert.equal(await card.count(), 0);
    assert.equal(await page.locator('#stop').isVisible(), false);
  });

  it('attaches a file with @ from the keyboard and sends it', async () => {
    const input = page.locator('#prompt');
    await input.focus();
    await page.keyboard.type('Explain @gre');
    await page.waitForFunction(() => (window as unknown as { __posted: { type: string; query?: string }[] }).__posted.some((m) => m.type === 'mentionQuery' && m.query === 'gre'));
    await deliver({
      type: 'mentions',
      query: 'gre',
      candidates: [
        { path: `${stream.WORKSPACE}/src/greet.py`, label: 'src/greet.py' },
        { path: `${stream.WORKSPACE}/tests/test_greet.py`, label: 'tests/test_greet.py' },
      ],
    });
    assert.equal(await page.locator('#mentions').isVisible(), true);
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('Enter');
    assert.equal(await input.inputValue(), 'Explain @tests/test_greet.py ');
    await page.keyboard.type('please');
    await page.keyboard.press('Enter');
    assert.deepEqual((await posted()).at(-1), { type: 'send', text: 'Explain @tests/test_greet.py please', files: [`${stream.WORKSPACE}/tests/test_greet.py`] });
    assert.equal(await input.inputValue(), '');
  });

  it('asks the host before changing the mode and shows the mode in force', async () => {
    await page.locator('#mode').click();
    const options = page.locator('#mode-list [role=option]');
    // Each mode says what it allows, in the words of the settings and PROTOCOL.md §6.
    assert.deepEqual(await options.locator('.picker-option-label').allTextContents(), ['Read-only', 'Agent', 'Full access']);
    assert.deepEqual(await options.locator('.picker-option-detail').allTextContents(), MODES.map((m) => MODE_LABELS[m].detail));
    assert.equal(await page.locator('#mode-list [aria-selected=true]').getAttribute('data-value'), 'agent');
    // One line each, as in Copilot Chat's picker.
    for (const [height, lineHeight] of await options.locator('.picker-option-detail').evaluateAll((els) => els.map((e) => [e.getBoundingClientRect().height, parseFloat(getComputedStyle(e).lineHeight) || parseFloat(getComputedStyle(e).fontSize) * 1.2]))) {
      assert.ok(height! < lineHeight! * 1.5, `a mode's description runs ${height} px, more than one line`);
    }
    await shot('mode-picker');
    await options.filter({ hasText: 'Full access' }).click();
    assert.equal(await page.locator('#mode-list').isVisible(), false);
    assert.deepEqual((await posted()).at(-1), { type: 'setMode', mode: 'fullAccess' });
    assert.equal(await page.locator('#mode').getAttribute('data-value'), 'agent', 'unchanged until the host confirms');
    await feed([{ type: 'notification', notification: { method: 'thread/modeChanged', params: { threadId: stream.thread.id, mode: 'readOnly' } } }]);
    assert.equal(await page.locator('#mode').getAttribute('data-value'), 'readOnly');
    // From the keyboard: open, move, pick; Escape closes without a change.
    await page.locator('#mode').focus();
    await page.keyboard.press('Enter');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('Enter');
    assert.deepEqual((await posted()).at(-1), { type: 'setMode', mode: 'agent' });
    const before = (await posted()).length;
    await page.locator('#model').focus();
    await page.keyboard.press('ArrowDown');
    assert.equal(await page.locator('#model-list').isVisible(), true);
    await page.keyboard.press('Escape');
    assert.equal(await page.locator('#model-list').isVisible(), false);
    assert.equal((await posted()).length, before);
  });

  it('shows the whole mode and model names in a narrow panel', async () => {
    await page.setViewportSize({ width: 300, height: 760 });
    await page.evaluate(() => (document.body.style.width = '300px'));
    try {
      for (const id of ['#mode', '#model']) {
        const label = page.locator(`${id} .picker-label`);
        const [scroll, client] = await label.evaluate((e) => [e.scrollWidth, e.clientWidth]);
        assert.ok(scroll <= client, `${id} cuts its text (${scroll} > ${client})`);
      }
    } finally {
      await page.evaluate(() => (document.body.style.width = ''));
      await page.setViewportSize({ width: 420, height: 760 });
    }
  });

  it('sets the user apart from Tether: a named bubble on the right, answers under "Tether"', async () => {
    await showTurn([
      { type: 'userMessage', id: 'item_q', content: [{ type: 'text', text: 'Why does greet() print twice?' }] },
      { type: 'agentMessage', id: 'item_a', text: 'It is called **twice**: once in `main()` and once at import time.' },
    ]);
    const user = page.locator('.msg.user').first();
    const agent = page.locator('.msg.agent').first();
    const [userBox, agentBox, panel] = await Promise.all([user.boundingBox(), agent.boundingBox(), page.locator('#transcript').boundingBox()]);
    assert.ok(userBox && agentBox && panel);
    assert.ok(userBox.x > agentBox.x + 20, 'the user message sits to the right');
    assert.ok(Math.abs(userBox.x + userBox.width - (agentBox.x + agentBox.width)) < 2, 'both end at the right edge');
    const backgrounds = await Promise.all([user, agent].map((l) => l.evaluate((e) => getComputedStyle(e).backgroundColor)));
    assert.notEqual(backgrounds[0], backgrounds[1]);
    const turn = page.locator('section.turn').first();
    assert.deepEqual(await turn.locator('.speaker .name').allTextContents(), ['You', 'Tether']);
  });

  it('takes no message while an applied code block waits for review', async () => {
    await deliver({ type: 'snapshot', state: { ...initialState('agent'), ...stream.snapshot } });
    const change: Item = { type: 'fileChange', id: 'item_apply', status: 'pending', changes: [{ path: `${stream.WORKSPACE}/src/greet.py`, kind: 'update', diff: '', hunks: [{ index: 0, oldStart: 1, oldLines: 1, newStart: 1, newLines: 1, lines: ['-a', '+b'], status: 'pending' }] }] };
    await feed([{ type: 'threadLoaded', thread: stream.thread, turns: [{ id: 'turn_apply', threadId: stream.thread.id, status: 'inProgress', items: [change] }] }]);
    const send = page.locator('#send');
    assert.equal(await send.isDisabled(), true);
    assert.equal((await send.textContent())?.trim(), 'Send', 'no Steer: the review takes no message');
    assert.equal(await page.locator('#stop').isVisible(), true, 'Stop withdraws the proposal');
    const before = (await posted()).length;
    await page.locator('#prompt').fill('hello');
    await page.locator('#prompt').press('Enter');
    assert.equal((await posted()).length, before);
    assert.equal(await page.locator('#prompt').inputValue(), 'hello', 'kept in the box');
    await page.locator('#prompt').fill('');
  });

  it('highlights code blocks in the theme colours with Copy, Insert and Apply', async () => {
    await showTurn([
      { type: 'userMessage', id: 'item_q', content: [{ type: 'text', text: 'Make greet take a name' }] },
      { type: 'agentMessage', id: 'item_code', text: CODE_REPLY },
    ]);
    const message = page.locator('[data-item="item_code"]');
    const blocks = message.locator('.code-block');
    assert.equal(await blocks.count(), 4);
    assert.equal(await blocks.nth(3).getByRole('button', { name: /^Apply/ }).count(), 0, 'a shell command is not a file to apply');
    assert.equal(await blocks.nth(3).getByRole('button', { name: 'Copy' }).count(), 1);
    const python = blocks.nth(0);
    assert.equal(await python.locator('.code-label').textContent(), 'python · src/greet.py', 'the file named just before the block');
    assert.equal(await blocks.nth(1).locator('.code-label').textContent(), 'ts · src/util.ts', 'the file named in the fence');
    const colour = (selector: string): Promise<string> => python.locator(selector).first().evaluate((e) => getComputedStyle(e).color);
    assert.equal(await colour('.hljs-keyword'), 'rgb(78, 148, 206)', '--vscode-debugTokenExpression-boolean');
    assert.equal(await colour('.hljs-string'), 'rgb(206, 145, 120)', '--vscode-debugTokenExpression-string');
    assert.equal(await colour('.hljs-title.function_'), 'rgb(177, 128, 215)', '--vscode-symbolIcon-functionForeground');
    assert.equal(await blocks.nth(2).locator('code span').count(), 0, 'no language, no guessing');
    const code = 'def greet(name):\n    # once\n    return f"hi {name}"\n';
    await python.getByRole('button', { name: 'Copy' }).click();
    assert.deepEqual((await posted()).at(-1), { type: 'copyCode', code });
    await python.getByRole('button', { name: 'Insert at cursor' }).click();
    assert.deepEqual((await posted()).at(-1), { type: 'insertCode', code });
    await python.getByRole('button', { name: /^Apply to src\/greet\.py/ }).click();
    assert.deepEqual((await posted()).at(-1), { type: 'applyCode', code, path: 'src/greet.py' });
    await blocks.nth(2).getByRole('button', { name: /^Apply to the active editor/ }).click();
    assert.deepEqual((await posted()).at(-1), { type: 'applyCode', code: 'plain text\n' });
    await shot('code-block');
  });

  it('shows the code actions on hover or keyboard focus, Insert with its name', async () => {
    await showTurn([{ type: 'agentMessage', id: 'item_code', text: CODE_REPLY }]);
    const block = page.locator('[data-item="item_code"] .code-block').first();
    const copy = block.getByRole('button', { name: 'Copy' });
    const opacity = (): Promise<string> => copy.evaluate((e) => getComputedStyle(e).opacity);
    await page.mouse.move(1, 1);
    assert.equal(await opacity(), '0', 'hidden until wanted, as in Copilot Chat');
    assert.equal(await block.locator('.code-label').isVisible(), true, 'the language and file stay');
    await block.hover();
    assert.equal(await opacity(), '1');
    await page.mouse.move(1, 1);
    await copy.focus();
    assert.equal(await opacity(), '1', 'Tab reaches them and shows them');
    assert.equal((await block.getByRole('button', { name: 'Insert at cursor' }).textContent())?.trim(), 'Insert', 'the icon says what it does');
  });

  it('shows an applied code block as what the user did, not as a second Tether reply', async () => {
    const hunk = { index: 0, oldStart: 1, oldLines: 1, newStart: 1, newLines: 1, lines: ['-a', '+b'] };
    const change = (status: 'pending' | 'applied'): Item => ({ type: 'fileChange', id: 'item_apply', status, changes: [{ path: `${stream.WORKSPACE}/src/greet.py`, kind: 'update', diff: '', hunks: [{ ...hunk, status }] }] });
    await deliver({ type: 'snapshot', state: { ...initialState('agent'), ...stream.snapshot } });
    const turns = (status: 'pending' | 'applied'): stream.ChatEventList => [
      {
        type: 'threadLoaded',
        thread: stream.thread,
        turns: [
          { id: 'turn_q', threadId: stream.thread.id, status: 'completed', items: [{ type: 'userMessage', id: 'item_q', content: [{ type: 'text', text: 'Fix greet' }] }, { type: 'agentMessage', id: 'item_a', text: 'Here:\n\n```python\nb\n```' }] },
          { id: 'turn_apply', threadId: stream.thread.id, status: status === 'pending' ? 'inProgress' : 'completed', items: [change(status)] },
        ],
      },
    ];
    await feed(turns('pending'));
    const applyTurn = page.locator('section.turn[data-turn="turn_apply"]');
    assert.equal(await applyTurn.locator('.speaker').count(), 0, 'no "Tether" header over it');
    assert.equal((await applyTurn.locator('.apply-line').textContent())?.trim(), 'Applied a code block to src/greet.py — review the changes');
    await feed(turns('applied'));
    assert.equal((await applyTurn.locator('.apply-line').textContent())?.trim(), 'Applied a code block to src/greet.py');
    assert.deepEqual(await page.locator('section.turn[data-turn="turn_q"] .speaker .name').allTextContents(), ['You', 'Tether']);
  });

  it('names an attached selection with its lines', async () => {
    await showTurn([
      { type: 'userMessage', id: 'item_sel', content: [{ type: 'text', text: 'swap these' }, { type: 'selection', path: `${stream.WORKSPACE}/calc.py`, range: { start: { line: 4, character: 0 }, end: { line: 6, character: 0 } } }] },
    ]);
    const chip = page.locator('[data-item="item_sel"] .chip');
    assert.equal((await chip.textContent())?.trim(), 'calc.py:5-6');
    assert.equal(await chip.getAttribute('title'), `${stream.WORKSPACE}/calc.py, lines 5-6`);
  });

  it('keeps a pending review in one line under the conversation, never over the newest message', async () => {
    const hunk = { index: 0, oldStart: 1, oldLines: 1, newStart: 1, newLines: 1, lines: ['-    return a - b', '+    return a + b'], status: 'pending' as const };
    const changes = [{ path: `${stream.WORKSPACE}/calc.py`, kind: 'update' as const, diff: '', hunks: [hunk] }];
    const reason = 'You asked to apply a code block from the chat: review it change by change.';
    await deliver({ type: 'snapshot', state: { ...initialState('agent'), ...stream.snapshot } });
    await feed([
      {
        type: 'threadLoaded',
        thread: stream.thread,
        turns: [
          { id: 'turn_q', threadId: stream.thread.id, status: 'completed', items: [{ type: 'userMessage', id: 'item_q', content: [{ type: 'text', text: 'Why does add subtract?' }] }, { type: 'agentMessage', id: 'item_a', text: 'The bug is in `calc.py`:\n\n```python\ndef add(a, b):\n    return a + b\n```\n\nA helper to paste:\n\n```python\nHELPER = 42\n```' }] },
          { id: 'turn_apply', threadId: stream.thread.id, status: 'inProgress', items: [{ type: 'fileChange', id: 'item_apply', status: 'pending', reason, changes }] },
        ],
      },
      { type: 'approvalOpened', approval: { kind: 'fileChange', threadId: stream.thread.id, turnId: 'turn_apply', itemId: 'item_apply', changes, reason } },
    ]);
    await page.setViewportSize({ width: 420, height: 700 });
    try {
      await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
      const card = page.locator('.card.approval');
      const [cardBox, transcriptBox, composerBox, userBox] = await Promise.all([card.boundingBox(), page.locator('#transcript').boundingBox(), page.locator('.composer').boundingBox(), page.locator('.msg.user').boundingBox()]);
      assert.ok(cardBox && transcriptBox && composerBox && userBox);
      assert.ok(cardBox.y >= transcriptBox.y + transcriptBox.height - 0.5, 'the card is below the conversation, not over it');
      assert.ok(cardBox.y + cardBox.height <= composerBox.y + 0.5, 'and above the message box');
      const [textHeight, lineHeight] = await card.locator('.approval-text').evaluate((e) => [e.getBoundingClientRect().height, parseFloat(getComputedStyle(e).lineHeight) || parseFloat(getComputedStyle(e).fontSize) * 1.2]);
      assert.ok(textHeight! < lineHeight! * 1.5, `one line (${textHeight} px)`);
      const buttonBox = await card.getByRole('button', { name: 'Review' }).boundingBox();
      assert.ok(buttonBox && cardBox.height < buttonBox.height + 20, `the button on the same line (${cardBox.height} px)`);
      assert.ok(userBox.y >= transcriptBox.y && userBox.y + userBox.height <= cardBox.y, 'the newest user message is in sight, whole');
      assert.match((await card.textContent()) ?? '', /^1 proposed change in calc\.py/);
      await card.getByRole('button', { name: 'Review' }).click();
      assert.deepEqual((await posted()).at(-1), { type: 'reviewChange', itemId: 'item_apply' });
      await shot('review-bar');
    } finally {
      await page.setViewportSize({ width: 420, height: 760 });
    }
  });

  it('replays a turn recorded from the real backend (test/tools/record-stream.ts)', async () => {
    await deliver({ type: 'snapshot', state: { ...initialState('agent'), ...stream.snapshot } });
    await feed(recorded as stream.ChatEventList);
    const message = page.locator('.msg.agent').last();
    assert.equal(await message.locator('strong').textContent(), 'note one');
    assert.deepEqual(await message.locator('li').allTextContents(), ['notes.txt still has 12 notes', 'nothing else changed']);
    assert.equal(await page.locator('.card.reasoning summary').textContent(), 'Thought');
    assert.equal(await page.locator('.card.exploration > summary').textContent(), 'Read 1 file, searched 1 time, listed 1 folder');
    assert.equal(await page.locator('.plan .step').count(), 3);
    const row = await page.locator('.diff-card .file-row').evaluate((e) => Array.from(e.children, (c) => c.textContent?.trim()).join(' '));
    assert.equal(row, 'notes.txt +1 −1 1 applied');
    assert.equal(await page.locator('.diff-card').getByRole('button', { name: 'Undo all' }).count(), 1);
    const command = page.locator('.card.command');
    assert.match((await command.locator('.badge').textContent()) ?? '', /exit 0/);
    assert.equal(await command.locator('pre.output').textContent(), '12\n');
    assert.equal(await page.locator('#stop').isVisible(), false);
    await shot('recorded-turn');
  });
});
