/** The editor side of Tether, end to end in code-server (issue 16): inline chat (Ctrl+I on a
 * selection, answered by a proposal in place even in agent mode), the note of what an applied
 * hunk replaced (in the CodeLens row and a hover, clear of the minimap), "Review Changes of This
 * Turn" (every file of a turn in one multi-diff editor, from the palette and from the chat), and
 * the backend venv the extension makes for itself from the lock when no Python is configured.
 * Each test failed before its feature. */
import { strict as assert } from 'node:assert';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseLock, runtimeRequirements } from '../../src/backend/lock';
import { run } from '../../src/backend/python';
import { PYTHON, REPO } from '../support/processes';
import { Workbench, codeLensRows, until } from '../support/workbench';

const CALC = 'def add(a, b):\n    return a + b\n\n\ndef divide(a, b):\n    return a / b\n';
const LONG_LINE = `MESSAGE = "${'a rather long greeting that goes on and on, '.repeat(7).trim()}"`;
const NOTES = 'one\ntwo\nthree\n';

const SCRIPT = [
  // The inline request on calc.py's line 5-6.
  { tool_calls: [{ name: 'edit_file', arguments: { path: 'calc.py', old_string: '    return a / b', new_string: '    if b == 0:\n        raise ZeroDivisionError("b is zero")\n    return a / b' } }] },
  { text: 'Guarded the division.' },
  // An agent edit replacing a long line, in an open editor.
  { tool_calls: [{ name: 'apply_patch', arguments: { patch: ['*** Begin Patch', '*** Update File: long.py', '@@', `-${LONG_LINE}`, '+MESSAGE = "hi"', '*** End Patch'].join('\n') } }] },
  { text: 'Shortened the greeting.' },
  // A turn that changes files through an edit and through a command.
  { tool_calls: [{ name: 'apply_patch', arguments: { patch: ['*** Begin Patch', '*** Update File: notes.txt', '@@', ' one', '-two', '+TWO', ' three', '*** End Patch'].join('\n') } }] },
  { tool_calls: [{ name: 'shell', arguments: { command: "printf 'made by a command\\n' > fresh.txt" } }] },
  { text: 'Tidied the notes and made fresh.txt.' },
  // An inline question the model answers without an edit.
  { text: 'That line is fine as it is.' },
];

let wb: Workbench;

async function openFile(name: string): Promise<void> {
  await wb.runCommand('Go to File...');
  const input = wb.page.locator('.quick-input-widget input');
  await input.fill(name);
  await wb.page.locator('.quick-input-list .monaco-list-row', { hasText: name }).first().click();
  await wb.page.locator('.tab.active', { hasText: name }).waitFor();
  await wb.page.locator('.editor-instance .monaco-editor.focused').waitFor();
}

async function goToLine(line: number): Promise<void> {
  await wb.page.keyboard.press('Control+G');
  await wb.page.keyboard.type(String(line));
  await wb.page.keyboard.press('Enter');
}

