"""What a turn and its tools see of the sub-agent team: an interface with no imports of its own,
so the turn loop and the tools need not import the team (which imports them)."""

from __future__ import annotations

from typing import Protocol


class TeamPort(Protocol):
    """One parent turn's children (`team.Team`). Each tool's method returns its observation
    for the model; ToolFailed (`server.agent.errors`) says what was wrong."""

    async def spawn(self, agent_type: str | None, prompt: str, context: str) -> str: ...

    async def wait(self, ids: list[str], timeout_ms: int) -> str: ...

    def send(self, child_id: str, message: str) -> str: ...

    async def close(self, child_id: str) -> str: ...

    async def end(self, parent_status: str) -> None:
        """The parent turn ends: interrupt the children that still run."""
        ...
