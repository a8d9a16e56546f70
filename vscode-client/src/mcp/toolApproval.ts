/** MCP tool approvals (`approval/mcpToolCall`), in the flow of command approvals: a notification
 * with Allow, Allow for session and More… (Always allow, Decline, Stop), and a card in the panel
 * with every choice. The first answer from either place settles the request; a closed
 * notification leaves it pending (Tether: Show Pending Approval brings it back). */
import type { CancellationToken } from 'vscode-languageclient/node';
import type { ChatSession } from '../chat/session';
import type { McpToolCallApprovalParams, McpToolCallApprovalResult } from '../protocol';
import * as api from '../vscodeapi';
import { MCP_ALWAYS, MCP_CHOICE_DETAILS, MCP_DECISIONS, MCP_MORE, MCP_MORE_CHOICES, MCP_TOAST_CHOICES, type McpChoice, mcpApprovalMessage } from './present';

export class McpToolApprovals {
  private readonly open = new Map<string, { params: McpToolCallApprovalParams; settle(result: McpToolCallApprovalResult): void }>();

  constructor(private readonly session: ChatSession) {}

  /** The handler of `approval/mcpToolCall`. */
  request(params: McpToolCallApprovalParams, token: CancellationToken): Promise<McpToolCallApprovalResult> {
    return new Promise((resolve) => {
      const settle = (result: McpToolCallApprovalResult): void => {
        if (!this.open.delete(params.itemId)) return;
        this.session.dispatch({ type: 'approvalClosed', itemId: params.itemId });
        resolve(result);
      };
      this.open.set(params.itemId, { params, settle });
      this.session.dispatch({ type: 'approvalOpened', approval: { kind: 'mcpTool', ...params } });
      // The server cancels when the turn is interrupted; the answer no longer matters.
      token.onCancellationRequested(() => settle({ decision: 'cancel' }));
      void this.remind(params.itemId);
    });
  }

  async remind(itemId: string): Promise<void> {
    const entry = this.open.get(itemId);
    if (!entry) return;
    const choice = await api.showWarningMessage(mcpApprovalMessage(entry.params), { modal: false }, ...MCP_TOAST_CHOICES);
    if (choice === MCP_MORE) {
      const more = await api.showQuickPick(
        MCP_MORE_CHOICES.map((label) => ({ label, detail: MCP_CHOICE_DETAILS[label], choice: label })),
        { title: `Tether wants to call ${entry.params.tool} of ${entry.params.server}` },
      );
      if (more) this.answer(itemId, more.choice);
      else void this.remind(itemId);
    } else if (choice) this.answer(itemId, choice);
  }

  /** Answers from the notification or the panel's buttons. */
  answer(itemId: string, choice: McpChoice): void {
    const entry = this.open.get(itemId);
    if (!entry) return;
    entry.settle({ decision: MCP_DECISIONS[choice] });
    if (choice === MCP_ALWAYS) void api.showInformationMessage(`Tether: ${entry.params.tool} of ${entry.params.server} runs unasked from now on (approval_mode = "approve" in your config.toml).`);
  }

  /** Settles every open approval when the server goes away. */
  cancelAll(): void {
    for (const entry of [...this.open.values()]) entry.settle({ decision: 'cancel' });
  }
}
