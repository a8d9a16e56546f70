/** The host side of the panel's MCP section: restart and reload, and the trust a server defined
 * by the project needs before it starts (asked once per definition, in a modal that shows what
 * would run and how it is confined; a changed definition has a new digest and asks again). */
import type { ChatSession } from '../chat/session';
import type { McpServer } from '../protocol';
import * as api from '../vscodeapi';
import { serversToAsk, trustMessage } from './present';

const TRUST = 'Trust and start';
const DISTRUST = "Don't trust";

export class McpServers {
  /** Digests already offered in this window: one notification per definition. */
  private readonly asked = new Set<string>();

  constructor(private readonly session: ChatSession) {
    session.subscribe((event, state) => {
      if (event.type === 'mcpServers' || (event.type === 'notification' && event.notification.method === 'mcpServer/statusChanged')) {
        for (const server of serversToAsk(state.mcpServers ?? [], this.asked)) void this.offerTrust(server);
      }
    });
  }

  private server(name: string): McpServer | undefined {
    return this.session.current.mcpServers?.find((s) => s.name === name);
  }

  private async offerTrust(server: McpServer): Promise<void> {
    this.asked.add(server.digest!);
    const choice = await api.showWarningMessage(`This workspace defines the MCP server “${server.name}”; it starts only once you trust it.`, { modal: false }, 'Review…', DISTRUST);
    if (choice === 'Review…') await this.trust(server.name);
    if (choice === DISTRUST) await this.session.trustMcpServer(server, 'decline');
  }

  /** From the panel's Trust button or the notification: the modal decides. */
  async trust(name: string): Promise<void> {
    const server = this.server(name);
    // A late click on the offer's notification: the panel may have settled it meanwhile.
    if (!server?.digest || server.status !== 'untrusted') return;
    const choice = await api.showWarningMessage(trustMessage(server), { modal: true }, TRUST, DISTRUST);
    if (choice === undefined) return;
    await this.session.trustMcpServer(server, choice === TRUST ? 'accept' : 'decline');
  }

  async restart(name: string): Promise<void> {
    await this.session.reloadMcpServers(name);
  }

  async reloadAll(): Promise<void> {
    if (!this.session.current.thread) {
      void api.showInformationMessage('Tether: MCP servers start with a thread; send a message first.');
      return;
    }
    await this.session.reloadMcpServers();
  }
}
