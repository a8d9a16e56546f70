/** How a command approval is put to the user: the notification's wording and buttons, and the
 * quick pick of suggested "always allow" rules. Pure; commandApproval.ts does the showing. */
import type { CommandApprovalParams, CommandApprovalResult, FileReadApprovalParams, FileReadApprovalResult } from '../protocol';
import { SANDBOX_WORDS } from '../state/present';

export const RUN_ONCE = 'Run';
export const RUN_FOR_SESSION = 'Run for session';
export const ALWAYS_ALLOW = 'Always allow…';
export const DECLINE = 'Decline';
export const STOP = 'Stop';
/** Every answer, as the panel's card offers them. */
export const COMMAND_CHOICES = [RUN_ONCE, RUN_FOR_SESSION, ALWAYS_ALLOW, DECLINE, STOP] as const;
export type CommandChoice = (typeof COMMAND_CHOICES)[number];
/** A notification shows three buttons at most (more get cut); the rest are behind "More…". */
export const MORE = 'More…';
export const TOAST_CHOICES = [RUN_ONCE, RUN_FOR_SESSION, MORE] as const;
export const MORE_CHOICES = [ALWAYS_ALLOW, DECLINE, STOP] as const;

/** Decisions that need no further question; "Always allow…" goes through the rule pick first. */
export function decisionFor(choice: Exclude<CommandChoice, typeof ALWAYS_ALLOW>): CommandApprovalResult {
  switch (choice) {
    case RUN_ONCE:
      return { decision: 'accept' };
    case RUN_FOR_SESSION:
      return { decision: 'acceptForSession' };
    case STOP:
      return { decision: 'cancel' };
    case DECLINE:
      return { decision: 'decline' };
  }
}

/** Shell-quotes one token so a rule reads as the command line it matches. */
export function quoteToken(token: string): string {
  if (token === '') return "''";
  if (/^[\w@%+=:,./-]+$/.test(token)) return token;
  return `'${token.replace(/'/g, `'\\''`)}'`;
}

export interface RuleChoice {
  label: string;
  description: string;
  detail?: string;
  rule: string[];
}

/** One pick item per suggested rule, narrowest first as the server sends them. A rule that is the
 * whole command allows exactly it; a shorter prefix allows any arguments after it, and a risky
 * one carries the server's warning. */
export function ruleChoices(params: Pick<CommandApprovalParams, 'command' | 'suggestedRules' | 'ruleWarnings'>): RuleChoice[] {
  return params.suggestedRules
    .filter((rule) => rule.length > 0)
    .map((rule) => {
      const text = rule.map(quoteToken).join(' ');
      const warning = params.ruleWarnings?.[rule.join(' ')];
      const exact = rule.map(quoteToken).join(' ') === params.command.trim();
      return {
        label: exact ? text : `${text} …`,
        description: exact ? 'this exact command' : `any command starting with "${text}"`,
        detail: warning ? `$(warning) ${warning}` : undefined,
        rule,
      };
    });
}

export interface ScopeChoice {
  label: string;
  description: string;
  scope: 'workspace' | 'user';
}

export const SCOPE_CHOICES: readonly ScopeChoice[] = [
  { label: 'This workspace', description: 'saved in .tether/rules.toml of the workspace', scope: 'workspace' },
  { label: 'All my workspaces', description: 'saved in the user rules file (TETHER_HOME/rules.toml)', scope: 'user' },
];

export function alwaysAllowResult(rule: string[], scope: 'workspace' | 'user'): CommandApprovalResult {
  return { decision: 'acceptAlways', rule, scope };
}

/** The notification text: what would run, where, and what it may do. Plain text (a notification
 * shows no markdown): the command in quotes, never in backticks. */
/** Who asks: Tether itself, or one of its sub-agents (`agentType` is set on their requests). */
export function asker(params: { agentType?: string | null }): string {
  return params.agentType ? `Sub-agent “${params.agentType}”` : 'Tether';
}

export function commandApprovalMessage(params: CommandApprovalParams): string {
  const may = params.escalation
    ? {
        network: 'it asks for network access',
        outsideRoots: 'it asks to write outside this folder',
        noSandbox: 'it would run without a sandbox',
      }[params.escalation]
    : SANDBOX_WORDS[params.sandbox];
  const reason = params.reason ? ` ${params.reason}` : '';
  return `${asker(params)} wants to run “${params.command}” in ${params.cwd} (${may}).${reason}`;
}

// Reads outside the workspace (approval/fileRead).
export const READ_CHOICES = ['Allow once', 'Allow for session', 'Decline', 'Stop'] as const;
export type ReadChoice = (typeof READ_CHOICES)[number];

export const READ_DECISIONS: Record<ReadChoice, FileReadApprovalResult['decision']> = {
  'Allow once': 'accept',
  'Allow for session': 'acceptForSession',
  Decline: 'decline',
  Stop: 'cancel',
};

export function fileReadMessage(params: FileReadApprovalParams): string {
  return `${asker(params)} wants to read ${params.path}, outside the workspace.${params.reason ? ` ${params.reason}` : ''}`;
}