describe('the editor side of Tether in code-server', { timeout: 300_000 }, () => {
  before(async () => {
    wb = await Workbench.start({
      files: { 'calc.py': CALC, 'long.py': `${LONG_LINE}\nprint(MESSAGE)\n`, 'notes.txt': NOTES },
      script: SCRIPT,
      settings: (baseUrl, home) => ({
        'tether.pythonPath': PYTHON,
        'tether.baseUrl': baseUrl,
        'tether.model': 'scripted-model',
        'tether.wireApi': 'responses',
        'tether.home': home,
        'tether.defaultMode': 'agent',
      }),
      env: { ...process.env, OPENAI_API_KEY: 'sk-e2e-test' },
    });
    await wb.openChat();
  });

  after(async () => {
    await wb?.close();
  });

  it('changes a selection from Ctrl+I as a proposal in place, even in agent mode', async () => {
    try {
      await openFile('calc.py');
      await goToLine(5);
      await wb.page.keyboard.press('Shift+ArrowDown');
      await wb.page.keyboard.press('Shift+End');
      await wb.page.keyboard.press('Control+I');
      const input = wb.page.locator('.quick-input-widget input');
      await wb.page.locator('.quick-input-widget', { hasText: 'Tether: change lines 5–6 of calc.py' }).waitFor({ timeout: 15_000 });
      await input.fill('guard against b == 0');
      await wb.snap('inline-input');
      await input.press('Enter');
      // The proposal replaces the editor in its group, focused and scrolled to the change.
      const tab = wb.page.locator('.tab.active', { hasText: 'calc.py (Tether proposal: 1 change)' });
      await tab.waitFor({ timeout: 60_000 });
      assert.equal(await wb.page.locator('.editor-group-container').count(), 1, 'no second editor group');
      await wb.page.locator('.monaco-diff-editor .editor.modified .monaco-editor.focused').waitFor();
      await wb.page.locator('.editor.modified .codelens-decoration', { hasText: 'Accept' }).first().waitFor();
      assert.equal(readFileSync(join(wb.workspace, 'calc.py'), 'utf8'), CALC, 'agent mode, and still nothing written before the review');
      await wb.chat().locator('.msg.user', { hasText: 'guard against b == 0' }).locator('.chip', { hasText: 'calc.py:5-6' }).waitFor();
      await wb.snap('inline-proposal');
      const [lens] = await codeLensRows(wb.page);
      await lens!.locator('a', { hasText: 'Accept' }).click();
      await until('the accepted change on disk', () => readFileSync(join(wb.workspace, 'calc.py'), 'utf8').includes('raise ZeroDivisionError'));
      // Decided: the diff closes back to the editor the request came from.
      await wb.page.locator('.tab.active', { hasText: /^\s*calc\.py/ }).filter({ hasNotText: 'proposal' }).waitFor({ timeout: 15_000 });
      await wb.chat().locator('.msg.agent', { hasText: 'Guarded the division.' }).waitFor({ timeout: 30_000 });
      await wb.page.locator('.notification-toast', { hasText: 'Tether is changing' }).waitFor({ state: 'detached', timeout: 15_000 });
    } catch (err) {
      await wb.snap('inline-failed');
      throw err;
    }
  });

  it('notes what an applied hunk replaced in its CodeLens row and hover, clear of the minimap', async () => {
    try {
      await wb.runCommand('View: Close All Editors');
      await openFile('long.py');
      await wb.send('Shorten the greeting');
      const note = wb.page.locator('.editor-instance .codelens-decoration', { hasText: 'Tether replaced 1 line' });
      await note.waitFor({ timeout: 60_000 });
      const lens = (await note.locator('span, a', { hasText: 'Tether replaced 1 line' }).last().boundingBox())!;
      const minimap = (await wb.page.locator('.editor-instance .minimap').first().boundingBox())!;
      assert.ok(lens.x + lens.width <= minimap.x, `the note (${lens.x}+${lens.width}) ends left of the minimap (${minimap.x})`);
      assert.equal(await wb.page.locator('.editor-instance .view-line', { hasText: 'Tether replaced' }).count(), 0, 'no note at the end of a code line');
      // Over the text itself: past its end the line has no hover.
      await wb.page.locator('.editor-instance .view-line', { hasText: 'MESSAGE = "hi"' }).locator('span span', { hasText: 'MESSAGE' }).first().hover();
      const hover = wb.page.locator('.monaco-hover', { hasText: 'Tether replaced 1 line:' });
      await hover.waitFor({ timeout: 15_000 });
      assert.match((await hover.textContent()) ?? '', /a rather long greeting that goes on and on/);
      await wb.snap('applied-note');
      await wb.page.keyboard.press('Escape');
    } catch (err) {
      await wb.snap('applied-note-failed');
      throw err;
    }
  });

  it('reviews every file of the last turn in one multi-diff editor, as the turn left them', async () => {
    try {
      await wb.send('Tidy the notes');
      await wb.chat().locator('.msg.agent', { hasText: 'Tidied the notes' }).waitFor({ timeout: 60_000 });
      writeFileSync(join(wb.workspace, 'notes.txt'), 'the user rewrote this later\n');
      await wb.runCommand('Tether: Review Changes of This Turn');
      const editor = wb.page.locator('.multiDiffEditor');
      await wb.page.locator('.tab.active', { hasText: 'Tether: changes of “Tidy the notes” (2 files)' }).waitFor({ timeout: 30_000 });
      await editor.locator('.multiDiffEntry', { hasText: 'notes.txt' }).waitFor();
      await editor.locator('.multiDiffEntry', { hasText: 'fresh.txt' }).waitFor();
      const notes = editor.locator('.multiDiffEntry', { hasText: 'notes.txt' });
      await notes.locator('.editor.original .view-line', { hasText: 'two' }).first().waitFor();
      await notes.locator('.editor.modified .view-line', { hasText: 'TWO' }).first().waitFor();
      assert.equal(await editor.locator('.view-line', { hasText: 'the user rewrote this later' }).count(), 0, 'what the turn left, not the disk');
      await editor.locator('.multiDiffEntry', { hasText: 'fresh.txt' }).locator('.editor.modified .view-line', { hasText: 'made by a command' }).waitFor();
      await wb.snap('turn-review');
    } catch (err) {
      await wb.snap('turn-review-failed');
      throw err;
    }
  });

  it('tells an inline answer without an edit where the user is', async () => {
    await wb.runCommand('View: Close All Editors');
    await openFile('calc.py');
    await goToLine(2);
    await wb.page.keyboard.press('Control+I');
    const input = wb.page.locator('.quick-input-widget input');
    await wb.page.locator('.quick-input-widget', { hasText: 'Tether: change line 2 of calc.py' }).waitFor({ timeout: 15_000 });
    await input.fill('is this right?');
    await input.press('Enter');
    const toast = wb.page.locator('.notification-toast', { hasText: 'Tether: That line is fine as it is.' });
    await toast.waitFor({ timeout: 60_000 });
    await toast.locator('a.monaco-button', { hasText: 'Open Chat' }).waitFor();
    await wb.page.locator('.notification-toast', { hasText: 'Tether is changing' }).waitFor({ state: 'detached', timeout: 15_000 });
    await wb.snap('inline-answer');
    assert.equal(readFileSync(join(wb.workspace, 'calc.py'), 'utf8').includes('raise ZeroDivisionError'), true, 'calc.py as the first request left it');
  });

  it("opens a turn's review from its Review changes button in the chat", async () => {
    await wb.runCommand('View: Close All Editors');
    const first = wb.chat().locator('.turn').first();
    await first.locator('button.review-turn').click();
    await wb.page.locator('.tab.active', { hasText: 'Tether: changes of “guard against b == 0” (1 file)' }).waitFor({ timeout: 30_000 });
    await wb.page.locator('.multiDiffEditor .multiDiffEntry', { hasText: 'calc.py' }).locator('.editor.modified .view-line', { hasText: 'raise ZeroDivisionError' }).waitFor();
  });
});

