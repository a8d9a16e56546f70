/** The mode toggle outside the panel: a status bar item showing the shown thread's mode, and the
 * Set Mode command it runs. Full access asks for confirmation (in ChatSession.setMode). */
import * as vscode from 'vscode';
import type { ChatSession } from './chat/session';
import { MODES } from './protocol';
import { MODE_LABELS, sandboxSummary } from './state/present';
import * as api from './vscodeapi';

export async function confirmFullAccess(): Promise<boolean> {
  const go = 'Switch to Full Access';
  const answer = await api.showWarningMessage(
    'Full access lets Tether edit any file and run any command without asking and without a sandbox. Switch?',
    { modal: true },
    go,
  );
  return answer === go;
}

export async function pickMode(session: ChatSession): Promise<void> {
  const items = MODES.map((mode) => ({
    label: `$(${MODE_LABELS[mode].icon}) ${MODE_LABELS[mode].label}`,
    description: mode === session.current.mode ? 'current' : undefined,
    detail: MODE_LABELS[mode].detail,
    mode,
  }));
  const sandbox = sandboxSummary(session.sandbox);
  const picked = await api.showQuickPick(items, { title: 'Tether mode', placeHolder: sandbox });
  if (picked) await session.setMode(picked.mode);
}

export function createModeStatusItem(session: ChatSession): vscode.Disposable {
  const item = vscode.window.createStatusBarItem('tether.mode', vscode.StatusBarAlignment.Right, 100);
  item.name = 'Tether mode';
  item.command = 'tether.setMode';
  const render = (): void => {
    const mode = session.current.mode;
    const pending = session.current.approvals.length;
    const bell = pending ? `  $(bell-dot) ${pending}` : '';
    const waiting = pending ? `\n${pending} approval(s) waiting in the Tether panel.` : '';
    item.text = mode ? `$(${MODE_LABELS[mode].icon}) Tether: ${MODE_LABELS[mode].label}${bell}` : `$(loading~spin) Tether${bell}`;
    const sandbox = sandboxSummary(session.sandbox);
    item.tooltip = mode ? `${MODE_LABELS[mode].detail}${sandbox ? `\n\n${sandbox}` : ''}\n\nClick to change the mode.${waiting}` : 'Tether is starting.';
    item.backgroundColor = mode === 'fullAccess' ? new vscode.ThemeColor('statusBarItem.warningBackground') : undefined;
  };
  render();
  item.show();
  const subscription = session.subscribe(render);
  return vscode.Disposable.from(item, { dispose: () => subscription.dispose() });
}
