/** Wiring only: builds the parts, registers them with VS Code and starts the backend. */
import * as vscode from 'vscode';
import { CommandApprovals } from './approvals/commandApproval';
import { FileReadApprovals } from './approvals/fileReadApproval';
import { Backend } from './backend/lifecycle';
import { clearApiKey, setApiKey, showHistory, showPendingApproval } from './commands';
import { modelSetupMessage, readSettings } from './backend/settings';
import { ChatViewProvider } from './chat/chatView';
import { findMentionCandidates } from './chat/mentions';
import { ChatSession } from './chat/session';
import { AppliedChanges } from './diff/applied';
import { FileProposals } from './diff/proposals';
import { InlineChat } from './inline/inlineChat';
import { McpElicitations } from './mcp/elicitation';
import { McpServers } from './mcp/servers';
import { McpToolApprovals } from './mcp/toolApproval';
import { ReviewFindings } from './review/findings';
import { TurnChanges } from './review/turnChanges';
import { confirmFullAccess, createModeStatusItem, pickMode } from './mode';
import * as api from './vscodeapi';

let backend: Backend | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const log = api.createOutputChannel('Tether');
  const LAST_THREAD = 'tether.lastThread';
  const session = new ChatSession({
    confirmFullAccess,
    showError: (message) => void api.showErrorMessage(message),
    showModelSetup: () => {
      const message = modelSetupMessage(readSettings(api.getConfiguration('tether')).settings);
      void api.showErrorMessage(message, 'Set API Key', 'Open Settings').then((choice) => {
        if (choice === 'Set API Key') void api.executeCommand('tether.setApiKey');
        if (choice === 'Open Settings') void api.executeCommand('workbench.action.openSettings', 'tether.');
      });
    },
    workspace: () => {
      const [first, ...rest] = api.workspaceFolders().map((f) => f.uri.fsPath);
      return first ? { cwd: first, roots: rest } : undefined;
    },
    configuredMode: () => readSettings(api.getConfiguration('tether')).settings.defaultMode,
    lastThread: {
      get: () => context.workspaceState.get<string>(LAST_THREAD),
      set: (threadId) => void context.workspaceState.update(LAST_THREAD, threadId),
    },
  });
  const commandApprovals = new CommandApprovals(session);
  const inlineChat = new InlineChat(session);
  const proposals = new FileProposals(session, (params) => inlineChat.ownsProposal(params));
  const reads = new FileReadApprovals(session);
  const applied = new AppliedChanges(session, (itemId) => proposals.wasReviewed(itemId));
  const mcpTools = new McpToolApprovals(session);
  const showChat = (): void => void api.executeCommand(`${ChatViewProvider.viewId}.focus`);
  const elicitations = new McpElicitations(session, { show: showChat, visible: () => chatView.visible });
  const mcpServers = new McpServers(session);
  const chatView = new ChatViewProvider(context.extensionUri, session, {
    commandApproval: (itemId, choice) => commandApprovals.answer(itemId, choice),
    fileReadApproval: (itemId, choice) => reads.answer(itemId, choice),
    reviewChange: (itemId) => proposals.show(itemId),
    setMode: async (mode) => void (await session.setMode(mode)),
    findFiles: findMentionCandidates,
    mcpToolApproval: (itemId, choice) => mcpTools.answer(itemId, choice),
    elicitationAnswer: (itemId, action, values) => elicitations.answer(itemId, action, values),
    mcpRestart: (name) => mcpServers.restart(name),
    mcpTrust: (name) => mcpServers.trust(name),
    mcpReload: () => mcpServers.reloadAll(),
  });
  backend = new Backend(context, session, commandApprovals, proposals, reads, { tools: mcpTools, elicitations }, log);
  const turnChanges = new TurnChanges(session, () => backend?.rpc);
  const DISMISSED_FINDINGS = 'tether.dismissedFindings';
  const reviews = new ReviewFindings(session, {
    get: () => context.workspaceState.get<string[]>(DISMISSED_FINDINGS) ?? [],
    set: (ids) => void context.workspaceState.update(DISMISSED_FINDINGS, ids),
  });
  const restart = (): Promise<void> => backend?.restart() ?? Promise.resolve();

  context.subscriptions.push(
    log,
    backend,
    proposals.register(),
    applied.register(),
    turnChanges.register(),
    reviews,
    api.registerCommand('tether.reviewUncommitted', () => reviews.reviewUncommitted()),
    api.registerCommand('tether.reviewBranch', () => reviews.reviewBranch()),
    api.registerCommand('tether.reviewCommit', () => reviews.reviewCommit()),
    api.registerCommand('tether.reviewThisTurn', (turnId?: unknown) => reviews.reviewTurn(typeof turnId === 'string' ? turnId : undefined)),
    api.registerCommand('tether.fixFinding', (thread: vscode.CommentThread) => reviews.fix(thread)),
    api.registerCommand('tether.applyFindingSuggestion', (thread: vscode.CommentThread) => reviews.apply(thread)),
    api.registerCommand('tether.dismissFinding', (thread: vscode.CommentThread) => reviews.dismiss(thread)),
    inlineChat,
    createModeStatusItem(session),
    vscode.window.registerWebviewViewProvider(ChatViewProvider.viewId, chatView, { webviewOptions: { retainContextWhenHidden: true } }),
    api.registerCommand('tether.setApiKey', () => setApiKey(context.secrets, restart)),
    api.registerCommand('tether.clearApiKey', () => clearApiKey(context.secrets, restart)),
    api.registerCommand('tether.newThread', () => {
      session.newThread();
      chatView.focusInput();
    }),
    api.registerCommand('tether.showHistory', () => showHistory(session)),
    api.registerCommand('tether.setMode', () => pickMode(session)),
    api.registerCommand('tether.restartServer', () => backend?.restart()),
    api.registerCommand('tether.showMcpServers', async () => {
      await api.executeCommand(`${ChatViewProvider.viewId}.focus`);
      chatView.showMcp();
    }),
    api.registerCommand('tether.reloadMcpServers', () => mcpServers.reloadAll()),
    api.registerCommand('tether.inlineChat', () => inlineChat.start()),
    // From the palette no argument (the latest turn); from the chat the turn's id.
    api.registerCommand('tether.reviewTurn', (turnId?: unknown) => turnChanges.show(typeof turnId === 'string' ? turnId : undefined)),
    api.registerCommand('tether.acceptAllHunks', (uri?: vscode.Uri) => proposals.decideAll(uri, 'accepted')),
    api.registerCommand('tether.rejectAllHunks', (uri?: vscode.Uri) => proposals.decideAll(uri, 'rejected')),
    api.registerCommand('tether.acceptHunk', (itemId: string, path: string, index: number) => proposals.decide(itemId, path, index, 'accepted')),
    api.registerCommand('tether.rejectHunk', (itemId: string, path: string, index: number) => proposals.decide(itemId, path, index, 'rejected')),
    api.registerCommand('tether.undoHunk', (itemId: string, path: string, index: number) => applied.undo(itemId, path, index)),
    api.registerCommand('tether.keepHunk', (itemId: string, path: string, index: number) => applied.keep(itemId, path, index)),
    api.registerCommand('tether.showPendingApproval', () =>
      showPendingApproval(session, async (approval) => {
        if (approval.kind === 'command') await commandApprovals.remind(approval.itemId);
        if (approval.kind === 'fileChange') await proposals.show(approval.itemId);
        if (approval.kind === 'fileRead') await reads.remind(approval);
        if (approval.kind === 'mcpTool') await mcpTools.remind(approval.itemId);
        if (approval.kind === 'elicitation') showChat();
      }),
    ),
    api.onDidChangeConfiguration((e) => {
      // The interpreter and the state directory are fixed for a process's life.
      if (e.affectsConfiguration('tether.pythonPath') || e.affectsConfiguration('tether.home')) void backend?.restart();
      else if (e.affectsConfiguration('tether')) void backend?.settingsChanged(e);
    }),
  );
  void backend.start();
}

export async function deactivate(): Promise<void> {
  await backend?.stop();
}
