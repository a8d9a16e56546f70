/** Edits the agent applied (agent mode): in every editor that already shows the file, the added
 * lines are highlighted and each hunk gets Undo and Keep CodeLenses, followed by a note of what
 * the hunk removed ("Tether replaced 2 lines") whose hover shows those lines. The note is in the
 * CodeLens row, which starts at the left margin, so it never runs under the minimap as an
 * end-of-line note on a long line did. Undo asks the server to revert that hunk
 * (`change/revert`); Keep only clears the marks. Nothing here opens an editor or moves the
 * focus: marks appear where the user is already looking. */
import * as vscode from 'vscode';
import type { ChatSession } from '../chat/session';
import type { FileChange, Hunk } from '../protocol';
import { type HunkPlacement, addedLines, appliedPlacements, removedCount } from './hunks';

interface PlacedHunk {
  itemId: string;
  change: FileChange;
  hunk: Hunk;
  placement: HunkPlacement;
}

export class AppliedChanges implements vscode.CodeLensProvider {
  private readonly kept = new Set<string>();
  private readonly lensesChanged = new vscode.EventEmitter<void>();
  readonly onDidChangeCodeLenses = this.lensesChanged.event;
  private readonly added = vscode.window.createTextEditorDecorationType({
    isWholeLine: true,
    backgroundColor: new vscode.ThemeColor('diffEditor.insertedLineBackground'),
    overviewRulerColor: new vscode.ThemeColor('editorOverviewRuler.addedForeground'),
    overviewRulerLane: vscode.OverviewRulerLane.Left,
  });
  /** No style of its own: carries the hover with the removed lines of each hunk. */
  private readonly removedHover = vscode.window.createTextEditorDecorationType({});

  constructor(
    private readonly session: ChatSession,
    /** A proposal the user already accepted hunk by hunk gets no second Undo/Keep. */
    private readonly reviewed: (itemId: string) => boolean,
  ) {}

  register(): vscode.Disposable {
    return vscode.Disposable.from(
      vscode.languages.registerCodeLensProvider({ scheme: 'file' }, this),
      // Streaming deltas cannot change hunks; everything else might.
      this.session.subscribe((event) => {
        if (event.type !== 'notification' || !/delta$/i.test(event.notification.method)) this.refresh();
      }),
      vscode.window.onDidChangeVisibleTextEditors(() => this.refresh()),
      vscode.workspace.onDidChangeTextDocument((e) => {
        if (e.contentChanges.length > 0) this.refresh();
      }),
      this.added,
      this.removedHover,
      this.lensesChanged,
    );
  }

  private static key(itemId: string, path: string, index: number): string {
    return `${itemId}\u0000${path}\u0000${index}`;
  }

  /** Applied, not yet kept hunks of the shown thread that still match the document's text. */
  private placedHunks(document: vscode.TextDocument): PlacedHunk[] {
    const path = document.uri.fsPath;
    const result: PlacedHunk[] = [];
    for (const turn of this.session.current.turns) {
      for (const item of turn.items) {
        if (item.type !== 'fileChange' || this.reviewed(item.id)) continue;
        for (const change of item.changes) {
          if (change.path !== path || change.kind === 'delete') continue;
          for (const placement of appliedPlacements(change.hunks)) {
            const hunk = change.hunks.find((h) => h.index === placement.index)!;
            if (this.kept.has(AppliedChanges.key(item.id, path, hunk.index))) continue;
            // After the user edits around it, a hunk whose lines moved is not marked at all
            // rather than marked in the wrong place.
            if (!matchesDocument(document, hunk, placement)) continue;
            result.push({ itemId: item.id, change, hunk, placement });
          }
        }
      }
    }
    return result;
  }

  refresh(): void {
    for (const editor of vscode.window.visibleTextEditors) {
      if (editor.document.uri.scheme !== 'file') continue;
      const placed = this.placedHunks(editor.document);
      editor.setDecorations(
        this.added,
        placed.flatMap((p) => addedLines(p.hunk, p.placement).map((line) => new vscode.Range(line, 0, line, 0))),
      );
      editor.setDecorations(
        this.removedHover,
        placed
          .filter((p) => removedCount(p.hunk) > 0)
          .map((p) => {
            const lines = addedLines(p.hunk, p.placement);
            const [first, last] = lines.length > 0 ? [lines[0]!, lines[lines.length - 1]!] : [p.placement.anchor, p.placement.anchor];
            return { range: new vscode.Range(first, 0, last, Number.MAX_SAFE_INTEGER), hoverMessage: removedLinesHover(p.hunk, editor.document.languageId) };
          }),
      );
    }
    this.lensesChanged.fire();
  }

  provideCodeLenses(document: vscode.TextDocument): vscode.CodeLens[] {
    return this.placedHunks(document).flatMap((p) => {
      const range = new vscode.Range(p.placement.anchor, 0, p.placement.anchor, 0);
      const args = [p.itemId, p.change.path, p.hunk.index];
      const lenses = [
        new vscode.CodeLens(range, { title: '$(discard) Undo', command: 'tether.undoHunk', arguments: args, tooltip: 'Revert this change made by Tether' }),
        new vscode.CodeLens(range, { title: '$(check) Keep', command: 'tether.keepHunk', arguments: args, tooltip: 'Keep this change and clear its marks' }),
      ];
      if (removedCount(p.hunk) > 0) lenses.push(new vscode.CodeLens(range, { title: removalNote(p.hunk), command: '', tooltip: 'Hover over the changed lines to see what was there' }));
      return lenses;
    });
  }

  async undo(itemId: string, path: string, index: number): Promise<void> {
    await this.session.revertChange(itemId, [{ path, indexes: [index] }]);
    this.refresh();
  }

  keep(itemId: string, path: string, index: number): void {
    this.kept.add(AppliedChanges.key(itemId, path, index));
    this.refresh();
  }
}

function removalNote(hunk: Hunk): string {
  const removed = removedCount(hunk);
  const lines = `${removed} line${removed === 1 ? '' : 's'}`;
  return hunk.lines.some((l) => l.startsWith('+')) ? `Tether replaced ${lines}` : `Tether removed ${lines}`;
}

/** The lines a hunk removed, as a code block in the document's language. */
function removedLinesHover(hunk: Hunk, languageId: string): vscode.MarkdownString {
  const removed = hunk.lines.filter((l) => l.startsWith('-')).map((l) => l.slice(1));
  return new vscode.MarkdownString(`**${removalNote(hunk)}:**`).appendCodeblock(removed.join('\n'), languageId);
}

/** Whether the hunk still sits where it was placed. Its added lines decide; context lines only
 * for a pure deletion, since another edit next to it may have changed the context. */
function matchesDocument(document: vscode.TextDocument, hunk: Hunk, placement: HunkPlacement): boolean {
  const checkAll = !hunk.lines.some((l) => l.startsWith('+'));
  let line = placement.start;
  for (const text of hunk.lines) {
    const sign = text.charAt(0);
    if (sign === '\\' || sign === '-') continue;
    if (checkAll || sign === '+') {
      if (line >= document.lineCount || document.lineAt(line).text !== text.slice(1)) return false;
    }
    line++;
  }
  return true;
}
