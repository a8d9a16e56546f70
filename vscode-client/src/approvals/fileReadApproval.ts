/** Reads outside the workspace (`approval/fileRead`): a notification with Allow once, Allow for
 * session, Decline and Stop, mirrored in the panel; the first answer settles the request. */
import type { CancellationToken } from 'vscode-languageclient/node';
import type { ChatSession } from '../chat/session';
import type { FileReadApprovalParams, FileReadApprovalResult } from '../protocol';
import * as api from '../vscodeapi';
import { READ_CHOICES, READ_DECISIONS, type ReadChoice, fileReadMessage } from './rules';

export class FileReadApprovals {
  private readonly open = new Map<string, (result: FileReadApprovalResult) => void>();

  constructor(private readonly session: ChatSession) {}

  request(params: FileReadApprovalParams, token: CancellationToken): Promise<FileReadApprovalResult> {
    return new Promise((resolve) => {
      const settle = (result: FileReadApprovalResult): void => {
        if (!this.open.delete(params.itemId)) return;
        this.session.dispatch({ type: 'approvalClosed', itemId: params.itemId });
        resolve(result);
      };
      this.open.set(params.itemId, settle);
      this.session.dispatch({ type: 'approvalOpened', approval: { kind: 'fileRead', ...params } });
      token.onCancellationRequested(() => settle({ decision: 'cancel' }));
      void this.remind(params);
    });
  }

  async remind(params: FileReadApprovalParams): Promise<void> {
    if (!this.open.has(params.itemId)) return;
    const choice = await api.showWarningMessage(fileReadMessage(params), { modal: false }, ...READ_CHOICES);
    if (choice) this.answer(params.itemId, choice);
  }

  answer(itemId: string, choice: ReadChoice): void {
    this.open.get(itemId)?.({ decision: READ_DECISIONS[choice] });
  }

  cancelAll(): void {
    for (const settle of [...this.open.values()]) settle({ decision: 'cancel' });
  }
}
