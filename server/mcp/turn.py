"""The MCP side of one turn: hold for `required` servers, then offer what is ready.

Kept free of the SDK's import (the manager's module loads it): a turn of a thread without
servers never pays for it.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from server.agent.history import UserEntry
from server.agent.model import ToolSpec
from server.agent.tools.base import Tool

if TYPE_CHECKING:
    from server.mcp.manager import McpManager


MCP_OUTPUT_CAP = 25_000 * 4 + 1_000
"""Characters of an MCP result the turn passes on: `server.mcp.results` already capped it at
25k tokens (with its note); the generic cap of other tools would cut it again."""


log = logging.getLogger(__name__)


class McpTurn:
    def __init__(self, manager: asyncio.Task[McpManager | None] | None, context_window: int):
        self._task = manager
        self._window = context_window
        self.manager: McpManager | None = None
        self._images: list[tuple[str, str]] = []

    async def open(self) -> None:
        """Wait for the thread's servers to be read, and for its required ones to be ready."""
        if self._task is None:
            return
        try:
            self.manager = await asyncio.shield(self._task)
        except Exception:  # the servers could not even be read: the turn runs without them
            log.exception("MCP servers of thread not started")
            return
        if self.manager is not None:
            await self.manager.wait_required()

    def take_images(self) -> UserEntry | None:
        """The images this model call's MCP tools returned, as one message for the model
        (tool results carry text only), or None."""
        if not self._images:
            return None
        images, self._images = self._images, []
        names = ", ".join(dict.fromkeys(name for name, _ in images))
        text = f"The image(s) returned by {names}, in the order of the calls:"
        return UserEntry(text, [url for _, url in images])

    def tools(self, base: dict[str, Tool]) -> tuple[list[ToolSpec], dict[str, Tool]]:
        """(what the model is offered, what it may call) for the next model call."""
        if self.manager is None:
            return [t.spec for t in base.values()], base
        from server.mcp.tools import turn_tools

        mcp = turn_tools(self.manager, self._window, self._images)
        return [*(t.spec for t in base.values()), *mcp.offered], {**mcp.callable, **base}
