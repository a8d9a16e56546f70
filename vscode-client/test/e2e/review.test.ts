/** Code review in the editor (issue 20), end to end in code-server: "Tether: Review Uncommitted
 * Changes" on a git workspace with a planted bug; the scripted model answers the review turn with
 * findings JSON; each finding becomes a comment thread on its lines; "Fix with Tether" brings a
 * per-hunk proposal; Dismiss resolves a thread. */
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PYTHON } from '../support/processes';
import { Workbench } from '../support/workbench';

const BEFORE = 'def add(a, b):\n    return a + b\n\n\ndef mean(xs):\n    return sum(xs) / len(xs)\n';
const AFTER = 'def add(a, b):\n    return a - b\n\n\ndef mean(xs):\n    return sum(xs) / (len(xs) - 1)\n';

const REVIEW = {
  findings: [
    { title: 'add subtracts', body: '`add` now returns **a - b**.', priority: 1, confidence_score: 0.9, path: 'calc.py', line_start: 2, line_end: 2, suggestion: '    return a + b' },
    { title: 'mean divides by n - 1', body: 'An empty or one-item list now divides by zero or -1.', priority: 2, confidence_score: 0.7, path: 'calc.py', line_start: 6, line_end: 6, suggestion: null },
  ],
  overall_correctness: 'patch is incorrect',
  overall_explanation: 'Two arithmetic slips.',
  overall_confidence_score: 0.8,
};

const SCRIPT = [
  { text: JSON.stringify(REVIEW) },
  // "Fix with Tether" on the first finding.
  { tool_calls: [{ name: 'edit_file', arguments: { path: 'calc.py', old_string: '    return a - b', new_string: '    return a + b' } }] },
  { text: 'Fixed add.' },
];

let wb: Workbench;

describe('code review findings as comment threads in code-server', { timeout: 300_000 }, () => {
  before(async () => {
    wb = await Workbench.start({
      files: { 'calc.py': BEFORE },
      script: SCRIPT,
      settings: (baseUrl, home) => ({ 'tether.pythonPath': PYTHON, 'tether.baseUrl': baseUrl, 'tether.model': 'scripted-model', 'tether.wireApi': 'responses', 'tether.home': home, 'tether.defaultMode': 'agent' }),
      env: { ...process.env, OPENAI_API_KEY: 'sk-e2e-test' },
    });
    const git = (...args: string[]): void => void execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', ...args], { cwd: wb.workspace });
    git('init', '-q');
    git('add', 'calc.py');
    git('commit', '-qm', 'base');
    writeFileSync(join(wb.workspace, 'calc.py'), AFTER);
    await wb.openChat();
  });

  after(async () => {
    await wb?.close();
  });

  it('shows each finding on its lines, fixes one with Tether as a proposal, and dismisses one', async () => {
    try {
      await wb.runCommand('Tether: Review Uncommitted Changes');
      const threads = wb.page.locator('.review-widget');
      const first = threads.filter({ hasText: '[P1] add subtracts' });
      await first.waitFor({ timeout: 60_000 });
      await threads.filter({ hasText: '[P2] mean divides by n - 1' }).waitFor();
      await wb.page.locator('.tab.active', { hasText: 'calc.py' }).waitFor();
      // The zone widget sits under the last line of its range.
      const lineTop = async (text: string): Promise<number> => (await wb.page.locator('.editor-instance .view-line', { hasText: text }).first().boundingBox())!.y;
      const widgetTop = async (text: string): Promise<number> => (await threads.filter({ hasText: text }).first().boundingBox())!.y;
      assert.ok((await widgetTop('[P1]')) > (await lineTop('return a - b')), 'P1 under line 2');
      assert.ok((await widgetTop('[P1]')) < (await lineTop('def mean')), 'P1 above line 5');
      assert.ok((await widgetTop('[P2]')) > (await lineTop('len(xs) - 1')), 'P2 under line 6');
      await first.locator('.review-comment', { hasText: 'now returns' }).waitFor();
      await wb.snap('review-threads');
      await threads.filter({ hasText: '[P2]' }).locator('.action-label[aria-label="Dismiss"]').click();
      await threads.filter({ hasText: '[P2]' }).waitFor({ state: 'detached', timeout: 15_000 });
      await first.locator('.action-label[aria-label="Fix with Tether"]').click();
      await wb.page.locator('.tab', { hasText: 'calc.py (Tether proposal: 1 change)' }).waitFor({ timeout: 60_000 });
      await wb.snap('review-fix-proposal');
    } catch (err) {
      await wb.snap('review-failed');
      throw err;
    }
  });
});
