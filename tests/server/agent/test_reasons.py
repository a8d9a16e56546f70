"""What the user reads in an approval prompt or on a refused item speaks their language: no
reason from the §6 decisions names a mode or a sandbox by its internal name, whatever the mode,
the command, the machine's sandbox or the path (issue 16's wording)."""

from __future__ import annotations

import itertools
from typing import get_args

from protocol.base import Mode
from sandbox.approval_policy import decide_command, decide_file_access, decide_undo
from sandbox.rules import RuleSet, SessionRules

INTERNAL = ("readOnly", "workspaceWrite", "fullAccess", "workspace-write", "read-only sandbox")
COMMANDS = ("ls", "git status", "touch x", "echo $(date)", "curl example.com", "rm -rf build")


def _reasons() -> list[str]:
    reasons: list[str] = []
    modes: tuple[Mode, ...] = get_args(Mode)
    for mode, command, launcher, escalate in itertools.product(
        modes, COMMANDS, ("bwrap", "none"), (False, True)
    ):
        decision = decide_command(
            command,
            mode,
            RuleSet(),
            SessionRules(),
            launcher=launcher,  # type: ignore[arg-type]
            wants_escalation=escalate,
        )
        reasons.append(decision.reason)
    for mode, kind, inside, protected, secret, session in itertools.product(
        modes, ("read", "write"), *[(False, True)] * 4
    ):
        reasons.append(decide_file_access(kind, inside, protected, mode, session, secret).reason)  # type: ignore[arg-type]
        reasons.append(decide_undo(inside, ".git" if protected else None, secret, mode) or "")
    return reasons


def test_no_reason_uses_an_internal_name() -> None:
    reasons = _reasons()
    assert len(reasons) > 100
    leaked = sorted({r for r in reasons if any(word in r for word in INTERNAL)})
    assert not leaked, leaked


def test_read_only_prompts_say_what_an_approved_command_may_do() -> None:
    decision = decide_command(
        "touch x", "readOnly", RuleSet(), SessionRules(), launcher="bwrap", wants_escalation=False
    )
    assert decision.action == "prompt" and decision.sandbox == "workspaceWrite"
    assert decision.reason.endswith("it can write in this folder, no network")
