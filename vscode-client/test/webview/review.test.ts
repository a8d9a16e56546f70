/** The chat webview's review parts (issue 20) in headless Chromium: a review turn shows its verdict
 * and findings as links to their lines instead of the answer's JSON, and a turn that changed
 * files offers "Review changes" and "Review this turn"; a screenshot against its baseline. */
import { strict as assert } from 'node:assert';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import type { HostMessage, WebviewMessage } from '../../src/chat/messages';
import type { Item, Turn } from '../../src/protocol';
import { type ChatEvent, initialState } from '../../src/state/reducer';
import { launchChromium } from '../support/browser';
import { checkAgainstBaseline, colourCount } from '../support/screenshots';
import * as stream from '../fixtures/stream';

const ROOT = resolve(__dirname, '..', '..');
const HARNESS = pathToFileURL(join(ROOT, 'test', 'webview', 'harness.html')).href;
const BASELINES = join(ROOT, 'test', 'webview', 'baselines');
const CALC = `${stream.WORKSPACE}/calc.py`;

let browser: Browser;
let page: Page;

async function deliver(...messages: HostMessage[]): Promise<void> {
  for (const message of messages) await page.evaluate((m) => (window as unknown as { __deliver(m: unknown): void }).__deliver(m), message);
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
}

const posted = (): Promise<WebviewMessage[]> => page.evaluate(() => (window as unknown as { __posted: WebviewMessage[] }).__posted);

async function showTurns(...turns: Item[][]): Promise<void> {
  const shown: Turn[] = turns.map((items, i) => ({ id: `turn_${i}`, threadId: stream.thread.id, status: 'completed', items }));
  const loaded: ChatEvent = { type: 'threadLoaded', thread: { ...stream.thread, status: 'idle' }, turns: shown };
  await deliver({ type: 'snapshot', state: { ...initialState('agent'), ...stream.snapshot } }, { type: 'event', event: loaded });
}

const ask = (id: string, text: string): Item => ({ type: 'userMessage', id, content: [{ type: 'text', text }] });

const EDIT_TURN: Item[] = [
  ask('item_u1', 'fix add'),
  {
    type: 'fileChange',
    id: 'item_f1',
    status: 'completed',
    changes: [{ path: CALC, kind: 'update', diff: '@@ -2 +2 @@\n-    return a - b\n+    return a + b\n', hunks: [{ index: 0, oldStart: 2, oldLines: 1, newStart: 2, newLines: 1, lines: ['-    return a - b', '+    return a + b'], status: 'applied' }] }],
  },
  { type: 'agentMessage', id: 'item_a1', text: 'Fixed add.' },
];

const REVIEW_TURN: Item[] = [
  ask('item_u2', 'Review: Uncommitted changes'),
  { type: 'agentMessage', id: 'item_a2', text: '{"findings": [], "overall_correctness": "patch is incorrect"}' },
  {
    type: 'review',
    id: 'item_r',
    target: { type: 'uncommittedChanges' },
    findings: [
      { id: 'finding_1', title: 'mean divides by n - 1', body: 'An empty list divides by -1.', priority: 1, confidenceScore: 0.9, path: CALC, range: { start: 5, end: 5 } },
      { id: 'finding_2', title: 'add subtracts', body: '`add` returns a - b.', priority: 2, confidenceScore: 0.6, path: CALC, range: { start: 1, end: 1 }, suggestion: '    return a + b' },
    ],
    overallCorrectness: 'patchIsIncorrect',
    overallExplanation: 'Two arithmetic slips.',
    overallConfidenceScore: 0.8,
    droppedFindings: 1,
  },
];

describe('chat webview: review', () => {
  before(async () => {
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 420, height: 760 } });
    await page.goto(HARNESS);
  });

  after(async () => {
    await browser?.close();
  });

  it('shows a review as its verdict and findings, each a link to its lines, not as JSON', async () => {
    await showTurns(EDIT_TURN, REVIEW_TURN);
    const review = page.locator('section.turn[data-turn="turn_1"]');
    assert.equal(await review.locator('.msg.agent').count(), 0, "the answer's JSON is not shown");
    const card = review.locator('.card.review');
    assert.equal((await card.locator('.review-verdict').textContent())?.trim(), 'Review: 2 findings. Two arithmetic slips. (1 finding outside the change left out.)');
    assert.deepEqual(await card.locator('.findings li').allTextContents(), ['[P1] mean divides by n - 1 calc.py:6', '[P2] add subtracts calc.py:2']);
    await card.getByRole('button', { name: '[P2] add subtracts' }).click();
    assert.deepEqual((await posted()).at(-1), { type: 'openFile', path: CALC, line: 1 });
    // A review changed nothing: no review buttons under it.
    assert.equal(await review.locator('.turn-actions').count(), 0);
    await review.scrollIntoViewIfNeeded();
    const png = await page.screenshot({ animations: 'disabled', caret: 'hide' });
    assert.ok(colourCount(png) > 20, 'the screenshot looks blank or unstyled');
    const problem = checkAgainstBaseline('review-card', png, BASELINES);
    assert.equal(problem, undefined, problem);
  });

  it('offers "Review changes" and "Review this turn" under a turn that changed files', async () => {
    await showTurns(EDIT_TURN);
    const actions = page.locator('section.turn[data-turn="turn_0"] .turn-actions');
    assert.deepEqual((await actions.locator('button').allTextContents()).map((t) => t.trim()), ['Review changes', 'Review this turn']);
    await actions.getByRole('button', { name: 'Review this turn' }).click();
    assert.deepEqual((await posted()).at(-1), { type: 'reviewTurnFindings', turnId: 'turn_0' });
    await actions.getByRole('button', { name: 'Review changes' }).click();
    assert.deepEqual((await posted()).at(-1), { type: 'reviewTurn', turnId: 'turn_0' });
  });
});
