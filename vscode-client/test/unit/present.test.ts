import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import type { Item } from '../../src/protocol';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MODES } from '../../src/protocol';
import { MODE_LABELS, arrangeItems, isApplyTurn, lineSpan, changeStats, changeStatusLabel, contextMeter, explorationSummary, sandboxSummary, toolKind } from '../../src/state/present';

const tool = (id: string, name: string): Item => ({ type: 'toolCall', id, tool: name, arguments: {}, status: 'completed' });

describe('arrangeItems', () => {
  it('groups consecutive reads and searches but keeps single ones and other items apart', () => {
    const message: Item = { type: 'agentMessage', id: 'm', text: 'hi' };
    const blocks = arrangeItems([tool('1', 'read_file'), tool('2', 'grep'), tool('3', 'list_dir'), message, tool('4', 'read_file'), tool('5', 'update_plan')]);
    assert.deepEqual(
      blocks.map((b) => (b.kind === 'item' ? b.item.id : `group:${b.items.map((i) => i.id).join(',')}`)),
      ['group:1,2,3', 'm', '4', '5'],
    );
    const group = blocks[0]!;
    assert.equal(group.kind === 'exploration' && explorationSummary(group.items), 'Read 1 file, searched 1 time, listed 1 folder');
  });

  it('classifies tools by the words of their names', () => {
    assert.deepEqual(['read_file', 'grep_search', 'list_dir', 'update_plan', 'apply_patch'].map(toolKind), ['read', 'search', 'list', 'plan', 'other']);
  });
});

describe('changeStats and contextMeter', () => {
  it('counts added and removed lines and hunk statuses', () => {
    const stats = changeStats({
      path: '/w/a',
      kind: 'update',
      diff: '',
      hunks: [
        { index: 0, oldStart: 1, oldLines: 2, newStart: 1, newLines: 2, lines: [' a', '-b', '+c'], status: 'applied' },
        { index: 1, oldStart: 9, oldLines: 1, newStart: 9, newLines: 3, lines: [' x', '+y', '+z'], status: 'pending' },
      ],
    });
    assert.deepEqual(stats, { added: 3, removed: 1, hunks: 2, byStatus: { pending: 1, applied: 1, rejected: 0, reverted: 0 } });
  });

  it('reports the share of the context window in use', () => {
    assert.deepEqual(contextMeter({ inputTokens: 30_000, cachedInputTokens: 0, outputTokens: 2_000, totalTokens: 32_000, contextWindow: 128_000 }), {
      used: 32_000,
      window: 128_000,
      fraction: 0.25,
      label: '32k / 128k tokens (25%)',
    });
    assert.equal(contextMeter(undefined), undefined);
    assert.equal(contextMeter({ inputTokens: 0, cachedInputTokens: 0, outputTokens: 0, totalTokens: 1234 })?.label, '1.2k tokens');
  });
});

describe('words the user reads', () => {
  it('describes each mode the same in the settings, the panel and the status bar', () => {
    const manifest = JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8'));
    const setting = manifest.contributes.configuration.properties['tether.defaultMode'];
    assert.deepEqual(setting.enum.slice(1), [...MODES]);
    assert.deepEqual(setting.enumDescriptions.slice(1), MODES.map((m) => MODE_LABELS[m].detail));
    // One line each (issue 16), and true to PROTOCOL.md section 6: no "read-only sandbox" for commands
    // an approval lets write.
    for (const m of MODES) assert.ok(MODE_LABELS[m].detail.length <= 52, `${m}: one short line`);
    assert.doesNotMatch(MODE_LABELS.readOnly.detail, /sandbox/);
  });

  it('numbers a selection as the editor does', () => {
    const at = (line: number, character: number) => ({ line, character });
    assert.equal(lineSpan({ start: at(4, 0), end: at(5, 12) }), '5-6');
    assert.equal(lineSpan({ start: at(4, 0), end: at(6, 0) }), '5-6', 'whole lines: the end is the next line\'s start');
    assert.equal(lineSpan({ start: at(4, 2), end: at(4, 9) }), '5');
  });

  it('knows an applied code block from a reply', () => {
    const change = { type: 'fileChange' as const, id: 'f', status: 'pending' as const, changes: [] };
    assert.equal(isApplyTurn([change]), true);
    assert.equal(isApplyTurn([{ type: 'userMessage', id: 'u', content: [] }, change]), false);
    assert.equal(isApplyTurn([]), false);
  });

  it('says "1 of 2 changes applied", never partiallyApplied', () => {
    const hunk = { oldStart: 1, oldLines: 1, newStart: 1, newLines: 1, lines: ['-a', '+b'] };
    const item = { type: 'fileChange' as const, id: 'f', status: 'partiallyApplied' as const, changes: [{ path: '/w/a', kind: 'update' as const, diff: '', hunks: [{ ...hunk, index: 0, status: 'applied' as const }, { ...hunk, index: 1, status: 'rejected' as const }] }] };
    assert.equal(changeStatusLabel(item), '1 of 2 changes applied');
    assert.deepEqual({ ...changeStats(item.changes[0]!), byStatus: undefined }, { added: 1, removed: 1, hunks: 2, byStatus: undefined }, 'the rejected hunk is not counted');
  });

  it('names the sandbox and says when it is weaker than bubblewrap', () => {
    const landlock = { name: 'landlock' as const, setting: 'auto' as const, weakerThanBwrap: true, guarantees: [], passedOver: ['bwrap: user namespaces are off.'] };
    assert.equal(sandboxSummary(landlock), 'Commands run in the Landlock + seccomp sandbox. It is weaker than bubblewrap: bwrap: user namespaces are off.');
    assert.equal(sandboxSummary({ ...landlock, name: 'bwrap', weakerThanBwrap: false, passedOver: [] }), 'Commands run in the bubblewrap sandbox.');
  });
});
