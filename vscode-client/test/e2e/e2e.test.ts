/** End to end in real VS Code (code-server from npm) with the packaged .vsix installed, the real
 * backend from the repository's .venv and the scripted model server, driven by playwright-core:
 * a streamed answer, a readOnly edit proposal reviewed hunk by hunk (checked on disk), and a
 * command approved from the notification. */
import { strict as assert } from 'node:assert';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, FrameLocator, Page } from 'playwright-core';
import { launchChromium } from '../support/browser';
import { ARTIFACTS } from '../support/screenshots';
import { codeLensRows, freePort, until } from '../support/workbench';
import { NODE24, PYTHON, REPO, type Started, type StartedWithMatch, codeServerArgs, installExtension, killGroup, startUntil, writeUserSettings } from '../support/processes';

const NOTES = Array.from({ length: 30 }, (_, i) => `note ${i + 1}`);
const GREETING = 'Hello from the scripted model: streaming works end to end.';
const MARKER = 'made-by-tether.txt';
const SECOND_MARKER = 'allowed-by-rule.txt';

// The model's side of the conversation, one entry per model request the backend makes.
const SCRIPT = [
  { text: GREETING, deltas: 14, delay: 0.12 },
  {
    tool_calls: [
      {
        name: 'apply_patch',
        arguments: {
          patch: ['*** Begin Patch', '*** Update File: notes.txt', '@@', ' note 2', '-note 3', '+note three', ' note 4', '@@', ' note 26', '-note 27', '+note twenty-seven', ' note 28', '*** End Patch'].join('\n'),
        },
      },
    ],
  },
  { text: 'I proposed two edits to notes.txt.' },
  { tool_calls: [{ name: 'shell', arguments: { command: `touch ${MARKER}` } }] },
  { text: 'The marker file is there.' },
  {
    tool_calls: [
      { name: 'apply_patch', arguments: { patch: ['*** Begin Patch', '*** Update File: notes.txt', '@@', '-note 1', '+note one', ' note 2', '*** End Patch'].join('\n') } },
    ],
  },
  { text: 'Numbered the first note.' },
  { text: 'Once upon a time there was a very long story that never seemed to end, and it went on and on. '.repeat(6), deltas: 60, delay: 0.5 },
  { echo: true },
  { tool_calls: [{ name: 'shell', arguments: { command: `touch ${SECOND_MARKER}` } }] },
  { text: 'Allowed from now on.' },
  { tool_calls: [{ name: 'shell', arguments: { command: 'sleep 4' } }] },
  { text: 'Steered: I will count the notes too.' },
];

let tmp: string;
let workspace: string;
let modelServer: StartedWithMatch | undefined;
let codeServer: Started | undefined;
let browser: Browser | undefined;
let page: Page;

async function snap(name: string): Promise<void> {
  await page.screenshot({ path: join(ARTIFACTS, `e2e-${name}.png`) }).catch(() => undefined);
}

/** The chat panel's content frame (VS Code nests a webview in two iframes). */
function chat(): FrameLocator {
  return page.frameLocator('iframe.webview.ready').frameLocator('#active-frame');
}

async function send(text: string): Promise<void> {
  const prompt = chat().locator('#prompt');
  await prompt.fill(text);
  await prompt.press('Enter');
}

