/** Code review in the editor (issue 20), end to end in code-server, on a git workspace with
 * planted bugs; the scripted model answers each review turn with findings JSON (a finding off the
 * diff would be dropped by the server, so a thread that shows also proves the target's diff).
 * Each finding becomes a comment thread on its lines, listed in the Comments panel (and, with
 * tether.review.showInProblems on, the Problems panel); Dismiss
 * resolves a thread (it stays, resolved); "Apply suggestion" and "Fix with Tether" bring per-hunk
 * proposals that write only once accepted; a second review of the same target replaces the
 * threads of the first; "Review Against Branch…" and "Review Commit…" pick from the repository's
 * branches and recent commits; "Review this turn" in the chat reviews what one turn changed;
 * after a reload the latest review of each target comes back, dismissed findings resolved. */
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Locator } from 'playwright-core';
import { PYTHON } from '../support/processes';
import { Workbench, codeLensRows, until } from '../support/workbench';

const BEFORE = 'def add(a, b):\n    return a + b\n\n\ndef mean(xs):\n    return sum(xs) / len(xs)\n';
const AFTER = 'def add(a, b):\n    return a - b\n\n\ndef mean(xs):\n    return sum(xs) / (len(xs) - 1)\n';
const TAX_BASE = 'def tax(x):\n    return x * 0.2\n';
const TAX_RAISED = 'def tax(x):\n    return x * 20\n';

function finding(title: string, path: string, line: number, priority = 1, suggestion: string | null = null): Record<string, unknown> {
  return { title, body: `Body of ${title}.`, priority, confidence_score: 0.9, path, line_start: line, line_end: line, suggestion };
}

function review(...findings: Record<string, unknown>[]): { text: string } {
  return { text: JSON.stringify({ findings, overall_correctness: 'patch is incorrect', overall_explanation: 'Planted bugs.', overall_confidence_score: 0.8 }) };
}

// One reply per model request, in the order the tests below make them.
const SCRIPT = [
  // Review Uncommitted Changes.
  review(
    { ...finding('add subtracts', 'calc.py', 2, 1, '    return a + b'), body: '`add` now returns **a - b**.' },
    finding('mean divides by n - 1', 'calc.py', 6, 2),
  ),
  // The same review again, after the suggestion was applied.
  review(finding('mean still divides by n - 1', 'calc.py', 6, 1)),
  // "Fix with Tether" on it.
  { tool_calls: [{ name: 'edit_file', arguments: { path: 'calc.py', old_string: '(len(xs) - 1)', new_string: 'len(xs)' } }] },
  { text: 'Fixed mean.' },
  // Review Against Branch… release: the diff since the merge-base holds the raised tax.
  review(finding('branch: tax is 100 times too high', 'tax.py', 2)),
  // A chat turn that changes tax.py, then "Review this turn" on it.
  { tool_calls: [{ name: 'edit_file', arguments: { path: 'tax.py', old_string: 'def tax(x):\n', new_string: 'def tax(x):\n    """The tax on x, in percent."""\n' } }] },
  { text: 'Documented tax.' },
  review(finding('turn: the docstring says percent', 'tax.py', 2, 2)),
  // Review Commit… "raise the tax": line 2 of the commit's tax.py, line 3 since the turn.
  review(finding('commit: tax is 100 times too high', 'tax.py', 2)),
];

let wb: Workbench;

const threads = (): Locator => wb.page.locator('.review-widget');
const thread = (title: string): Locator => threads().filter({ hasText: title });
const panelRow = (title: string): Locator => wb.page.locator('.comments-panel .monaco-list-row', { hasText: title });
const problemRow = (title: string): Locator => wb.page.locator('.markers-panel .monaco-list-row', { hasText: title });

async function lineTop(text: string): Promise<number> {
  return (await wb.page.locator('.editor-instance .view-line', { hasText: text }).first().boundingBox())!.y;
}

async function widgetTop(title: string): Promise<number> {
  return (await thread(title).first().boundingBox())!.y;
}

