/** Messages between the extension host and the chat webview. The host sends a snapshot when the
 * view (re)loads, then every event it reduces; the webview runs the same reducer. */
import type { Mode } from '../protocol';
import type { ChatEvent, ChatState } from '../state/reducer';
import type { CommandChoice } from '../approvals/rules';
import type { ReadChoice } from '../approvals/rules';
import type { FormValues } from '../mcp/elicitationForm';
import type { McpChoice } from '../mcp/present';
import type { McpElicitationResult } from '../protocol';

export interface MentionCandidate {
  path: string;
  label: string;
}

export type HostMessage =
  | { type: 'snapshot'; state: ChatState }
  | { type: 'event'; event: ChatEvent }
  | { type: 'mentions'; query: string; candidates: MentionCandidate[] }
  | { type: 'focusInput' }
  /** Opens the MCP section (Tether: Show MCP Servers). */
  | { type: 'showMcp' }
  | { type: 'restoreInput'; text: string; files: string[] }
  | { type: 'fileRefs'; resolved: Record<string, string | null> };

export type WebviewMessage =
  | { type: 'ready' }
  | { type: 'send'; text: string; files: string[] }
  | { type: 'stop' }
  /** Interrupt a sub-agent's turn (its card's Stop), not the parent's. */
  | { type: 'stopAgent'; threadId: string; turnId: string }
  | { type: 'setMode'; mode: Mode }
  | { type: 'selectModel'; model: string | undefined }
  | { type: 'newThread' }
  | { type: 'openThread'; threadId: string }
  | { type: 'refreshHistory' }
  | { type: 'mentionQuery'; query: string }
  | { type: 'commandApproval'; itemId: string; choice: CommandChoice }
  | { type: 'fileReadApproval'; itemId: string; choice: ReadChoice }
  | { type: 'reviewChange'; itemId: string }
  | { type: 'openFile'; path: string; line?: number }
  | { type: 'resolveFileRefs'; refs: string[] }
  | { type: 'undoChange'; itemId: string }
  | { type: 'copyCode'; code: string }
  | { type: 'insertCode'; code: string }
  /** `path` as the reply named it (relative or absolute); absent: the active editor's file. */
  | { type: 'applyCode'; code: string; path?: string }
  | { type: 'reviewTurn'; turnId: string }
  /** Review the turn for bugs (`review/start` of the turn): findings as comment threads. */
  | { type: 'reviewTurnFindings'; turnId: string }
  | { type: 'mcpToolApproval'; itemId: string; choice: McpChoice }
  | { type: 'elicitationAnswer'; itemId: string; action: McpElicitationResult['action']; values?: FormValues }
  | { type: 'mcpRestart'; name: string }
  | { type: 'mcpTrust'; name: string }
  /** Re-read the MCP configuration of the shown thread. */
  | { type: 'mcpReload' }
  /** A link in the transcript asks for the MCP section (the host sends showMcp back). */
  | { type: 'showMcp' };
