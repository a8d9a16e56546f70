/** Questions an MCP server asks the user (`mcpServer/elicitation`). Form mode: a form in the
 * panel built from the requested schema (Submit, Decline, Cancel), announced by a notification
 * that leads there. URL mode: the full address in a modal; Open hands it to the browser and
 * answers accept, since the server learns the outcome from the page itself. */
import type { CancellationToken } from 'vscode-languageclient/node';
import type { ChatSession } from '../chat/session';
import type { McpElicitationParams, McpElicitationResult } from '../protocol';
import * as api from '../vscodeapi';
import { type FormValues, formContent, parseForm } from './elicitationForm';
import { urlElicitationMessage, urlProblem } from './present';

export type ElicitationAction = McpElicitationResult['action'];

export class McpElicitations {
  private readonly open = new Map<string, { params: McpElicitationParams; settle(result: McpElicitationResult): void }>();
  private count = 0;

  constructor(
    private readonly session: ChatSession,
    private readonly panel: { show(): void; visible(): boolean },
  ) {}

  /** The handler of `mcpServer/elicitation`. */
  request(params: McpElicitationParams, token: CancellationToken): Promise<McpElicitationResult> {
    return params.mode === 'url' ? this.askUrl(params, token) : this.askForm(params, token);
  }

  private askForm(params: McpElicitationParams, token: CancellationToken): Promise<McpElicitationResult> {
    const itemId = `elicitation-${++this.count}`;
    return new Promise((resolve) => {
      const settle = (result: McpElicitationResult): void => {
        if (!this.open.delete(itemId)) return;
        this.session.dispatch({ type: 'approvalClosed', itemId });
        resolve(result);
      };
      this.open.set(itemId, { params, settle });
      this.session.dispatch({ type: 'approvalOpened', approval: { kind: 'elicitation', itemId, ...params } });
      token.onCancellationRequested(() => settle({ action: 'cancel' }));
      // In sight, the form is the question; a notification would outlive the answer (VS Code
      // cannot close one), so it comes only when the panel is hidden.
      if (!this.panel.visible()) void this.remind(itemId);
    });
  }

  /** A notification that leads to the form (answering happens in the panel, where the fields are). */
  async remind(itemId: string): Promise<void> {
    const entry = this.open.get(itemId);
    if (!entry) return;
    const choice = await api.showInformationMessage(`The MCP server “${entry.params.server}” asks: ${entry.params.message}`, 'Answer…', 'Decline');
    if (choice === 'Answer…') this.panel.show();
    if (choice === 'Decline') this.answer(itemId, 'decline');
  }

  /** From the panel's form. Accept with input the schema refuses settles nothing (the form shows
   * why before it ever posts; this is the host's own check). */
  answer(itemId: string, action: ElicitationAction, values: FormValues = {}): void {
    const entry = this.open.get(itemId);
    if (!entry) return;
    if (action !== 'accept') {
      entry.settle({ action });
      return;
    }
    const form = parseForm(entry.params.requestedSchema);
    if (form.problems.length) return;
    const checked = formContent(form.fields, values);
    if ('content' in checked) entry.settle({ action: 'accept', content: checked.content });
  }

  private async askUrl(params: McpElicitationParams, token: CancellationToken): Promise<McpElicitationResult> {
    const problem = urlProblem(params.url);
    if (problem) {
      void api.showWarningMessage(`The MCP server “${params.server}” asked Tether to open a link, which was declined: ${problem}.`, { modal: false });
      return { action: 'decline' };
    }
    const choice = await Promise.race([
      api.showWarningMessage(urlElicitationMessage(params), { modal: true }, 'Open', 'Decline'),
      new Promise<'cancelled'>((resolve) => token.onCancellationRequested(() => resolve('cancelled'))),
    ]);
    if (choice === 'cancelled' || choice === undefined) return { action: 'cancel' };
    if (choice === 'Decline') return { action: 'decline' };
    await api.openExternal(params.url!);
    return { action: 'accept' };
  }

  cancelAll(): void {
    for (const entry of [...this.open.values()]) entry.settle({ action: 'cancel' });
  }
}
