"""What the hooks of one event said, read as Claude Code reads it:

- exit 0: stdout is JSON (below); plain text is context for the model on UserPromptSubmit and
  SessionStart, and ignored elsewhere. Text that starts like JSON but does not parse is a
  non-blocking error for the user (a script's bug should not pass as context).
- exit 2: block, with stderr as the reason for the model (for events that cannot block, the
  user is shown stderr).
- any other exit, a timeout, a failure to start: a non-blocking error, shown to the user.

JSON fields: `continue: false` (+ `stopReason`) ends the turn; `systemMessage` is shown to the
user; `suppressOutput` is accepted (Tether shows no hook stdout anyway); `decision: "block"` with
`reason`; `hookSpecificOutput` with `permissionDecision` allow | deny | ask (the older
`decision: approve|block` of PreToolUse read as allow | deny), `permissionDecisionReason`,
`updatedInput`, `additionalContext`.

Over several hooks: any block blocks, deny beats ask beats allow, reasons and context are
joined in the hooks' order, and the first `updatedInput` (in that order) wins.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

from server.hooks.runner import HookResult

Permission = Literal["allow", "deny", "ask"]
EntryStatus = Literal["completed", "failed", "blocked"]
BLOCKING_EVENTS = {
    "PreToolUse",
    "PostToolUse",
    "PostToolUseFailure",
    "UserPromptSubmit",
    "Stop",
    "SubagentStop",
}
PLAIN_CONTEXT_EVENTS = {"UserPromptSubmit", "SessionStart"}
_RANK = {"allow": 1, "ask": 2, "deny": 3}


@dataclass
class EntryOutcome:
    """One hook's run, as the client is told (`hook/completed`'s entries)."""

    status: EntryStatus
    exit_code: int | None
    message: str | None = None


@dataclass
class Outcome:
    block: bool = False
    reasons: list[str] = field(default_factory=lambda: [])
    """For the model: why it was blocked (or, for PostToolUse, feedback)."""
    permission: Permission | None = None
    permission_reasons: list[str] = field(default_factory=lambda: [])
    updated_input: dict[str, Any] | None = None
    context: list[str] = field(default_factory=lambda: [])
    user_messages: list[str] = field(default_factory=lambda: [])
    """systemMessage, stopReason and non-blocking errors: for the user, not the model."""
    stop: bool = False
    stop_reason: str | None = None
    entries: list[EntryOutcome] = field(default_factory=lambda: [])

    @property
    def reason(self) -> str:
        return "\n".join(self.reasons + self.permission_reasons)

    @property
    def additional_context(self) -> str:
        return "\n".join(c for c in self.context if c)


def read_results(event: str, results: list[HookResult]) -> Outcome:
    outcome = Outcome()
    for result in results:
        outcome.entries.append(_read_one(event, result, outcome))
    return outcome


def _read_one(event: str, result: HookResult, outcome: Outcome) -> EntryOutcome:
    label = result.hook.command
    if result.exit_code == 2:
        reason = result.stderr.strip() or f"blocked by hook `{label}`"
        if event in BLOCKING_EVENTS:
            outcome.block = True
            outcome.reasons.append(reason)
            return EntryOutcome("blocked", 2, reason)
        outcome.user_messages.append(f"{event} hook `{label}`: {reason}")
        return EntryOutcome("failed", 2, reason)
    if result.exit_code != 0:
        why = result.stderr.strip() or f"exited with {result.exit_code}"
        outcome.user_messages.append(f"{event} hook `{label}` failed (not blocking): {why}")
        return EntryOutcome("failed", result.exit_code, why)
    text = result.stdout.strip()
    if not text.startswith("{"):
        if text and event in PLAIN_CONTEXT_EVENTS:
            outcome.context.append(text)
        return EntryOutcome("completed", 0)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        why = f"printed malformed JSON ({exc}); its output was ignored"
        outcome.user_messages.append(f"{event} hook `{label}` {why}")
        return EntryOutcome("failed", 0, why)
    if not isinstance(data, dict):
        return EntryOutcome("completed", 0)
    return _read_json(event, data, outcome)


def _read_json(event: str, data: dict[str, Any], outcome: Outcome) -> EntryOutcome:
    status: EntryStatus = "completed"
    message: str | None = None
    if isinstance(data.get("systemMessage"), str):
        outcome.user_messages.append(data["systemMessage"])
    if data.get("continue") is False:
        outcome.stop = True
        outcome.stop_reason = str(data.get("stopReason") or "a hook stopped the turn")
        status, message = "blocked", outcome.stop_reason
    decision, reason = data.get("decision"), data.get("reason")
    specific = data.get("hookSpecificOutput")
    specific = specific if isinstance(specific, dict) else {}
    permission = specific.get("permissionDecision")
    if event == "PreToolUse" and permission is None and decision in ("approve", "block"):
        permission = "allow" if decision == "approve" else "deny"
        specific = {**specific, "permissionDecisionReason": reason}
    elif decision == "block" and event in BLOCKING_EVENTS:
        outcome.block = True
        text = str(reason or "blocked by a hook")
        outcome.reasons.append(text)
        status, message = "blocked", text
    if event == "PreToolUse" and permission in _RANK:
        if outcome.permission is None or _RANK[permission] > _RANK[outcome.permission]:
            outcome.permission = permission
        why = specific.get("permissionDecisionReason")
        if isinstance(why, str) and why and permission != "allow":
            outcome.permission_reasons.append(why)
        if permission == "deny":
            status, message = "blocked", str(why or "denied by a hook")
    updated = specific.get("updatedInput")
    first = outcome.updated_input is None
    if event == "PreToolUse" and isinstance(updated, dict) and permission != "deny" and first:
        outcome.updated_input = updated  # without a decision, the mode decides about it
    context = specific.get("additionalContext")
    if isinstance(context, str):
        outcome.context.append(context)
    return EntryOutcome(status, 0, message)
