"""The gate every tool passes before it touches anything: PROTOCOL.md §6 for one thread's turn.

It resolves paths (escape tricks are refused by `sandbox.paths`), asks the user when the mode
says so, and remembers what the user allowed for the session. The decisions themselves come
from `sandbox.approval_policy`; this module does the asking and the bookkeeping.
"""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

from protocol.approval import FileReadApprovalParams, FileReadApprovalResult
from protocol.base import LauncherKind, Mode
from protocol.item import Item
from sandbox.paths import PathDenied, resolve_for_read
from sandbox.policy import Policy
from server.agent.stream import TurnStream
from server.agent.threads import ThreadState
from server.agent.tools.base import ToolFailed, TurnCancelled

T = TypeVar("T")


class Gate:
    def __init__(self, state: ThreadState, stream: TurnStream, launcher: LauncherKind) -> None:
        self.state = state
        self.stream = stream
        self.launcher = launcher

    @property
    def mode(self) -> Mode:
        return self.state.thread.mode

    @property
    def cwd(self) -> Path:
        return Path(self.state.thread.cwd)

    def file_policy(self) -> Policy:
        kind = "fullAccess" if self.mode == "fullAccess" else "workspaceWrite"
        return Policy(kind=kind, roots=tuple(self.state.roots))

    async def readable(self, requested: str, item: Item) -> Path:
        """The real path to read, after the user approved a read outside the roots if needed."""
        try:
            verdict = resolve_for_read(requested, cwd=self.cwd, policy=self.file_policy())
        except PathDenied as exc:
            raise ToolFailed(str(exc)) from None
        if self.mode == "fullAccess":
            return verdict.path
        if verdict.secret:
            raise ToolFailed(
                f"{requested} is a secret file (credentials); Tether keeps it away "
                "from the model. Ask the user to share what you need."
            )
        if verdict.inside_roots or self._read_allowed(verdict.path):
            return verdict.path
        answer = await self.ask(
            item,
            "approval/fileRead",
            FileReadApprovalParams(
                thread_id=self.state.thread.id,
                turn_id=self.stream.turn.id,
                item_id=item.id,
                path=str(verdict.path),
                reason="The file is outside the workspace roots.",
            ),
            FileReadApprovalResult,
        )
        if answer.decision == "decline":
            raise ToolFailed(f"The user declined reading {verdict.path} (outside the workspace).")
        if answer.decision == "acceptForSession":
            self.state.read_grants.append(verdict.path.parent)
        return verdict.path

    def _read_allowed(self, path: Path) -> bool:
        return any(path.is_relative_to(d) for d in self.state.read_grants)

    async def ask(self, item: Item, method: str, params: object, result_type: type[T]) -> T:
        """Put the item in `pending`, ask the client, and return the answer; "cancel" stops the
        turn. While pending, an interrupt cancels the request (`$/cancelRequest`)."""
        previous = getattr(item, "status", None)
        item.status = "pending"  # type: ignore[union-attr]
        self.stream.updated(item)
        answer = await self.stream.request(method, params, result_type)
        if getattr(answer, "decision", None) == "cancel":
            item.status = "declined"  # type: ignore[union-attr]
            self.stream.completed(item)
            raise TurnCancelled
        item.status = previous or "inProgress"  # type: ignore[union-attr]
        self.stream.updated(item)
        return answer
