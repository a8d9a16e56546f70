"""The MCP servers of every open thread, as the agent and the handlers reach them.

`open(thread_id, ...)` returns at once: a task reads the configuration and, when it names any
server, imports the SDK in a worker thread (about half a second, which must stall neither
`thread/start` nor any other request) and starts them. A thread without servers never loads
the SDK. `manager(thread_id)` is that task: the turn awaits it before its first model call.
"""

from __future__ import annotations

import asyncio
import importlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from protocol.base import LauncherKind
from protocol.lsp import WARNING, ShowMessage
from protocol.mcp import McpServer, McpServerListResult
from sandbox.policy import Policy
from server.agent.client import Notifier
from server.mcp.config import ServerDef, load_mcp_config

if TYPE_CHECKING:
    from server.mcp.manager import McpManager


class McpThreads:
    def __init__(self, home: Path, notifier: Notifier, launcher: LauncherKind) -> None:
        self._home = home
        self._notifier = notifier
        self._launcher: LauncherKind = launcher
        self._tasks: dict[str, asyncio.Task[McpManager | None]] = {}
        self._places: dict[str, tuple[Path, list[Path], Callable[[bool], Policy]]] = {}
        self._offered: dict[str, list[ServerDef]] = {}
        self._warned: set[str] = set()
        """Configuration problems already shown to the user (once per server process)."""

    def open(
        self,
        thread_id: str,
        cwd: Path,
        roots: list[Path],
        policy: Callable[[bool], Policy],
        parent_id: str | None = None,
    ) -> asyncio.Task[McpManager | None]:
        """The thread's servers, starting in the background (once per thread). A sub-agent's
        thread in its parent's roots uses its parent's servers (`parent_id`): the same
        processes, not a set per child; one in a worktree of its own starts its own."""
        if (task := self._tasks.get(thread_id)) is not None:
            return task
        parent = self._tasks.get(parent_id) if parent_id else None
        place = self._places.get(parent_id) if parent_id else None  # None: the parent shares too
        if parent is not None and place is not None and place[1] == roots:
            self._tasks[thread_id] = parent
            return parent
        self._places[thread_id] = (cwd, roots, policy)
        task = asyncio.get_running_loop().create_task(
            self._start(thread_id, cwd, roots, policy), name=f"mcp {thread_id}"
        )
        self._tasks[thread_id] = task
        return task

    async def _start(
        self, thread_id: str, cwd: Path, roots: list[Path], policy: Callable[[bool], Policy]
    ) -> McpManager | None:
        environ = dict(os.environ)
        config = await asyncio.to_thread(load_mcp_config, self._home, roots, environ)
        for problem in config.problems:
            if problem not in self._warned:
                self._warned.add(problem)
                self._notifier.notify(ShowMessage(WARNING, f"Tether: MCP servers: {problem}"))
        if not config.servers and not config.problems and not self._offered.get(thread_id):
            return None
        manager_module = await asyncio.to_thread(importlib.import_module, "server.mcp.manager")
        from server.mcp.connection import Placement

        manager: McpManager = manager_module.McpManager(
            thread_id,
            self._home,
            roots,
            Placement(policy, self._launcher, cwd, environ),
            self._notifier,
            environ,
        )
        manager.open(self._offered.get(thread_id, []))
        return manager

    def offer(self, thread_id: str, servers: list[ServerDef]) -> None:
        """Servers a client hands a thread (ACP's mcpServers): they start with its configured
        ones, or at once when those already run."""
        if not servers:
            return
        self._offered[thread_id] = servers
        task = self._tasks.get(thread_id)
        if task is not None and task.done() and not task.cancelled():
            manager = task.result()
            if manager is not None:
                manager.add(servers)
            elif thread_id in self._places:  # no configured servers: start over with these
                del self._tasks[thread_id]
                self.open(thread_id, *self._places[thread_id])

    def manager(self, thread_id: str) -> asyncio.Task[McpManager | None] | None:
        return self._tasks.get(thread_id)

    async def listing(self, thread_id: str) -> McpServerListResult:
        task = self._tasks.get(thread_id)
        manager = await task if task is not None else None
        if manager is None:
            return McpServerListResult([])
        return McpServerListResult(manager.servers(), list(manager.config.problems))

    async def reload(self, thread_id: str, name: str | None) -> list[McpServer]:
        """Re-read the configuration (a thread without servers may have some now)."""
        task = self._tasks.get(thread_id)
        manager = await task if task is not None else None
        if manager is None:
            if thread_id not in self._places:
                return []
            del self._tasks[thread_id]
            manager = await self.open(thread_id, *self._places[thread_id])
            return manager.servers() if manager is not None else []
        await manager.reload(name)
        return manager.servers()

    async def trust(self, thread_id: str, name: str, digest: str, accept: bool) -> list[McpServer]:
        task = self._tasks.get(thread_id)
        manager = await task if task is not None else None
        if manager is None:
            raise KeyError(name)
        await manager.trust(name, digest, accept)
        return manager.servers()

    async def forget(self, thread_id: str) -> None:
        """Stop a thread's servers and drop it, so the next `open` reads the config anew."""
        task = self._tasks.pop(thread_id, None)
        if task is not None:
            manager = await task
            if manager is not None:
                await manager.close()

    async def close(self) -> None:
        for thread_id in list(self._tasks):
            try:
                await self.forget(thread_id)
            except Exception:  # one thread's failure must not keep the others' running
                continue