/** Accepts the one change of the open proposal, as the user does from its CodeLens row. */
async function acceptProposal(file: string): Promise<void> {
  await wb.page.locator('.tab.active', { hasText: `${file} (Tether proposal: 1 change)` }).waitFor({ timeout: 60_000 });
  await wb.page.locator('.editor.modified .codelens-decoration', { hasText: 'Accept' }).first().waitFor();
  const [lens] = await codeLensRows(wb.page);
  await lens!.locator('a', { hasText: 'Accept' }).click();
}

/** The rows of the open QuickPick once it shows `title` and `first`, as "label description". */
async function pickerRows(title: string, first: string): Promise<string[]> {
  await wb.page.locator('.quick-input-widget', { hasText: title }).waitFor({ timeout: 15_000 });
  const rows = wb.page.locator('.quick-input-list .monaco-list-row');
  // The list's rows are reused from the command palette: wait for this pick's own.
  await rows.locator('.label-name', { hasText: first }).first().waitFor();
  const labels = await rows.locator('.label-name').allTextContents();
  const descriptions = await rows.evaluateAll((els) => els.map((el) => el.querySelector('.label-description')?.textContent ?? ''));
  return labels.map((label, i) => `${label} ${descriptions[i] ?? ''}`.trim());
}

async function step(name: string, body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (err) {
    await wb.snap(`review-${name}-failed`);
    throw err;
  }
}