describe('the backend venv the extension makes for itself in code-server', { timeout: 400_000 }, () => {
  let fresh: Workbench;
  before(async () => {
    fresh = await Workbench.start({
      files: { 'hello.txt': 'hello\n' },
      script: [{ text: 'Hello from the backend in its own venv.' }],
      // No tether.pythonPath: a user who installed only the extension.
      settings: (baseUrl, home) => ({ 'tether.baseUrl': baseUrl, 'tether.model': 'scripted-model', 'tether.wireApi': 'responses', 'tether.home': home }),
      env: { ...process.env, OPENAI_API_KEY: 'sk-e2e-test' },
    });
  });

  after(async () => {
    await fresh?.close();
  });

  it('installs the locked runtime versions with progress shown, then the backend answers', async () => {
    try {
      await fresh.page.locator('.notification-toast', { hasText: 'setting up the Python backend' }).waitFor({ timeout: 60_000 });
      await fresh.snap('venv-progress');
      const venv = join(fresh.userDataDir, 'User', 'globalStorage', 'tether.tether', 'venv');
      await until('the venv to be complete', () => existsSync(join(venv, '.tether-backend-version')), 300_000);
      await fresh.openChat();
      await fresh.send('Say hello');
      await fresh.chat().locator('.msg.agent', { hasText: 'Hello from the backend in its own venv.' }).waitFor({ timeout: 60_000 });
      const freeze = await run(join(venv, 'bin', 'python'), ['-m', 'pip', 'freeze', '--all', '--exclude', 'pip', '--exclude', 'tether']);
      const installed = freeze.output.trim().split('\n').map((line) => line.toLowerCase().replace(/[-_.]+(?=[^=]*==)/g, '-')).sort();
      const lock = runtimeRequirements(readFileSync(join(REPO, 'requirements.lock.txt'), 'utf8'), readFileSync(join(REPO, 'pyproject.toml'), 'utf8'));
      // The lock's lines for this platform, as pip freeze writes them.
      const wanted = parseLock(lock)
        .filter((e) => !/sys_platform == '(win32|emscripten)'/.test(e.text.split('\n')[0]!))
        .map((e) => `${e.name}==${/==([^\s;\\]+)/.exec(e.text)![1]!}`)
        .sort();
      assert.deepEqual(installed, wanted);
    } catch (err) {
      await fresh.snap('venv-failed');
      throw new Error(`${String(err)}\ncode-server:\n${fresh.log()}`);
    }
  });
});
