/** Command palette actions that need a dialog: the API key, thread history and pending approvals. */
import type * as vscode from 'vscode';
import type { ChatSession } from './chat/session';
import type { PendingApproval } from './state/reducer';
import { API_KEY_SECRET } from './backend/lifecycle';
import * as api from './vscodeapi';

/** Stores the key in SecretStorage only; the backend restarts to get it through its environment. */
export async function setApiKey(secrets: vscode.SecretStorage, restart: () => Promise<void>): Promise<void> {
  const key = await api.showInputBox({
    title: 'OpenAI-compatible API key',
    prompt: 'Stored in VS Code SecretStorage; the backend gets it through its environment, never through settings.',
    password: true,
    ignoreFocusOut: true,
  });
  if (key === undefined) return;
  if (!key.trim()) {
    void api.showInformationMessage('No key was entered; the stored API key is unchanged.');
    return;
  }
  await secrets.store(API_KEY_SECRET, key.trim());
  await restart();
  void api.showInformationMessage('Tether: API key saved. The backend uses it from now on.');
}

export async function clearApiKey(secrets: vscode.SecretStorage, restart: () => Promise<void>): Promise<void> {
  await secrets.delete(API_KEY_SECRET);
  await restart();
  void api.showInformationMessage('Tether: API key removed.');
}

export async function showHistory(session: ChatSession): Promise<void> {
  const threads = await session.refreshHistory();
  const picked = await api.showQuickPick(
    threads.map((t) => ({ label: t.title || '(untitled)', description: new Date(t.updatedAt).toLocaleString(), detail: t.cwd, id: t.id })),
    { title: 'Tether threads', matchOnDetail: true },
  );
  if (picked) await session.openThread(picked.id);
}

function approvalLabel(approval: PendingApproval): string {
  switch (approval.kind) {
    case 'command':
      return `$(terminal) ${approval.command}`;
    case 'fileRead':
      return `$(file) read ${approval.path}`;
    case 'fileChange':
      return `$(diff) edits to ${approval.changes.length} file(s)`;
    case 'mcpTool':
      return `$(tools) ${approval.tool} of ${approval.server}`;
    case 'elicitation':
      return `$(question) ${approval.server} asks: ${approval.message}`;
  }
}

/** Brings a pending approval back (a closed notification, a closed diff). */
export async function showPendingApproval(session: ChatSession, show: (approval: PendingApproval) => Promise<void>): Promise<void> {
  const pending = session.current.approvals;
  const picked = await api.showQuickPick(
    pending.map((approval) => ({ label: approvalLabel(approval), approval })),
    { title: pending.length ? 'Pending Tether approvals' : 'No approval is pending' },
  );
  if (picked) await show(picked.approval);
}
