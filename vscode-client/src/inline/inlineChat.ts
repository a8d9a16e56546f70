/** Inline chat (Ctrl+I / Cmd+I in an editor): "change this selection". The request goes to the
 * chat's thread as a turn with the selection attached (file, range, text) and `proposeEdits`
 * set, so whatever the mode the answer is a proposal: the diff opens in place of the editor,
 * scrolled to the change, with Accept / Reject above each hunk, and closes back to the editor
 * once every hunk is decided. While the turn runs the selected lines stay marked and a
 * notification offers Stop. VS Code's own inline chat widget is for chat providers of its
 * proposed API, which extensions cannot use; an input box and decorations stand in for it. */
import * as vscode from 'vscode';
import type { ChatSession } from '../chat/session';
import type { FileChangeApprovalParams, Range } from '../protocol';
import { basename } from '../state/present';
import * as api from '../vscodeapi';

export class InlineChat implements vscode.Disposable {
  /** Turns started here, whose proposals open in place. */
  private readonly turns = new Set<string>();
  /** The thread of a request still on its way (its turn id not known yet). */
  private pendingThread?: string;
  private readonly working = vscode.window.createTextEditorDecorationType({
    isWholeLine: true,
    backgroundColor: new vscode.ThemeColor('editor.findRangeHighlightBackground'),
    overviewRulerColor: new vscode.ThemeColor('editorOverviewRuler.findMatchForeground'),
    overviewRulerLane: vscode.OverviewRulerLane.Center,
  });

  constructor(private readonly session: ChatSession) {}

  dispose(): void {
    this.working.dispose();
  }

  /** Whether a proposal belongs to an inline request: then it opens in place, not beside. */
  ownsProposal(params: FileChangeApprovalParams): boolean {
    return this.turns.has(params.turnId) || this.pendingThread === params.threadId;
  }

  async start(): Promise<void> {
    const editor = vscode.window.activeTextEditor;
    if (!editor || editor.document.uri.scheme !== 'file') {
      void api.showInformationMessage('Tether: open a file of the workspace to change code in place.');
      return;
    }
    const document = editor.document;
    // No selection: the line the cursor is on.
    const chosen = editor.selection.isEmpty ? document.lineAt(editor.selection.active.line).range : new vscode.Range(editor.selection.start, editor.selection.end);
    const first = chosen.start.line + 1;
    const last = chosen.end.line + (chosen.end.character === 0 && chosen.end.line > chosen.start.line ? 0 : 1);
    const where = first === last ? `line ${first}` : `lines ${first}–${last}`;
    const text = await api.showInputBox({
      title: `Tether: change ${where} of ${basename(document.uri.fsPath)}`,
      prompt: 'Say what to change. Tether proposes an edit; you accept or reject each hunk.',
      placeHolder: 'e.g. add type hints, handle b == 0',
      ignoreFocusOut: true,
    });
    if (!text?.trim()) return;
    editor.setDecorations(this.working, [chosen]);
    const range: Range = { start: { line: chosen.start.line, character: chosen.start.character }, end: { line: chosen.end.line, character: chosen.end.character } };
    this.pendingThread = this.session.current.thread?.id;
    try {
      const turnId = await api.withProgress({ location: vscode.ProgressLocation.Notification, title: `Tether is changing ${where} of ${basename(document.uri.fsPath)}`, cancellable: true }, async (progress, token) => {
        const turn = await this.session.sendFromEditor(text.trim(), { path: document.uri.fsPath, range });
        this.pendingThread = undefined;
        if (!turn) return undefined;
        this.turns.add(turn.id);
        token.onCancellationRequested(() => void this.session.stop());
        await this.untilDone(turn.id, () => progress.report({ message: 'review the proposal: Accept or Reject above each change' }));
        return turn.id;
      });
      // Once the progress has gone: one notification at a time.
      if (turnId !== undefined) this.tellOutcome(turnId);
    } finally {
      this.pendingThread = undefined;
      editor.setDecorations(this.working, []);
    }
  }

  /** Resolves when the turn has ended; `reviewing` is called when its proposal opens. */
  private untilDone(turnId: string, reviewing: () => void): Promise<void> {
    return new Promise((resolve) => {
      let told = false;
      const check = (): boolean => {
        const state = this.session.current;
        const turn = state.turns.find((t) => t.id === turnId);
        if (!told && state.approvals.some((a) => a.turnId === turnId && a.kind === 'fileChange')) {
          told = true;
          reviewing();
        }
        // Over, or no longer shown (the user opened another thread).
        return turn === undefined || turn.status !== 'inProgress';
      };
      if (check()) return resolve();
      const subscription = this.session.subscribe(() => {
        if (check()) {
          subscription.dispose();
          resolve();
        }
      });
    });
  }

  /** An answer without an edit is said where the user is; with one, the diff already said it. */
  private tellOutcome(turnId: string): void {
    const turn = this.session.current.turns.find((t) => t.id === turnId);
    if (!turn || turn.items.some((i) => i.type === 'fileChange')) return;
    const reply = [...turn.items].reverse().find((i) => i.type === 'agentMessage');
    const text = reply?.type === 'agentMessage' ? reply.text.trim() : '';
    const failed = turn.status === 'failed' ? (turn.error?.message ?? 'the turn failed') : '';
    const message = failed || text || 'Tether proposed no change.';
    void api.showInformationMessage(`Tether: ${message.length > 300 ? `${message.slice(0, 299)}…` : message}`, 'Open Chat').then((choice) => {
      if (choice === 'Open Chat') void api.executeCommand('tether.chat.focus');
    });
  }
}
