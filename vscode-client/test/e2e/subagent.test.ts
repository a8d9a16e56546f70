/** A sub-agent's card, end to end in code-server with the real backend: the parent spawns an
 * explorer and waits for it; the card shows the child working and its current tool, Stop on the
 * card interrupts the child alone (the parent goes on and answers), and Open shows the child's
 * own thread in the panel. The model's requests come one after the other here (the parent waits
 * for all its children in the same reply that spawns them), so an ordered script serves them. */
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { PYTHON } from '../support/processes';
import { Workbench } from '../support/workbench';

const LONG = Array.from({ length: 600 }, (_, i) => `word${i} `).join('');
const SCRIPT = [
  // The parent: spawn an explorer, then wait for every child of the turn.
  {
    tool_calls: [
      { name: 'spawn_agent', arguments: { agent_type: 'explorer', prompt: 'CARD: look around the workspace' } },
      { name: 'wait_agents', arguments: { ids: [], timeout_ms: 120_000 } },
    ],
  },
  // The child: a read, then an answer streamed slowly enough (60 s) to be stopped.
  { tool_calls: [{ name: 'read_file', arguments: { path: 'notes.txt' } }] },
  { text: LONG, deltas: 600, delay: 0.1 },
  // The parent, once wait_agents returned the stopped child.
  { text: 'The explorer was stopped.' },
];

let wb: Workbench;

async function step(name: string, body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (err) {
    await wb.snap(`subagent-${name}-failed`);
    throw err;
  }
}

describe('a sub-agent card in code-server', { timeout: 300_000 }, () => {
  before(async () => {
    wb = await Workbench.start({
      files: { 'notes.txt': 'first\nsecond\n' },
      script: SCRIPT,
      settings: (baseUrl, home) => ({ 'tether.pythonPath': PYTHON, 'tether.home': home, 'tether.baseUrl': baseUrl, 'tether.model': 'scripted-model', 'tether.defaultMode': 'agent' }),
    });
    await wb.openChat();
  });

  after(async () => {
    await wb?.close();
  });

  it('shows the child live, stops it alone, and opens its thread', () =>
    step('card', async () => {
      await wb.send('Explore with a sub-agent.');
      const card = wb.chat().locator('.card.subagent');
      await card.waitFor({ timeout: 60_000 });
      assert.match((await card.textContent()) ?? '', /explorer/);
      await card.locator('.subagent-activity', { hasText: 'read_file' }).waitFor({ timeout: 60_000 });
      assert.match((await card.locator('.badge').textContent()) ?? '', /working/);
      await wb.snap('subagent-working');
      await card.getByRole('button', { name: 'Stop' }).click();
      await card.locator('.badge', { hasText: 'stopped' }).waitFor({ timeout: 30_000 });
      // The parent was not stopped: it got the child's status from wait_agents and answered.
      await wb.chat().locator('.msg.agent', { hasText: 'The explorer was stopped.' }).waitFor({ timeout: 30_000 });
      await card.getByRole('button', { name: 'Open' }).click();
      await wb.chat().locator('.msg.user', { hasText: 'CARD: look around the workspace' }).waitFor({ timeout: 30_000 });
      assert.equal(await wb.chat().locator('.card.subagent').count(), 0, "the child's own thread has no sub-agent card");
      await wb.snap('subagent-child-thread');
    }));
});
