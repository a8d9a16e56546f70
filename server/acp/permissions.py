"""Tether's approval requests as ACP `session/request_permission`, and the answers back.

ACP offers a list of options; each maps to one Tether decision:

- `allow_once` -> accept;
- `allow_always` -> for a command with a suggested rule, acceptAlways with that rule ("Always
  allow `npm test`"); otherwise (no rule, an escalation, a file change, a read outside the
  roots) acceptForSession, named for what it covers;
- `reject_once` -> decline;
- the client cancelling the request (or the prompt) -> cancel, which stops the turn.

A file change is approved whole: ACP has no hunks, so "accept" takes all of them. Per-hunk
undo stays available afterwards through `_tether/change/revert`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from acp.schema import (
    AllowedOutcome,
    PermissionOption,
    RequestPermissionResponse,
    ToolCallLocation,
    ToolCallStart,
    ToolCallUpdate,
)

from protocol.approval import (
    CommandApprovalParams,
    CommandApprovalResult,
    FileChangeApprovalParams,
    FileChangeApprovalResult,
    FileReadApprovalParams,
    FileReadApprovalResult,
)
from protocol.hooks import HookTrustParams, HookTrustResult
from protocol.item import FileChangeItem
from server.acp.updates import diffs_from_disk

Approval = (
    CommandApprovalParams | FileChangeApprovalParams | FileReadApprovalParams | HookTrustParams
)


@dataclass(frozen=True)
class Question:
    """What `session/request_permission` carries, and each option's Tether answer."""

    tool_call: ToolCallUpdate
    options: list[PermissionOption]
    answers: dict[str, Any]
    cancelled: Any


def question(params: Approval) -> Question:
    if isinstance(params, CommandApprovalParams):
        return _command(params)
    if isinstance(params, FileChangeApprovalParams):
        return _file_change(params)
    if isinstance(params, FileReadApprovalParams):
        return _file_read(params)
    return _hook_trust(params)


def answer(q: Question, response: RequestPermissionResponse) -> Any:
    outcome = response.outcome
    if isinstance(outcome, AllowedOutcome) and outcome.option_id in q.answers:
        return q.answers[outcome.option_id]
    return q.cancelled


def _option(option_id: str, name: str, kind: str) -> PermissionOption:
    return PermissionOption(option_id=option_id, name=name, kind=kind)  # type: ignore[arg-type]


def _command(p: CommandApprovalParams) -> Question:
    rule = p.suggested_rules[0] if p.suggested_rules and p.escalation is None else None
    if rule is not None:
        always_name = f"Always allow `{' '.join(rule)}`"
        always = CommandApprovalResult(decision="acceptAlways", rule=rule)
    else:
        always_name = "Allow for this session"
        always = CommandApprovalResult(decision="acceptForSession")
    why = f" ({p.reason})" if p.reason else ""
    return Question(
        ToolCallUpdate(
            tool_call_id=p.item_id,
            title=p.command + why,
            kind="execute",
            status="pending",
            raw_input={"command": p.command, "cwd": p.cwd, "escalation": p.escalation},
        ),
        [
            _option("allow_once", "Allow once", "allow_once"),
            _option("allow_always", always_name, "allow_always"),
            _option("reject_once", "Reject", "reject_once"),
        ],
        {
            "allow_once": CommandApprovalResult(decision="accept"),
            "allow_always": always,
            "reject_once": CommandApprovalResult(decision="decline"),
        },
        CommandApprovalResult(decision="cancel"),
    )


def _file_change(p: FileChangeApprovalParams) -> Question:
    item = FileChangeItem(id=p.item_id, status="pending", changes=p.changes, reason=p.reason)
    paths = [c.move_path or c.path for c in p.changes]
    return Question(
        ToolCallUpdate(
            tool_call_id=p.item_id,
            kind="edit",
            status="pending",
            title=f"Edit {', '.join(paths)}" + (f" ({p.reason})" if p.reason else ""),
            locations=[ToolCallLocation(path=path) for path in paths],
            content=list(diffs_from_disk(item)),
        ),
        [
            _option("allow_once", "Apply this change", "allow_once"),
            _option("allow_always", "Apply changes without asking this session", "allow_always"),
            _option("reject_once", "Reject", "reject_once"),
        ],
        {
            "allow_once": FileChangeApprovalResult(decision="accept"),
            "allow_always": FileChangeApprovalResult(decision="acceptForSession"),
            "reject_once": FileChangeApprovalResult(decision="decline"),
        },
        FileChangeApprovalResult(decision="cancel"),
    )


def _file_read(p: FileReadApprovalParams) -> Question:
    return Question(
        ToolCallUpdate(
            tool_call_id=p.item_id,
            kind="read",
            status="pending",
            title=f"Read {p.path} (outside the workspace)",
            locations=[ToolCallLocation(path=p.path)],
        ),
        [
            _option("allow_once", "Allow once", "allow_once"),
            _option("allow_always", "Allow reads in that folder this session", "allow_always"),
            _option("reject_once", "Reject", "reject_once"),
        ],
        {
            "allow_once": FileReadApprovalResult(decision="accept"),
            "allow_always": FileReadApprovalResult(decision="acceptForSession"),
            "reject_once": FileReadApprovalResult(decision="decline"),
        },
        FileReadApprovalResult(decision="cancel"),
    )


HOOK_TRUST_TITLE = "Trust this project's hooks?"


def hook_trust_call(p: HookTrustParams) -> ToolCallStart:
    """The tool call a hook-trust question is about, announced before the question: unlike
    an approval, it has no item of its own, and clients show a permission only for a tool
    call they know."""
    return ToolCallStart(
        session_update="tool_call",
        tool_call_id=_hook_trust_id(p),
        kind="other",
        status="pending",
        title=HOOK_TRUST_TITLE,
        locations=[ToolCallLocation(path=p.source)],
        raw_input={
            "source": p.source,
            "commands": [
                {"event": c.event_name, "matcher": c.matcher, "command": c.command}
                for c in p.commands
            ],
        },
    )


def _hook_trust_id(p: HookTrustParams) -> str:
    return f"hooks-{p.turn_id}-{p.digest[:12]}"


def _hook_trust(p: HookTrustParams) -> Question:
    commands = "; ".join(c.command for c in p.commands)
    return Question(
        ToolCallUpdate(
            tool_call_id=_hook_trust_id(p),
            kind="other",
            status="pending",
            title=f"{HOOK_TRUST_TITLE} {p.source} runs outside the sandbox: {commands}",
            locations=[ToolCallLocation(path=p.source)],
        ),
        [
            _option("allow_always", "Trust these hooks", "allow_always"),
            _option("reject_once", "Do not run them", "reject_once"),
        ],
        {
            "allow_always": HookTrustResult(decision="accept"),
            "reject_once": HookTrustResult(decision="decline"),
        },
        HookTrustResult(decision="cancel"),
    )
