/** Project hooks (`approval/hookTrust`): a workspace file defines commands that would run outside
 * the sandbox at points of each turn. Asked once per definition; a modal, since the answer is kept. */
import type { HookTrustParams, HookTrustResult } from '../protocol';
import * as api from '../vscodeapi';

const TRUST = 'Trust these hooks';
const DISTRUST = "Don't run them";

export function hookTrustMessage(params: HookTrustParams): string {
  const lines = params.commands.map((c) => `${c.eventName}${c.matcher ? ` [${c.matcher}]` : ''}: ${c.command}`);
  return `${params.source} defines hooks that run outside the sandbox, as you:\n${lines.join('\n')}\nRun them? You are asked again when the file's hooks change.`;
}

export async function askHookTrust(params: HookTrustParams): Promise<HookTrustResult> {
  const choice = await api.showWarningMessage(hookTrustMessage(params), { modal: true }, TRUST, DISTRUST);
  if (choice === undefined) return { decision: 'cancel' };
  return { decision: choice === TRUST ? 'accept' : 'decline' };
}
