/** How MCP servers, their tools and tool calls are put into words for the panel, the tool-call
 * card and the approval popup. Pure and shared by the webview and the host. */
import type { ItemOf, McpElicitationParams, McpServer, McpTool, McpToolAnnotations, McpToolCallApprovalParams, McpToolCallApprovalResult } from '../protocol';

export type McpServerStatus = McpServer['status'];

export const STATUS_WORDS: Record<McpServerStatus, { icon: string; label: string }> = {
  starting: { icon: 'loading codicon-modifier-spin', label: 'starting' },
  ready: { icon: 'pass', label: 'ready' },
  failed: { icon: 'error', label: 'failed' },
  disabled: { icon: 'circle-slash', label: 'disabled' },
  untrusted: { icon: 'workspace-untrusted', label: 'not trusted yet' },
};

/** What the server's process may do. "none" must never read as if it were safe. */
export function sandboxWords(server: Pick<McpServer, 'sandbox' | 'network' | 'transport'>): { label: string; unsandboxed: boolean } {
  switch (server.sandbox) {
    case 'none':
      return { label: 'unsandboxed: runs as you, can do anything you can', unsandboxed: true };
    case 'remote':
      return { label: 'remote (HTTP): not a process on this machine', unsandboxed: false };
    case 'workspaceWrite':
      return { label: server.network ? 'sandboxed: writes in this folder, network allowed' : 'sandboxed: writes in this folder, no network', unsandboxed: false };
  }
}

/** One line for the section's header: "2 of 3 ready", with what needs the user first. */
export function serversSummary(servers: readonly McpServer[]): { label: string; attention: boolean } {
  if (servers.length === 0) return { label: 'No MCP servers', attention: false };
  const ready = servers.filter((s) => s.status === 'ready').length;
  const untrusted = servers.filter((s) => s.status === 'untrusted' && s.trust !== 'declined').length;
  const failed = servers.filter((s) => s.status === 'failed').length;
  const starting = servers.filter((s) => s.status === 'starting').length;
  const parts = [`${ready} of ${servers.length} ready`];
  if (starting) parts.push(`${starting} starting`);
  if (failed) parts.push(`${failed} failed`);
  if (untrusted) parts.push(`${untrusted} to trust`);
  return { label: parts.join(', '), attention: failed > 0 || untrusted > 0 };
}

/** The servers in a stable order: those that need the user first, then by name. */
export function sortServers(servers: readonly McpServer[]): McpServer[] {
  const rank: Record<McpServerStatus, number> = { untrusted: 0, failed: 1, starting: 2, ready: 3, disabled: 4 };
  return [...servers].sort((a, b) => rank[a.status] - rank[b.status] || a.name.localeCompare(b.name));
}

/** A server's new state from `mcpServer/statusChanged`: replaces the one of that name, or joins. */
export function upsertServer(servers: readonly McpServer[], server: McpServer): McpServer[] {
  const index = servers.findIndex((s) => s.name === server.name);
  if (index < 0) return [...servers, server];
  const next = servers.slice();
  next[index] = server;
  return next;
}

/** The hints a tool's server gave, as short tags; they come from the server and are not checked. */
export function annotationTags(annotations: McpToolAnnotations | null | undefined): string[] {
  if (!annotations) return [];
  const tags: string[] = [];
  if (annotations.readOnlyHint) tags.push('read-only');
  if (annotations.destructiveHint) tags.push('destructive');
  if (annotations.openWorldHint) tags.push('open world');
  return tags;
}

export function approvalModeWords(tool: Pick<McpTool, 'approvalMode'>): string | undefined {
  if (tool.approvalMode === 'approve') return 'always allowed';
  if (tool.approvalMode === 'prompt') return 'always asks';
  return undefined;
}

const ARGS_LIMIT = 160;

/** Arguments on one line, cut for a notification: `{"path": "a.txt"}`. */
export function argumentsLine(args: unknown, limit = ARGS_LIMIT): string {
  if (args === undefined || args === null) return '';
  if (typeof args === 'object' && Object.keys(args).length === 0) return '';
  let text: string;
  try {
    text = JSON.stringify(args) ?? '';
  } catch {
    text = String(args);
  }
  return text.length > limit ? `${text.slice(0, limit - 1)}…` : text;
}

/** The card's head after `server › `: the tool and its first plain argument (a string, else a
 * number), as the other tool cards do. */
export function toolCallSummary(item: Pick<ItemOf<'mcpToolCall'>, 'server' | 'tool' | 'arguments'>): string {
  const args = item.arguments as Record<string, unknown> | null;
  const values = args && typeof args === 'object' ? Object.values(args) : [];
  const first = values.find((v) => typeof v === 'string') ?? values.find((v) => typeof v === 'number');
  return first ? `${item.tool} ${String(first)}` : item.tool;
}

/** What the card shows of a result: its text blocks as the server wrote them, else the text the
 * model was given (which adds the structured content, as JSON, after the text). */
