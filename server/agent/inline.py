"""Turns whose edits are only proposed: the editor's inline chat ("change this selection").

`turn/start {proposeEdits: true}` runs one turn under readOnly's rules whatever the thread's
mode: every edit is put to the user hunk by hunk (`approval/fileChange`), even after an earlier
"accept for session"; commands other than known-safe reads ask first; the model is told it is
in readOnly mode. The thread's own mode is unchanged, and so is every other turn.

The reasons the user sees say why they are asked: the proposal, not a mode the thread is not in.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from protocol.base import Mode
from sandbox.approval_policy import CommandDecision, decide_command
from sandbox.rules import load_rules
from server.agent.gate import Gate
from server.agent.stream import TurnStream

PROPOSAL_REASON = "You asked from the editor: review the change hunk by hunk before it is written."
PROPOSAL_COMMAND_REASON = "This change is proposed for review, so running a command asks first"


class ProposalGate(Gate):
    """The thread's gate with readOnly's rules, and no edit that skips the review."""

    @property
    def mode(self) -> Mode:
        return "readOnly"

    def edit_approval_reason(self, paths: list[Path]) -> str | None:
        """Always a reason: this one, since the user asked for a proposal (readOnly's own
        reason would name a mode the thread is not in). The paths still pass the checks."""
        super().edit_approval_reason(paths)
        return PROPOSAL_REASON

    def _decide_command(
        self, stream: TurnStream, command: str, *, escalate: bool
    ) -> CommandDecision:
        """readOnly's decision, with a reason that is true of this thread: when the thread's
        own mode would also ask, its reason; when only the proposal makes it ask, that."""
        decision = super()._decide_command(stream, command, escalate=escalate)
        thread_mode = self._conversation.mode
        if decision.action != "prompt" or thread_mode == "readOnly":
            return decision
        own = decide_command(
            command,
            thread_mode,
            load_rules(self._home, self._roots),
            self._grants.commands,
            launcher=self.launcher,
            wants_escalation=escalate,
        )
        if own.action == "prompt":
            return replace(decision, reason=own.reason)
        once = (
            "once approved, it can write in this folder, no network"
            if decision.sandbox == "workspaceWrite"
            else "no OS sandbox is available on this machine, so it runs unsandboxed"
        )
        return replace(decision, reason=f"{PROPOSAL_COMMAND_REASON}; {once}")


def gate_for_turn(propose_edits: bool) -> type[Gate]:
    """The gate a `turn/start` asks for."""
    return ProposalGate if propose_edits else Gate
