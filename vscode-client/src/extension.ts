/** Wiring only: builds the parts, registers them with VS Code and starts the backend. */
import * as vscode from 'vscode';
import { CommandApprovals } from './approvals/commandApproval';
import { FileReadApprovals } from './approvals/fileReadApproval';
import { API_KEY_SECRET, Backend } from './backend/lifecycle';
import { readSettings } from './backend/settings';
import { ChatViewProvider } from './chat/chatView';
import { findMentionCandidates } from './chat/mentions';
import { ChatSession } from './chat/session';
import { AppliedChanges } from './diff/applied';
import { FileProposals } from './diff/proposals';
import { confirmFullAccess, createModeStatusItem, pickMode } from './mode';
import * as api from './vscodeapi';

let backend: Backend | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const log = api.createOutputChannel('Tether');
  const { settings } = readSettings(api.getConfiguration('tether'));
  const session = new ChatSession(
    {
      confirmFullAccess,
      showError: (message, configure) => {
        const actions = configure ? ['Set API Key', 'Open Settings'] : [];
        void api.showErrorMessage(message, ...actions).then((choice) => {
          if (choice === 'Set API Key') void api.executeCommand('tether.setApiKey');
          if (choice === 'Open Settings') void api.executeCommand('workbench.action.openSettings', 'tether.');
        });
      },
      workspace: () => {
        const [first, ...rest] = api.workspaceFolders().map((f) => f.uri.fsPath);
        return first ? { cwd: first, roots: rest } : undefined;
      },
    },
    settings.defaultMode,
  );
  const commandApprovals = new CommandApprovals(session);
  const proposals = new FileProposals(session);
  const reads = new FileReadApprovals(session);
  const applied = new AppliedChanges(session);
  const chatView = new ChatViewProvider(context.extensionUri, session, {
    commandApproval: (itemId, choice) => commandApprovals.answer(itemId, choice),
    fileReadApproval: (itemId, choice) => reads.answer(itemId, choice),
    reviewChange: (itemId) => proposals.show(itemId),
    setMode: async (mode) => void (await session.setMode(mode)),
    findFiles: findMentionCandidates,
  });
  backend = new Backend(context, session, commandApprovals, proposals, reads, log);

  context.subscriptions.push(
    log,
    backend,
    proposals.register(),
    applied.register(),
    createModeStatusItem(session),
    vscode.window.registerWebviewViewProvider(ChatViewProvider.viewId, chatView, { webviewOptions: { retainContextWhenHidden: true } }),
    api.registerCommand('tether.setApiKey', async () => {
      const key = await api.showInputBox({ title: 'OpenAI-compatible API key', prompt: 'Stored in VS Code SecretStorage; the backend gets it through its environment.', password: true, ignoreFocusOut: true });
      if (key === undefined) return;
      await context.secrets.store(API_KEY_SECRET, key.trim());
      await backend?.restart();
    }),
    api.registerCommand('tether.clearApiKey', async () => {
      await context.secrets.delete(API_KEY_SECRET);
      await backend?.restart();
    }),
    api.registerCommand('tether.newThread', () => {
      session.newThread();
      chatView.focusInput();
    }),
    api.registerCommand('tether.showHistory', async () => {
      const threads = await session.refreshHistory();
      const picked = await api.showQuickPick(
        threads.map((t) => ({ label: t.title || '(untitled)', description: new Date(t.updatedAt).toLocaleString(), detail: t.cwd, id: t.id })),
        { title: 'Tether threads', matchOnDetail: true },
      );
      if (picked) await session.openThread(picked.id);
    }),
    api.registerCommand('tether.setMode', () => pickMode(session)),
    api.registerCommand('tether.restartServer', () => backend?.restart()),
    api.registerCommand('tether.focusChat', () => api.executeCommand('tether.chat.focus')),
    api.registerCommand('tether.acceptAllHunks', (uri?: vscode.Uri) => proposals.decideAll(uri, 'accepted')),
    api.registerCommand('tether.rejectAllHunks', (uri?: vscode.Uri) => proposals.decideAll(uri, 'rejected')),
    api.registerCommand('tether.acceptHunk', (itemId: string, path: string, index: number) => proposals.decide(itemId, path, index, 'accepted')),
    api.registerCommand('tether.rejectHunk', (itemId: string, path: string, index: number) => proposals.decide(itemId, path, index, 'rejected')),
    api.registerCommand('tether.undoHunk', (itemId: string, path: string, index: number) => applied.undo(itemId, path, index)),
    api.registerCommand('tether.keepHunk', (itemId: string, path: string, index: number) => applied.keep(itemId, path, index)),
    api.registerCommand('tether.showPendingApproval', async () => {
      const pending = session.current.approvals;
      const picked = await api.showQuickPick(
        pending.map((a) => ({ label: a.kind === 'command' ? `$(terminal) ${a.command}` : a.kind === 'fileRead' ? `$(file) read ${a.path}` : `$(diff) ${a.changes.length} file(s)`, approval: a })),
        { title: pending.length ? 'Pending Tether approvals' : 'No approval is pending' },
      );
      const approval = picked?.approval;
      if (approval?.kind === 'command') await commandApprovals.remind(approval.itemId);
      if (approval?.kind === 'fileChange') await proposals.show(approval.itemId);
      if (approval?.kind === 'fileRead') await reads.remind(approval);
    }),
    api.onDidChangeConfiguration((e) => {
      // The interpreter and the state directory are fixed for a process's life.
      if (e.affectsConfiguration('tether.pythonPath') || e.affectsConfiguration('tether.home')) void backend?.restart();
      else if (e.affectsConfiguration('tether')) void backend?.settingsChanged();
    }),
  );
  void backend.start();
}

export async function deactivate(): Promise<void> {
  await backend?.stop();
}