describe('Tether in code-server', { timeout: 300_000 }, () => {
  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'tether-e2e-'));
    workspace = join(tmp, 'workspace');
    const extensionsDir = join(tmp, 'extensions');
    const userDataDir = join(tmp, 'user-data');
    const scriptFile = join(tmp, 'script.json');
    writeFileSync(scriptFile, JSON.stringify(SCRIPT));
    rmSync(workspace, { recursive: true, force: true });
    mkdirSync(workspace);
    writeFileSync(join(workspace, 'notes.txt'), `${NOTES.join('\n')}\n`);

    modelServer = await startUntil(PYTHON, ['-m', 'tests.model_server', '--port', '0', '--script', scriptFile, '--echo'], { cwd: REPO, ready: /^(http:\/\/\S+)\s*$/m, timeoutMs: 30_000 });
    const baseUrl = modelServer.match[1]!;
    await installExtension(extensionsDir, userDataDir);
    writeUserSettings(userDataDir, {
      'tether.pythonPath': PYTHON,
      'tether.baseUrl': baseUrl,
      'tether.model': 'scripted-model',
      'tether.wireApi': 'responses',
      'tether.home': join(tmp, 'tether-home'),
      'tether.defaultMode': 'agent',
    });
    const port = await freePort();
    codeServer = await startUntil(NODE24, codeServerArgs(port, extensionsDir, userDataDir, join(tmp, 'config.yaml'), workspace), {
      env: { ...process.env, OPENAI_API_KEY: 'sk-e2e-test', PYTHONPATH: REPO },
      ready: /HTTP server listening on/,
      timeoutMs: 60_000,
    });
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    await page.goto(`http://127.0.0.1:${port}/?folder=${encodeURIComponent(workspace)}`);
    await page.locator('.monaco-workbench').waitFor({ timeout: 60_000 });
  });

  after(async () => {
    await browser?.close().catch(() => undefined);
    killGroup(codeServer);
    killGroup(modelServer);
    if (tmp && process.env.KEEP_E2E_TMP !== '1') rmSync(tmp, { recursive: true, force: true });
  });

  it('opens the chat panel and streams an answer from the model', async () => {
    try {
      await page.locator('.activitybar .action-item a[aria-label^="Tether"]').click();
      await chat().locator('#prompt').waitFor({ timeout: 60_000 });
      await chat().locator('#banner').waitFor({ state: 'hidden', timeout: 60_000 });
      await send('Say hello');
      // The class is on while deltas arrive and off once the turn completes.
      await chat().locator('.msg.agent.streaming').waitFor({ timeout: 30_000 });
      await snap('streaming');
      await until('the full answer', async () => ((await chat().locator('.msg.agent').last().textContent())?.includes(GREETING) ? true : undefined));
      await chat().locator('.msg.agent.streaming').waitFor({ state: 'detached' });
      // tether.model from settings.json at start-up is what the request carries (issue 16, bug 1).
      assert.match(modelServer!.output(), /^model request #0 \/v1\/responses model=scripted-model /m);
      assert.equal(await chat().locator('#model').getAttribute('data-value'), 'scripted-model');
      await snap('answered');
    } catch (err) {
      await snap('answer-failed');
      throw new Error(`${String(err)}\ncode-server:\n${codeServer?.log()}`);
    }
  });

  it('switches to readOnly from the panel and the status bar follows', async () => {
    await chat().locator('#mode').click();
    await chat().locator('#mode-list [data-value=readOnly]').click();
    await until('the panel to show readOnly', async () => ((await chat().locator('#mode').getAttribute('data-value')) === 'readOnly' ? true : undefined));
    await page.locator('.statusbar-item', { hasText: 'Tether: Read-only' }).waitFor();
  });

  it('proposes an edit in a diff; one hunk accepted and one rejected reach the disk', async () => {
    try {
      await send('Tidy notes.txt');
      await page.locator('.editor.modified .codelens-decoration', { hasText: 'Accept' }).first().waitFor({ timeout: 60_000 });
      await chat().locator('.card.approval', { hasText: /proposed changes? in/ }).waitFor();
      await snap('proposal');
      // The user was typing in the chat box: the diff must not have taken the keyboard.
      assert.equal(await page.evaluate(() => document.activeElement?.tagName), 'IFRAME', 'the focus stays in the chat panel');
      const [first] = await codeLensRows(page);
      await first!.locator('a', { hasText: 'Accept' }).click();
      await page.locator('.editor.modified .codelens-decoration', { hasText: 'Accepted' }).waitFor();
      const rows = await codeLensRows(page);
      const pending = rows[rows.length - 1]!;
      await pending.locator('a', { hasText: 'Reject' }).click();
      const expected = NOTES.map((line) => (line === 'note 3' ? 'note three' : line)).join('\n') + '\n';
      await until('notes.txt with only the accepted hunk', () => (readFileSync(join(workspace, 'notes.txt'), 'utf8') === expected ? true : undefined));
      await chat().locator('.diff-card .file-row', { hasText: '1 applied' }).waitFor();
      await chat().locator('.msg.agent', { hasText: 'I proposed two edits' }).waitFor();
      await snap('proposal-decided');
    } catch (err) {
      await snap('proposal-failed');
      throw err;
    }
  });

  it('runs a command approved from the notification', async () => {
    try {
      await send('Create the marker file');
      const toast = page.locator('.notification-toast', { hasText: 'Tether wants to run' });
      await toast.waitFor({ timeout: 60_000 });
      await chat().locator('.card.approval', { hasText: `touch ${MARKER}` }).waitFor();
      await snap('command-approval');
      // At most three buttons, none cut: each as wide as its label needs (scrollWidth rounds
      // a 0.3 px shortfall away, so compare with an unconstrained copy of the label).
      const buttons = toast.locator('a.monaco-button');
      assert.deepEqual((await buttons.allTextContents()).map((t) => t.trim()), ['Run', 'Run for session', 'More…']);
      const short = await buttons.evaluateAll((els) =>
        els.flatMap((el) => {
          const copy = el.cloneNode(true) as HTMLElement;
          copy.style.cssText = 'position:absolute;visibility:hidden;width:auto;max-width:none;white-space:nowrap';
          el.parentElement!.append(copy);
          const need = copy.getBoundingClientRect().width;
          copy.remove();
          return el.getBoundingClientRect().width + 0.01 < need ? [`${el.textContent}: ${el.getBoundingClientRect().width} < ${need}`] : [];
        }),
      );
      assert.deepEqual(short, []);
      assert.doesNotMatch((await toast.textContent()) ?? '', /`/);
      await buttons.filter({ hasText: /^Run$/ }).click();
      await until('the marker file', () => (existsSync(join(workspace, MARKER)) ? true : undefined));
      await chat().locator('.card.command .badge', { hasText: 'exit 0' }).waitFor();
      await chat().locator('.msg.agent', { hasText: 'The marker file is there.' }).waitFor();
      assert.equal(await chat().locator('.card.approval').count(), 0);
      await snap('command-done');
    } catch (err) {
      await snap('command-failed');
      throw err;
    }
  });

  it('switches to agent from the status bar; an applied hunk is undone from the editor', async () => {
    try {
      await page.locator('.statusbar-item', { hasText: 'Tether: Read-only' }).click();
      await page.locator('.quick-input-list .monaco-list-row .label-name', { hasText: /^\s*Agent$/ }).click();
      await until('the panel to show agent', async () => ((await chat().locator('#mode').getAttribute('data-value')) === 'agent' ? true : undefined));
      // Open notes.txt from the diff card: applied edits are marked only where the user looks.
      await chat().locator('.diff-card .file-row button', { hasText: 'notes.txt' }).first().click();
      await page.locator('.tab', { hasText: 'notes.txt' }).first().waitFor();
      const before = readFileSync(join(workspace, 'notes.txt'), 'utf8');
      await send('Number the first note');
      await until('the agent edit on disk', () => (readFileSync(join(workspace, 'notes.txt'), 'utf8').startsWith('note one\n') ? true : undefined));
      // The lens right above "note one" belongs to this edit (the accepted proposal may have one too).
      const lens = await until('an Undo lens above the edited line', async () => {
        const line = await page.locator('.editor-instance .view-line', { hasText: 'note one' }).boundingBox();
        if (!line) return undefined;
        for (const row of await codeLensRows(page, '.editor-instance')) {
          const box = await row.boundingBox();
          if (box && box.y < line.y && box.y > line.y - 40 && (await row.textContent())?.includes('Undo')) return row;
        }
        return undefined;
      });
      await snap('applied-edit');
      await lens.locator('a', { hasText: 'Undo' }).click();
      await until('the hunk undone on disk', () => (readFileSync(join(workspace, 'notes.txt'), 'utf8') === before ? true : undefined));
      await chat().locator('.diff-card .file-row', { hasText: '1 undone' }).waitFor();
    } catch (err) {
      await snap('applied-failed');
      throw err;
    }
  });

  it('stops a streaming answer with the stop button', async () => {
    await send('Tell me a long story');
    await chat().locator('.msg.agent.streaming', { hasText: 'Once upon a time' }).waitFor({ timeout: 30_000 });
    await chat().locator('#stop').click();
    await chat().locator('.turn .note', { hasText: 'Stopped.' }).waitFor({ timeout: 30_000 });
    assert.equal(await chat().locator('#stop').isVisible(), false);
    await snap('stopped');
  });

  it('attaches a workspace file with @ and sends it with the message', async () => {
    const prompt = chat().locator('#prompt');
    await prompt.click();
    await prompt.pressSequentially('What is in @note');
    await chat().locator('#mentions li', { hasText: 'notes.txt' }).waitFor({ timeout: 15_000 });
    await prompt.press('Enter');
    assert.equal(await prompt.inputValue(), 'What is in @notes.txt ');
    await prompt.press('Enter');
    await chat().locator('.msg.user', { hasText: 'What is in @notes.txt' }).locator('.chip', { hasText: 'notes.txt' }).waitFor();
    await chat().locator('#stop').waitFor({ state: 'hidden', timeout: 30_000 });
  });

  it('lists the thread in the history and reopens it', async () => {
    await chat().locator('#new-thread').click();
    await chat().locator('#empty').waitFor();
    await chat().locator('#history-button').click();
    const entry = chat().locator('.history-entry').first();
    await entry.waitFor();
    await entry.click();
    await chat().locator('.msg.agent', { hasText: GREETING }).waitFor({ timeout: 15_000 });
    assert.equal(await chat().locator('#mode').getAttribute('data-value'), 'agent');
    await snap('reopened');
  });

  it('always allows a command through a suggested rule saved in the workspace', async () => {
    try {
      await chat().locator('#mode').click();
    await chat().locator('#mode-list [data-value=readOnly]').click();
      await until('readOnly', async () => ((await chat().locator('#mode').getAttribute('data-value')) === 'readOnly' ? true : undefined));
      await send('Create the second marker');
      const toast = page.locator('.notification-toast', { hasText: `touch ${SECOND_MARKER}` });
      await toast.waitFor({ timeout: 60_000 });
      await toast.locator('a.monaco-button', { hasText: 'More…' }).click();
      await page.locator('.quick-input-list .monaco-list-row', { hasText: 'Always allow' }).click();
      const rules = page.locator('.quick-input-widget .quick-input-list .monaco-list-row');
      await rules.first().waitFor();
      await snap('always-allow-rules');
      await rules.first().click();
      await page.locator('.quick-input-list .monaco-list-row', { hasText: 'This workspace' }).click();
      await until('the second marker', () => (existsSync(join(workspace, SECOND_MARKER)) ? true : undefined));
      const saved = readFileSync(join(workspace, '.tether', 'rules.toml'), 'utf8');
      assert.match(saved, /"touch"/);
      assert.match(saved, /allow/);
      await chat().locator('.msg.agent', { hasText: 'Allowed from now on.' }).waitFor();
    } catch (err) {
      await snap('always-allow-failed');
      throw err;
    }
  });

  it('steers a running turn: the message joins it at the next model call', async () => {
    await chat().locator('#mode').click();
    await chat().locator('#mode-list [data-value=agent]').click();
    await until('agent', async () => ((await chat().locator('#mode').getAttribute('data-value')) === 'agent' ? true : undefined));
    await send('Wait a moment');
    await chat().locator('.card.command', { hasText: 'sleep 4' }).locator('.badge', { hasText: 'running' }).waitFor({ timeout: 30_000 });
    assert.equal((await chat().locator('#send').textContent())?.trim(), 'Steer');
    await send('Also count the notes');
    const turn = chat().locator('.turn').last();
    await turn.locator('.msg.agent', { hasText: 'Steered: I will count the notes too.' }).waitFor({ timeout: 30_000 });
    assert.deepEqual(await turn.locator('.msg.user').allTextContents(), ['Wait a moment', 'Also count the notes']);
    await snap('steered');
  });
});