export function resultText(result: { content: readonly unknown[]; output: string } | null | undefined): string {
  if (!result) return '';
  const texts = result.content.flatMap((b) => (typeof b === 'object' && b !== null && (b as { type?: unknown }).type === 'text' && typeof (b as { text?: unknown }).text === 'string' ? [(b as { text: string }).text] : []));
  return texts.length ? texts.join('\n') : result.output;
}

/** The content blocks of a result that are not text, named: "image (image/png)". */
export function otherContent(content: readonly unknown[]): string[] {
  return content.flatMap((block) => {
    if (typeof block !== 'object' || block === null) return [];
    const b = block as { type?: unknown; mimeType?: unknown; uri?: unknown; name?: unknown; resource?: { uri?: unknown } };
    if (b.type === 'text') return [];
    const what = typeof b.type === 'string' ? b.type.replace('_', ' ') : 'content';
    const detail = [b.mimeType, b.name, b.uri, b.resource?.uri].find((v) => typeof v === 'string');
    return [detail ? `${what} (${String(detail)})` : what];
  });
}

export function durationWords(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '';
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}

// The approval popup, in the same flow as command approvals (approvals/rules.ts).
export const MCP_ALLOW = 'Allow';
export const MCP_ALLOW_SESSION = 'Allow for session';
export const MCP_ALWAYS = 'Always allow';
export const MCP_DECLINE = 'Decline';
export const MCP_STOP = 'Stop';
export const MCP_CHOICES = [MCP_ALLOW, MCP_ALLOW_SESSION, MCP_ALWAYS, MCP_DECLINE, MCP_STOP] as const;
export type McpChoice = (typeof MCP_CHOICES)[number];
/** A notification shows three buttons at most; the rest are behind "More…". */
export const MCP_MORE = 'More…';
export const MCP_TOAST_CHOICES = [MCP_ALLOW, MCP_ALLOW_SESSION, MCP_MORE] as const;
export const MCP_MORE_CHOICES = [MCP_ALWAYS, MCP_DECLINE, MCP_STOP] as const;

export const MCP_DECISIONS: Record<McpChoice, McpToolCallApprovalResult['decision']> = {
  Allow: 'accept',
  'Allow for session': 'acceptForSession',
  'Always allow': 'acceptAlways',
  Decline: 'decline',
  Stop: 'cancel',
};

/** What each choice keeps, for the quick pick and the panel's tooltips. */
export const MCP_CHOICE_DETAILS: Record<McpChoice, string> = {
  Allow: 'this call only',
  'Allow for session': 'this tool runs unasked for the rest of this thread',
  'Always allow': 'saved as approval_mode = "approve" for this tool in your config.toml (TETHER_HOME)',
  Decline: 'the model is told you declined and goes on',
  Stop: 'stops the turn',
};

/** The notification text: which tool of which server, with what, and why it asks. Plain text. */
export function mcpApprovalMessage(params: Pick<McpToolCallApprovalParams, 'server' | 'tool' | 'arguments' | 'annotations' | 'reason'>): string {
  const args = argumentsLine(params.arguments);
  const tags = annotationTags(params.annotations).filter((t) => t !== 'read-only');
  const hints = tags.length ? ` The server marks it ${tags.join(' and ')}.` : '';
  // The server's reasons may start in lower case ("this MCP tool may ..."): a sentence here.
  const reason = params.reason ? ` ${params.reason.charAt(0).toUpperCase()}${params.reason.slice(1)}` : '';
  return `Tether wants to call “${params.tool}” of the MCP server “${params.server}”${args ? ` with ${args}` : ''}.${hints}${reason}`;
}

// Trust of a project's server (servers.ts asks).
export function trustMessage(server: Pick<McpServer, 'name' | 'source' | 'command' | 'transport' | 'sandbox' | 'network'>): string {
  const what = server.transport === 'http' ? `connects to ${server.command ?? 'an HTTP server'}` : `runs ${server.command ? `“${server.command}”` : 'a command'}`;
  return `${server.source} defines the MCP server “${server.name}”, which ${what} (${sandboxWords(server).label}). Its tools become available to the model. Start it? You are asked again when its definition changes.`;
}

/** Project servers the user has not answered for yet, which the host offers to trust once. */
export function serversToAsk(servers: readonly McpServer[], asked: ReadonlySet<string>): McpServer[] {
  return servers.filter((s) => s.status === 'untrusted' && s.trust !== 'declined' && s.trust !== 'trusted' && s.digest && !asked.has(s.digest));
}

// URL-mode elicitation (elicitation.ts asks).
/** Why a URL must not be opened, or undefined: only web pages, never file: or command: links. */
export function urlProblem(url: string | null | undefined): string | undefined {
  if (!url) return 'it gave no URL';
  if (!URL.canParse(url)) return `"${url}" is not a URL`;
  const { protocol } = new URL(url);
  return protocol === 'https:' || protocol === 'http:' ? undefined : `it is a ${protocol} link, not a web page`;
}

export function urlElicitationMessage(params: Pick<McpElicitationParams, 'server' | 'message' | 'url'>): string {
  const host = params.url && URL.canParse(params.url) ? new URL(params.url).host : '';
  return `The MCP server “${params.server}” asks you to open a page on ${host}:\n\n${params.url ?? ''}\n\n${params.message}`;
}
