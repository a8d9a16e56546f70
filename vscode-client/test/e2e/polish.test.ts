/** The chat panel's polish, end to end in code-server with the real backend: code blocks in a
 * reply are coloured and carry Copy / Insert at cursor / Apply, Apply becomes a per-hunk proposal
 * through the server (change/propose) that reaches the disk once accepted; who speaks is clear;
 * the mode and model pickers show whole names and what each mode allows. */
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PYTHON } from '../support/processes';
import { Workbench, codeLensRows, until } from '../support/workbench';

const CALC = 'def add(a, b):\n    return a - b\n\n\ndef mul(a, b):\n    return a * b\n';
const REPLY = 'The bug is in `calc.py`:\n\n```python\ndef add(a, b):\n    return a + b\n```\n\nA helper to paste:\n\n```python\nHELPER = 42\n```';

let wb: Workbench;

describe('the chat panel polish in code-server', { timeout: 300_000 }, () => {
  before(async () => {
    wb = await Workbench.start({
      files: { 'calc.py': CALC, 'notes.txt': 'first\n' },
      script: [{ text: REPLY }],
      models: ['scripted-model-with-a-long-name'],
      settings: (baseUrl, home) => ({ 'tether.pythonPath': PYTHON, 'tether.home': home, 'tether.baseUrl': baseUrl, 'tether.model': 'scripted-model-with-a-long-name', 'tether.defaultMode': 'agent' }),
    });
    await wb.openChat();
  });

  after(async () => {
    await wb?.close();
  });

  it('names who speaks and colours the code of the reply', async () => {
    await wb.send('Why does add subtract?');
    const reply = wb.chat().locator('.msg.agent', { hasText: 'The bug is in' });
    await reply.locator('.code-block .code-toolbar').first().waitFor({ timeout: 30_000 });
    assert.deepEqual(await wb.chat().locator('section.turn .speaker .name').allTextContents(), ['You', 'Tether']);
    const [user, agent] = await Promise.all([wb.chat().locator('.msg.user').boundingBox(), reply.boundingBox()]);
    assert.ok(user && agent && user.x > agent.x + 20, 'the user message sits on the right');
    const keyword = reply.locator('.code-block').first().locator('.hljs-keyword').first();
    assert.equal(await keyword.textContent(), 'def');
    const [keywordColour, textColour] = await Promise.all([keyword.evaluate((e) => getComputedStyle(e).color), reply.evaluate((e) => getComputedStyle(e).color)]);
    assert.notEqual(keywordColour, textColour, 'keywords take a colour of the theme');
    assert.equal(await reply.locator('.code-block').first().locator('.code-label').textContent(), 'python · calc.py');
    await wb.snap('polish-reply');
  });

  it('Apply proposes the block as a per-hunk edit through the server, even in agent mode', async () => {
    const block = wb.chat().locator('.code-block').first();
    await block.getByRole('button', { name: /^Apply to calc\.py/ }).click();
    await wb.page.locator('.editor.modified .codelens-decoration', { hasText: 'Accept' }).first().waitFor({ timeout: 60_000 });
    const card = wb.chat().locator('.card.approval', { hasText: /proposed changes? in/ });
    await card.waitFor();
    // The Apply turn is the user's act: a line says so, no second "Tether" header over it.
    const applyTurn = wb.chat().locator('section.turn', { has: wb.chat().locator('.apply-line') });
    assert.equal((await applyTurn.locator('.apply-line').textContent())?.trim(), 'Applied a code block to calc.py — review the changes');
    assert.equal(await applyTurn.locator('.speaker').count(), 0);
    // The review card stays out of the transcript: below it, above the message box, and the
    // question it answers is still in sight.
    const [cardBox, transcriptBox, composerBox, userBox] = await Promise.all([card.boundingBox(), wb.chat().locator('#transcript').boundingBox(), wb.chat().locator('.composer').boundingBox(), wb.chat().locator('.msg.user').last().boundingBox()]);
    assert.ok(cardBox && transcriptBox && composerBox && userBox);
    assert.ok(cardBox.y >= transcriptBox.y + transcriptBox.height - 0.5 && cardBox.y + cardBox.height <= composerBox.y + 0.5, 'the review card is between the transcript and the message box');
    assert.ok(userBox.y >= transcriptBox.y - 0.5 && userBox.y + userBox.height <= cardBox.y, 'the newest user message is not covered');
    assert.equal(readFileSync(join(wb.workspace, 'calc.py'), 'utf8'), CALC, 'nothing written before the review');
    // The review takes no message: Send waits for it, and says so.
    assert.equal(await wb.chat().locator('#send').isDisabled(), true);
    assert.equal(await wb.chat().locator('#send').getAttribute('title'), 'Accept or reject the proposed edit first');
    await wb.snap('polish-apply-review');
    const [first] = await codeLensRows(wb.page);
    await first!.locator('a', { hasText: 'Accept' }).click();
    await until('calc.py with the block merged in', () => readFileSync(join(wb.workspace, 'calc.py'), 'utf8') === CALC.replace('a - b', 'a + b'));
    await wb.chat().locator('.diff-card .file-row', { hasText: '1 applied' }).waitFor();
    await until('Send back once the review is done', async () => !(await wb.chat().locator('#send').isDisabled()));
    // Accepted in the review: the editor does not ask again with Undo | Keep (issue 16).
    await wb.runCommand('Go to File');
    await wb.page.keyboard.type('calc.py');
    await wb.page.locator('.quick-input-list .monaco-list-row', { hasText: 'calc.py' }).first().click();
    const editor = wb.page.locator('.editor-instance .monaco-editor', { has: wb.page.locator('.view-line', { hasText: 'return a + b' }) }).first();
    await editor.waitFor({ timeout: 30_000 });
    await wb.snap('polish-applied');
    assert.equal(await editor.locator('.codelens-decoration', { hasText: 'Keep' }).count(), 0);
  });

  it('Insert at cursor puts the block where the cursor is in the editor', async () => {
    await wb.runCommand('Go to File');
    await wb.page.keyboard.type('notes.txt');
    await wb.page.locator('.quick-input-list .monaco-list-row', { hasText: 'notes.txt' }).first().click();
    const editor = wb.page.locator('.editor-instance .monaco-editor', { has: wb.page.locator('.view-line', { hasText: 'first' }) }).first();
    await editor.waitFor({ timeout: 30_000 });
    await editor.locator('.view-line', { hasText: 'first' }).click();
    await wb.page.keyboard.press('End');
    await wb.page.keyboard.press('Enter');
    const block = wb.chat().locator('.code-block').nth(1);
    await block.getByRole('button', { name: 'Insert at cursor' }).click();
    await editor.locator('.view-line', { hasText: 'HELPER = 42' }).waitFor({ timeout: 15_000 });
    await block.getByRole('button', { name: 'Copy' }).click();
    await block.getByRole('button', { name: 'Copied' }).waitFor();
  });

  it('picks a mode from a list that says what each allows, and shows whole names', async () => {
    const mode = wb.chat().locator('#mode');
    await mode.click();
    const list = wb.chat().locator('#mode-list');
    await list.waitFor();
    assert.match((await list.locator('[data-value=readOnly] .picker-option-detail').textContent()) ?? '', /^Reads freely; asks before any edit or command$/);
    await wb.snap('polish-mode-picker');
    await list.locator('[data-value=readOnly]').click();
    await until('the panel to show readOnly', async () => (await mode.getAttribute('data-value')) === 'readOnly');
    await wb.page.locator('.statusbar-item', { hasText: 'Tether: Read-only' }).waitFor();
    for (const id of ['#mode', '#model']) {
      const [scroll, client] = await wb.chat().locator(`${id} .picker-label`).evaluate((e) => [e.scrollWidth, e.clientWidth]);
      assert.ok(scroll <= client, `${id} cuts its text`);
    }
    assert.equal(await wb.chat().locator('#model .picker-label').textContent(), 'scripted-model-with-a-long-name');
  });
});
