"""Turns whose edits are only proposed: the editor's inline chat ("change this selection").

`turn/start {proposeEdits: true}` runs one turn under readOnly's rules whatever the thread's
mode: every edit is put to the user hunk by hunk (`approval/fileChange`), even after an earlier
"accept for session"; commands other than known-safe reads ask first; the model is told it is
in readOnly mode. The thread's own mode is unchanged, and so is every other turn.
"""

from __future__ import annotations

from pathlib import Path

from protocol.base import Mode
from server.agent.gate import Gate

PROPOSAL_REASON = "You asked from the editor: review the change hunk by hunk before it is written."


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


def gate_for_turn(propose_edits: bool) -> type[Gate]:
    """The gate a `turn/start` asks for."""
    return ProposalGate if propose_edits else Gate
