/** Command approvals: each `approval/commandExecution` request becomes a notification with Run,
 * Run for session and More… (Always allow…, Decline, Stop), and a card in the panel with every
 * choice. The first answer from either place settles the request; a closed notification leaves
 * it pending. */
import type { CancellationToken } from 'vscode-languageclient/node';
import type { ChatSession } from '../chat/session';
import type { CommandApprovalParams, CommandApprovalResult } from '../protocol';
import * as api from '../vscodeapi';
import { ALWAYS_ALLOW, type CommandChoice, MORE, MORE_CHOICES, SCOPE_CHOICES, TOAST_CHOICES, alwaysAllowResult, commandApprovalMessage, decisionFor, ruleChoices } from './rules';

interface OpenApproval {
  params: CommandApprovalParams;
  settle(result: CommandApprovalResult): void;
}

export class CommandApprovals {
  private readonly open = new Map<string, OpenApproval>();

  constructor(private readonly session: ChatSession) {}

  /** The handler of `approval/commandExecution`. */
  request(params: CommandApprovalParams, token: CancellationToken): Promise<CommandApprovalResult> {
    return new Promise((resolve) => {
      const settle = (result: CommandApprovalResult): void => {
        if (!this.open.delete(params.itemId)) return;
        this.session.dispatch({ type: 'approvalClosed', itemId: params.itemId });
        resolve(result);
      };
      this.open.set(params.itemId, { params, settle });
      this.session.dispatch({ type: 'approvalOpened', approval: { kind: 'command', ...params } });
      // The server cancels when the turn is interrupted; the answer no longer matters.
      token.onCancellationRequested(() => settle({ decision: 'cancel' }));
      void this.remind(params.itemId);
    });
  }

  async remind(itemId: string): Promise<void> {
    const entry = this.open.get(itemId);
    if (!entry) return;
    const choice = await api.showWarningMessage(commandApprovalMessage(entry.params), { modal: false }, ...TOAST_CHOICES);
    if (choice === MORE) {
      const more = await api.showQuickPick(
        MORE_CHOICES.map((label) => ({ label, choice: label })),
        { title: 'Tether wants to run a command', placeHolder: entry.params.command },
      );
      if (more) await this.answer(itemId, more.choice);
      else void this.remind(itemId);
    } else if (choice) await this.answer(itemId, choice);
  }

  /** Answers from the notification or the panel's buttons. */
  async answer(itemId: string, choice: CommandChoice): Promise<void> {
    const entry = this.open.get(itemId);
    if (!entry) return;
    if (choice !== ALWAYS_ALLOW) {
      entry.settle(decisionFor(choice));
      return;
    }
    const result = await this.pickRule(entry.params);
    // Backing out of the pick returns to the question rather than deciding anything.
    if (result) entry.settle(result);
    else void this.remind(itemId);
  }

  private async pickRule(params: CommandApprovalParams): Promise<CommandApprovalResult | undefined> {
    const choices = ruleChoices(params);
    if (choices.length === 0) {
      void api.showInformationMessage('The server suggested no rule for this command; choose Run once or Run for session.');
      return undefined;
    }
    const rule = await api.showQuickPick(choices, { title: 'Always allow commands that start with…', placeHolder: params.command, matchOnDescription: true });
    if (!rule) return undefined;
    const scope = await api.showQuickPick(SCOPE_CHOICES, { title: `Where to save the rule "${rule.label}"` });
    if (!scope) return undefined;
    return alwaysAllowResult(rule.rule, scope.scope);
  }

  /** Settles every open approval when the server goes away. */
  cancelAll(): void {
    for (const entry of [...this.open.values()]) entry.settle({ decision: 'cancel' });
  }
}
