/** The chat panel's host side: serves the webview's HTML (strict CSP, local assets only), forwards
 * state to it and routes what the user does there to the session and the approval broker. */
import { randomBytes } from 'node:crypto';
import { isAbsolute, join } from 'node:path';
import * as vscode from 'vscode';
import type { CommandChoice } from '../approvals/rules';
import type { ReadChoice } from '../approvals/rules';
import type { FormValues } from '../mcp/elicitationForm';
import type { McpChoice } from '../mcp/present';
import type { McpElicitationResult, Mode } from '../protocol';
import type { HostMessage, MentionCandidate, WebviewMessage } from './messages';
import { resolveFileRefs } from './fileRefs';
import type { ChatSession } from './session';

export interface ChatViewActions {
  commandApproval(itemId: string, choice: CommandChoice): Promise<void>;
  fileReadApproval(itemId: string, choice: ReadChoice): void;
  reviewChange(itemId: string): Promise<void>;
  setMode(mode: Mode): Promise<void>;
  findFiles(query: string): Promise<MentionCandidate[]>;
  mcpToolApproval(itemId: string, choice: McpChoice): void;
  elicitationAnswer(itemId: string, action: McpElicitationResult['action'], values?: FormValues): void;
  mcpRestart(name: string): Promise<void>;
  mcpTrust(name: string): Promise<void>;
  mcpReload(): Promise<void>;
}

/** The text editor the user last worked in (the chat panel having the focus does not count). */
function lastEditor(): vscode.TextEditor | undefined {
  return vscode.window.activeTextEditor ?? vscode.window.visibleTextEditors.find((e) => e.document.uri.scheme === 'file');
}

async function insertAtCursor(code: string): Promise<void> {
  const editor = lastEditor();
  if (!editor) {
    void vscode.window.showInformationMessage('Tether: open a file and place the cursor where the code should go.');
    return;
  }
  await editor.edit((edit) => editor.selections.forEach((s) => edit.replace(s, code)));
  await vscode.window.showTextDocument(editor.document, editor.viewColumn);
}

/** The file "Apply" proposes an edit of: the one the reply named (a workspace file, or a new one
 * under the first folder), else the active editor's. */
async function applyTarget(ref: string | undefined): Promise<string | undefined> {
  if (ref) {
    const found = (await resolveFileRefs([ref]))[ref];
    if (found) return found;
    const folder = vscode.workspace.workspaceFolders?.[0];
    if (folder && !isAbsolute(ref)) return join(folder.uri.fsPath, ref);
  }
  const editor = lastEditor();
  if (editor?.document.uri.scheme === 'file') return editor.document.uri.fsPath;
  void vscode.window.showInformationMessage('Tether: open the file this code is for, then Apply again.');
  return undefined;
}

export class ChatViewProvider implements vscode.WebviewViewProvider {
  static readonly viewId = 'tether.chat';
  private view?: vscode.WebviewView;

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly session: ChatSession,
    private readonly actions: ChatViewActions,
  ) {
    session.subscribe((event) => this.post({ type: 'event', event }));
  }

  resolveWebviewView(view: vscode.WebviewView): void {
    this.view = view;
    const dist = vscode.Uri.joinPath(this.extensionUri, 'dist');
    view.webview.options = { enableScripts: true, localResourceRoots: [dist] };
    view.webview.html = this.html(view.webview, dist);
    view.webview.onDidReceiveMessage((message: WebviewMessage) => void this.receive(message));
    view.onDidDispose(() => {
      if (this.view === view) this.view = undefined;
    });
  }

  /** Whether the panel is on screen (a question shown in it needs no notification). */
  get visible(): boolean {
    return this.view?.visible ?? false;
  }

  focusInput(): void {
    this.post({ type: 'focusInput' });
  }

  showMcp(): void {
    this.post({ type: 'showMcp' });
  }

  private post(message: HostMessage): void {
    void this.view?.webview.postMessage(message);
  }

  private async receive(message: WebviewMessage): Promise<void> {
    const session = this.session;
    switch (message.type) {
      case 'ready':
        this.post({ type: 'snapshot', state: session.current });
        return;
      case 'send':
        // A message the server did not take goes back into the box rather than being lost.
        if (!(await session.send(message.text, message.files))) this.post({ type: 'restoreInput', text: message.text, files: message.files });
        return;
      case 'stop':
        return session.stop();
      case 'stopAgent':
        return session.stopAgent(message.threadId, message.turnId);
      case 'setMode':
        return this.actions.setMode(message.mode);
      case 'selectModel':
        return session.selectModel(message.model);
      case 'newThread':
        return session.newThread();
      case 'openThread':
        return session.openThread(message.threadId);
      case 'refreshHistory':
        await session.refreshHistory();
        return;
      case 'mentionQuery':
        this.post({ type: 'mentions', query: message.query, candidates: await this.actions.findFiles(message.query) });
        return;
      case 'commandApproval':
        return this.actions.commandApproval(message.itemId, message.choice);
      case 'fileReadApproval':
        return this.actions.fileReadApproval(message.itemId, message.choice);
      case 'reviewChange':
        return this.actions.reviewChange(message.itemId);
      case 'mcpToolApproval':
        return this.actions.mcpToolApproval(message.itemId, message.choice);
      case 'elicitationAnswer':
        return this.actions.elicitationAnswer(message.itemId, message.action, message.values);
      case 'mcpRestart':
        return this.actions.mcpRestart(message.name);
      case 'mcpTrust':
        return this.actions.mcpTrust(message.name);
      case 'mcpReload':
        return this.actions.mcpReload();
      case 'showMcp':
        return this.showMcp();
      case 'openFile': {
        const position = new vscode.Position(message.line ?? 0, 0);
        await vscode.window.showTextDocument(vscode.Uri.file(message.path), { selection: new vscode.Range(position, position), preview: true });
        return;
      }
      case 'resolveFileRefs':
        this.post({ type: 'fileRefs', resolved: await resolveFileRefs(message.refs) });
        return;
      case 'undoChange':
        await session.revertChange(message.itemId);
        return;
      case 'reviewTurn':
        await vscode.commands.executeCommand('tether.reviewTurn', message.turnId);
        return;
      case 'reviewTurnFindings':
        await vscode.commands.executeCommand('tether.reviewThisTurn', message.turnId);
        return;
      case 'copyCode':
        await vscode.env.clipboard.writeText(message.code);
        vscode.window.setStatusBarMessage('Tether: code copied', 2000);
        return;
      case 'insertCode':
        return insertAtCursor(message.code);
      case 'applyCode': {
        const path = await applyTarget(message.path);
        if (path) await session.propose(path, message.code);
        return;
      }
    }
  }

  private html(webview: vscode.Webview, dist: vscode.Uri): string {
    const nonce = randomBytes(16).toString('base64');
    const asset = (name: string): string => webview.asWebviewUri(vscode.Uri.joinPath(dist, name)).toString();
    const csp = [
      "default-src 'none'",
      `style-src ${webview.cspSource}`,
      `font-src ${webview.cspSource}`,
      `img-src ${webview.cspSource} data:`,
      `script-src 'nonce-${nonce}'`,
    ].join('; ');
    return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${asset('codicons/codicon.css')}">
<link rel="stylesheet" href="${asset('webview-style.css')}">
<title>Tether</title>
</head>
<body>
<div id="app"></div>
<script nonce="${nonce}" src="${asset('webview.js')}"></script>
</body>
</html>`;
  }
}
