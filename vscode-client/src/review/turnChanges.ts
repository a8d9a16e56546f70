/** "Tether: Review Changes of This Turn": every file a turn changed, by its edits and by its
 * commands, in one multi-diff editor (`vscode.changes`), the file before the turn on the left and
 * what the turn left on the right. Both sides come from the server's checkpoint of the turn
 * (`turn/files`), so the review shows what the turn did even after the user edited on. From the
 * command palette it reviews the latest turn of the shown thread; the chat passes a turn id. */
import * as vscode from 'vscode';
import type { BackendConnection } from '../backend/connection';
import type { ChatSession } from '../chat/session';
import type { Item, TurnFile } from '../protocol';
import { basename } from '../state/present';
import * as api from '../vscodeapi';

export const TURN_SCHEME = 'tether-turn';

type Side = 'before' | 'after';

function sideUri(turnId: string, path: string, side: Side): vscode.Uri {
  return vscode.Uri.from({ scheme: TURN_SCHEME, path, query: `${side}:${turnId}` });
}

export class TurnChanges implements vscode.TextDocumentContentProvider {
  /** What `turn/files` answered, per turn: the documents of the open reviews. */
  private readonly files = new Map<string, TurnFile[]>();
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.changed.event;

  constructor(
    private readonly session: ChatSession,
    private readonly rpc: () => BackendConnection | undefined,
  ) {}

  register(): vscode.Disposable {
    return vscode.Disposable.from(vscode.workspace.registerTextDocumentContentProvider(TURN_SCHEME, this), this.changed);
  }

  /** Opens the review of `turnId`, or of the shown thread's latest turn. */
  async show(turnId?: string): Promise<void> {
    const state = this.session.current;
    const thread = state.thread;
    const turns = state.turns;
    const index = turnId ? turns.findIndex((t) => t.id === turnId) : turns.length - 1;
    const connection = this.rpc();
    if (!thread || index < 0) {
      void api.showInformationMessage('Tether: there is no turn to review in this chat yet.');
      return;
    }
    if (!connection) {
      void api.showErrorMessage('Tether: the backend is not running; see the Tether output for why.');
      return;
    }
    const turn = turns[index]!;
    let files: TurnFile[];
    try {
      files = (await connection.request('turn/files', { threadId: thread.id, turnId: turn.id })).files;
    } catch (err) {
      void api.showErrorMessage(`Tether could not read the changes of this turn: ${err instanceof Error ? err.message : String(err)}`);
      return;
    }
    if (files.length === 0) {
      void api.showInformationMessage('Tether: this turn changed no files.');
      return;
    }
    this.files.set(turn.id, files);
    for (const file of files) for (const side of ['before', 'after'] as const) this.changed.fire(sideUri(turn.id, file.path, side));
    const resources = files.map((f) => [
      vscode.Uri.file(f.path),
      f.kind === 'created' && !f.note ? undefined : sideUri(turn.id, f.path, 'before'),
      f.kind === 'deleted' && !f.note ? undefined : sideUri(turn.id, f.path, 'after'),
    ]);
    // The editor adds the file count itself.
    const title = `Tether: changes of “${turnLabel(turn.items)}”`;
    await api.executeCommand('vscode.changes', title, resources);
  }

  provideTextDocumentContent(uri: vscode.Uri): string {
    const match = /^(before|after):(.+)$/.exec(uri.query);
    const file = match && this.files.get(match[2]!)?.find((f) => f.path === uri.path);
    if (!match || !file) return '';
    if (file.note) return `(${basename(file.path)}: ${file.note}; not shown)\n`;
    return (match[1] === 'before' ? file.before : file.after) ?? '';
  }
}

/** The turn's first words from the user, for the editor's title. */
function turnLabel(items: Item[]): string {
  const message = items.find((i) => i.type === 'userMessage');
  const text = message?.type === 'userMessage' ? message.content.find((c) => c.type === 'text') : undefined;
  const words = text?.type === 'text' ? text.text.trim().split('\n')[0]! : 'this turn';
  return words.length > 40 ? `${words.slice(0, 39)}…` : words;
}