describe('code review findings as comment threads in code-server', { timeout: 600_000 }, () => {
  before(async () => {
    wb = await Workbench.start({
      files: { 'calc.py': BEFORE, 'tax.py': TAX_BASE },
      script: SCRIPT,
      settings: (baseUrl, home) => ({ 'tether.pythonPath': PYTHON, 'tether.baseUrl': baseUrl, 'tether.model': 'scripted-model', 'tether.wireApi': 'responses', 'tether.home': home, 'tether.defaultMode': 'agent', 'tether.review.showInProblems': true }),
      env: { ...process.env, OPENAI_API_KEY: 'sk-e2e-test' },
    });
    const git = (...args: string[]): void => void execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', ...args], { cwd: wb.workspace });
    git('init', '-q', '-b', 'main');
    git('add', 'calc.py', 'tax.py');
    git('commit', '-qm', 'base');
    git('branch', 'release');
    writeFileSync(join(wb.workspace, 'tax.py'), TAX_RAISED);
    git('commit', '-qam', 'raise the tax');
    // A remote's branch, as a fetch leaves it (and its HEAD, which the picker leaves out).
    git('update-ref', 'refs/remotes/origin/main', 'HEAD~1');
    git('symbolic-ref', 'refs/remotes/origin/HEAD', 'refs/remotes/origin/main');
    writeFileSync(join(wb.workspace, 'calc.py'), AFTER);
    await wb.openChat();
  });

  after(async () => {
    await wb?.close();
  });

  it('shows each finding on its lines and in the Comments panel; Dismiss resolves one', () =>
    step('threads', async () => {
      await wb.runCommand('Tether: Review Uncommitted Changes');
      await thread('[P1] add subtracts').waitFor({ timeout: 60_000 });
      await thread('[P2] mean divides by n - 1').waitFor();
      await wb.page.locator('.tab.active', { hasText: 'calc.py' }).waitFor();
      // The zone widget sits under the last line of its range.
      assert.ok((await widgetTop('[P1]')) > (await lineTop('return a - b')), 'P1 under line 2');
      assert.ok((await widgetTop('[P1]')) < (await lineTop('def mean')), 'P1 above line 5');
      assert.ok((await widgetTop('[P2]')) > (await lineTop('len(xs) - 1')), 'P2 under line 6');
      await thread('[P1]').locator('.review-comment', { hasText: 'now returns' }).waitFor();
      await wb.snap('review-threads');
      // tether.review.showInProblems is on: the open findings are Problems too.
      await wb.runCommand('Focus on Problems View');
      await problemRow('[P1] add subtracts').waitFor({ timeout: 15_000 });
      await problemRow('[P2] mean divides by n - 1').waitFor();
      await wb.runCommand('Focus on Comments View');
      await panelRow('[P1] add subtracts').locator('.codicon-comment-unresolved').waitFor({ timeout: 15_000 });
      await panelRow('[P2] mean divides by n - 1').locator('.codicon-comment-unresolved').waitFor();
      await thread('[P2]').locator('.action-label[aria-label="Dismiss"]').click();
      // Resolved, not deleted: still listed, with the resolved icon, its widget collapsed.
      await panelRow('[P2] mean divides by n - 1').locator('.codicon-comment').waitFor({ timeout: 15_000 });
      assert.equal(await panelRow('[P2] mean divides by n - 1').locator('.codicon-comment-unresolved').count(), 0);
      await panelRow('[P1] add subtracts').locator('.codicon-comment-unresolved').waitFor();
      await thread('[P2]').locator('.review-comment').waitFor({ state: 'hidden', timeout: 15_000 });
      await wb.snap('review-dismissed');
      // A dismissed finding is no longer a Problem.
      await wb.runCommand('Focus on Problems View');
      await problemRow('[P1] add subtracts').waitFor({ timeout: 15_000 });
      await problemRow('[P2] mean divides by n - 1').waitFor({ state: 'detached', timeout: 15_000 });
      await wb.snap('review-problems');
      await wb.runCommand('Focus on Comments View');
      await panelRow('[P1] add subtracts').waitFor({ timeout: 15_000 });
    }));

  it('applies a suggestion as a proposal that writes once accepted, not on lines changed since', () =>
    step('apply', async () => {
      const apply = thread('[P1] add subtracts').locator('.action-label[aria-label="Apply Suggestion"]');
      // The user changed line 2 since the review: the suggestion is refused, nothing proposed.
      writeFileSync(join(wb.workspace, 'calc.py'), AFTER.replace('a - b', 'b - a'));
      await wb.page.locator('.editor-instance .view-line', { hasText: 'return b - a' }).waitFor({ timeout: 15_000 });
      await apply.click();
      await wb.page.locator('.notification-toast', { hasText: 'calc.py changed at line 2 since the review' }).waitFor({ timeout: 15_000 });
      await wb.snap('review-apply-refused');
      assert.equal(await wb.page.locator('.tab', { hasText: 'Tether proposal' }).count(), 0);
      writeFileSync(join(wb.workspace, 'calc.py'), AFTER);
      await wb.page.locator('.editor-instance .view-line', { hasText: 'return a - b' }).waitFor({ timeout: 15_000 });
      await apply.click();
      await wb.page.locator('.tab.active', { hasText: 'calc.py (Tether proposal: 1 change)' }).waitFor({ timeout: 60_000 });
      assert.equal(readFileSync(join(wb.workspace, 'calc.py'), 'utf8'), AFTER, 'nothing written before the review');
      await wb.snap('review-apply-suggestion');
      await acceptProposal('calc.py');
      await until('the suggestion on disk', () => readFileSync(join(wb.workspace, 'calc.py'), 'utf8') === AFTER.replace('a - b', 'a + b'));
    }));

  it('replaces the threads of an earlier review of the same target; Fix with Tether proposes', () =>
    step('replace', async () => {
      await wb.runCommand('Tether: Review Uncommitted Changes');
      await thread('[P1] mean still divides by n - 1').waitFor({ timeout: 60_000 });
      await panelRow('[P1] mean still divides by n - 1').waitFor({ timeout: 15_000 });
      await thread('[P1] add subtracts').waitFor({ state: 'detached', timeout: 15_000 });
      await panelRow('add subtracts').waitFor({ state: 'detached' });
      await panelRow('[P2] mean divides by n - 1').waitFor({ state: 'detached' });
      await wb.snap('review-replaced');
      await thread('[P1] mean still').locator('.action-label[aria-label="Fix with Tether"]').click();
      await wb.page.locator('.tab.active', { hasText: 'calc.py (Tether proposal: 1 change)' }).waitFor({ timeout: 60_000 });
      await wb.snap('review-fix-proposal');
      await acceptProposal('calc.py');
      await until('the fix on disk', () => readFileSync(join(wb.workspace, 'calc.py'), 'utf8') === BEFORE);
      await wb.chat().locator('.msg.agent', { hasText: 'Fixed mean.' }).waitFor({ timeout: 30_000 });
    }));

  it('reviews against a branch picked from the repository', () =>
    step('branch', async () => {
      await wb.runCommand('Tether: Review Against Branch…');
      const rows = await pickerRows('review the changes against which branch?', 'release');
      // Local and remote branches; not main, which is checked out, nor origin/HEAD.
      assert.deepEqual(rows.sort(), ['origin/main', 'release']);
      await wb.snap('review-branch-picker');
      await wb.page.locator('.quick-input-widget input').fill('release');
      await wb.page.locator('.quick-input-widget input').press('Enter');
      await thread('[P1] branch: tax is 100 times too high').waitFor({ timeout: 60_000 });
      await wb.page.locator('.tab.active', { hasText: 'tax.py' }).waitFor();
      assert.ok((await widgetTop('[P1] branch:')) > (await lineTop('return x * 20')), 'under line 2');
    }));

  it('reviews one turn from its "Review this turn" button in the chat', () =>
    step('turn', async () => {
      await wb.send('document tax');
      const turn = wb.chat().locator('.turn', { hasText: 'document tax' });
      await turn.locator('.msg.agent', { hasText: 'Documented tax.' }).waitFor({ timeout: 60_000 });
      await until('the turn on disk', () => readFileSync(join(wb.workspace, 'tax.py'), 'utf8').includes('in percent'));
      await turn.locator('button.review-turn-findings').click();
      await thread('[P2] turn: the docstring says percent').waitFor({ timeout: 60_000 });
      await wb.page.locator('.tab.active', { hasText: 'tax.py' }).waitFor();
      assert.ok((await widgetTop('[P2] turn:')) > (await lineTop('in percent')), 'under the docstring');
      await wb.chat().locator('.card.review', { hasText: '[P2] turn: the docstring says percent' }).waitFor();
      await wb.snap('review-this-turn');
      await thread('[P2] turn:').locator('.action-label[aria-label="Dismiss"]').click();
      await thread('[P2] turn:').locator('.review-comment').waitFor({ state: 'hidden', timeout: 15_000 });
    }));

  it('reviews a commit picked from the recent ones', () =>
    step('commit', async () => {
      await wb.runCommand('Tether: Review Commit…');
      const rows = await pickerRows('review which commit?', 'raise the tax');
      assert.equal(rows.length, 2);
      assert.match(rows[0]!, /^raise the tax [0-9a-f]{10}$/);
      assert.match(rows[1]!, /^base [0-9a-f]{10}$/);
      await wb.snap('review-commit-picker');
      await wb.page.locator('.quick-input-list .monaco-list-row', { hasText: 'raise the tax' }).click();
      await thread('[P1] commit: tax is 100 times too high').waitFor({ timeout: 60_000 });
      // The commit's line 2 is line 3 since the turn added the docstring: the thread moved there.
      assert.ok((await widgetTop('[P1] commit:')) > (await lineTop('return x * 20')), 'under line 3');
      // Another target: the branch review's thread stays.
      await thread('[P1] branch: tax is 100 times too high').waitFor();
      await wb.runCommand('Focus on Comments View');
      await panelRow('[P1] commit: tax').waitFor({ timeout: 15_000 });
      await panelRow('[P1] branch: tax').waitFor();
      await panelRow('[P1] mean still divides').waitFor();
      await panelRow('[P2] turn: the docstring').waitFor();
      await wb.snap('review-commit');
    }));

  it('brings the latest review of each target back after a reload, dismissals still resolved', () =>
    step('reload', async () => {
      await wb.page.reload();
      await wb.page.locator('.monaco-workbench').waitFor({ timeout: 60_000 });
      // The Comments panel stays open across the reload.
      const unresolved = ['[P1] mean still divides by n - 1', '[P1] branch: tax is 100 times too high', '[P1] commit: tax is 100 times too high'];
      for (const title of unresolved) await panelRow(title).locator('.codicon-comment-unresolved').waitFor({ timeout: 60_000 });
      await panelRow('[P2] turn: the docstring says percent').locator('.codicon-comment').waitFor();
      assert.equal(await panelRow('[P2] turn:').locator('.codicon-comment-unresolved').count(), 0);
      // The first review of the uncommitted changes was replaced by the second, after a reload too.
      assert.equal(await wb.page.locator('.comments-panel .monaco-list-row').filter({ hasText: /add subtracts|mean divides by n - 1/ }).count(), 0);
      await wb.snap('review-reloaded');
    }));
});
