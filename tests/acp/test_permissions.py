"""Approval requests as ACP permission options, and each option's answer (pure)."""

from __future__ import annotations

from acp import schema as s

from protocol.approval import (
    CommandApprovalParams,
    CommandApprovalResult,
    FileReadApprovalParams,
    FileReadApprovalResult,
)
from server.acp.permissions import answer, question


def chose(option_id: str | None) -> s.RequestPermissionResponse:
    if option_id is None:
        return s.RequestPermissionResponse(outcome=s.DeniedOutcome(outcome="cancelled"))
    return s.RequestPermissionResponse(
        outcome=s.AllowedOutcome(outcome="selected", option_id=option_id)
    )


def command(**extra: object) -> CommandApprovalParams:
    return CommandApprovalParams(
        thread_id="t",
        turn_id="u",
        item_id="i",
        command="npm test -- --watch",
        cwd="/ws",
        sandbox="workspaceWrite",
        suggested_rules=[["npm", "test"], ["npm"]],
        **extra,  # type: ignore[arg-type]
    )


def test_always_is_named_after_the_first_suggested_rule_and_keeps_it() -> None:
    q = question(command())
    assert [(o.option_id, o.kind) for o in q.options] == [
        ("allow_once", "allow_once"),
        ("allow_always", "allow_always"),
        ("reject_once", "reject_once"),
    ]
    assert q.options[1].name == "Always allow `npm test`"
    assert answer(q, chose("allow_always")) == CommandApprovalResult(
        decision="acceptAlways", rule=["npm", "test"]
    )
    assert answer(q, chose("allow_once")) == CommandApprovalResult(decision="accept")
    assert answer(q, chose("reject_once")) == CommandApprovalResult(decision="decline")
    assert answer(q, chose(None)) == CommandApprovalResult(decision="cancel")
    assert answer(q, chose("made-up")) == CommandApprovalResult(decision="cancel")


def test_an_escalation_is_allowed_for_the_session_only() -> None:
    # Rules never cover an escalation (network here), so "always" would be a lie.
    q = question(command(escalation="network", reason="needs the network"))
    assert q.options[1].name == "Allow for this session"
    assert answer(q, chose("allow_always")) == CommandApprovalResult(decision="acceptForSession")
    assert q.tool_call.title == "npm test -- --watch (needs the network)"


def test_a_read_outside_the_roots_names_its_path() -> None:
    q = question(FileReadApprovalParams(thread_id="t", turn_id="u", item_id="i", path="/etc/hosts"))
    assert q.tool_call.kind == "read" and q.tool_call.locations[0].path == "/etc/hosts"
    assert answer(q, chose("allow_always")) == FileReadApprovalResult(decision="acceptForSession")
