"""A thread's MCP servers: which run, their status on the wire, and the tools they offer now.

`McpManager.open()` reads the configuration and starts every enabled, trusted server at once,
each in its own task; nothing waits for them. A project server the user has not trusted in
its current definition waits as `untrusted` until `trust()` accepts it. `reload()` re-reads the
configuration (a changed definition restarts, a removed one stops) or restarts one server.
`wait_required()` is the one place that waits: a turn holds for its `required` servers, each up
to its start-up timeout, and fails naming the first that is not ready.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import mcp_types as types

from protocol.mcp import (
    McpElicitationParams,
    McpServer,
    McpServerStatusChangedNotification,
    McpTool,
    McpToolAnnotations,
)
from server.agent.client import Notifier
from server.mcp.config import McpConfig, ServerDef, load_mcp_config, mcp_trust
from server.mcp.connection import Connection, Placement
from server.mcp.errors import RequiredServerNotReady
from server.mcp.naming import unique_names

log = logging.getLogger(__name__)

SETTLE_GRACE_S = 1.0


class OfferedTool:
    """One tool of a ready server, as the model is offered it."""

    def __init__(self, model_name: str, defn: ServerDef, tool: types.Tool, conn: Connection):
        self.model_name = model_name
        self.defn = defn
        self.tool = tool
        self.connection = conn

    @property
    def annotations(self) -> McpToolAnnotations | None:
        a = self.tool.annotations
        if a is None:
            return None
        return McpToolAnnotations(
            title=a.title,
            read_only_hint=a.read_only_hint,
            destructive_hint=a.destructive_hint,
            idempotent_hint=a.idempotent_hint,
            open_world_hint=a.open_world_hint,
        )

    @property
    def description(self) -> str:
        text = self.tool.description or self.tool.title or self.tool.name
        return f"{text} (MCP server `{self.defn.name}`)"

    @property
    def schema(self) -> dict[str, Any]:
        schema = dict(self.tool.input_schema or {})
        schema.setdefault("type", "object")
        schema.setdefault("properties", {})
        return schema


class McpManager:
    def __init__(
        self,
        thread_id: str,
        home: Path,
        roots: list[Path],
        placement: Placement,
        notifier: Notifier,
        environ: Mapping[str, str],
    ) -> None:
        self.thread_id = thread_id
        self._home, self._roots = home, roots
        self._placement = placement
        self._notifier = notifier
        self._environ = environ
        self._trust = mcp_trust(home)
        self._offered: list[ServerDef] = []
        self.config = McpConfig({}, [])
        self._conns: dict[str, Connection] = {}
        self.turn_id: str | None = None
        """The turn under way, for the elicitations its tool calls cause."""
        self.loaded: set[str] = set()
        """Model names `mcp_tool_search` found: offered from then on (`server.mcp.tools`)."""

    # lifecycle

    def open(self, offered: list[ServerDef] | None = None) -> None:
        """Read the configuration and start its servers; `offered`: a client's (ACP's)."""
        self._offered = list(offered or [])
        self.config = self._read()
        for problem in self.config.problems:
            log.warning("MCP config: %s", problem)
        for defn in self.config.servers.values():
            self._start_if_allowed(defn)

    def _read(self) -> McpConfig:
        config = load_mcp_config(self._home, self._roots, self._environ)
        for defn in self._offered:
            config.servers.setdefault(defn.name, defn)
        return config

    def add(self, offered: list[ServerDef]) -> None:
        """A client's servers for a thread already open: those not configured start now."""
        for defn in offered:
            if defn.name not in self.config.servers:
                self._offered.append(defn)
                self.config.servers[defn.name] = defn
                self._start_if_allowed(defn)

    def _start_if_allowed(self, defn: ServerDef) -> None:
        if defn.enabled and self._trust_state(defn) == "trusted":
            conn = Connection(defn, self._placement, self._changed, self._elicit)
            self._conns[defn.name] = conn
            conn.start()
        else:
            self._notify(defn.name)

    def _trust_state(self, defn: ServerDef) -> str:
        return self._trust.state(defn)

    async def close(self) -> None:
        conns, self._conns = list(self._conns.values()), {}
        await asyncio.gather(*(c.stop() for c in conns), return_exceptions=True)

    async def reload(self, name: str | None) -> None:
        if name is not None:
            if name not in self.config.servers:
                raise KeyError(name)
            if (conn := self._conns.pop(name, None)) is not None:
                await conn.stop()
            self._start_if_allowed(self.config.servers[name])
            return
        old = self.config.servers
        self.config = self._read()
        new = self.config.servers
        for gone in [n for n in self._conns if n not in new or new[n] != old.get(n)]:
            await self._conns.pop(gone).stop()
        for defn in new.values():
            if defn.name not in self._conns:
                self._start_if_allowed(defn)

    async def trust(self, name: str, digest: str, accept: bool) -> None:
        defn = self.config.servers.get(name)
        if defn is None:
            raise KeyError(name)
        if defn.digest != digest:
            raise ValueError(
                f"the definition of `{name}` changed since it was listed; list the servers "
                "again and trust what is shown now"
            )
        self._trust.remember(defn, accept)
        if (conn := self._conns.pop(name, None)) is not None:
            await conn.stop()
        self._start_if_allowed(defn)

    # status

    def servers(self) -> list[McpServer]:
        return [self._status(defn) for defn in self.config.servers.values()]

    def _status(self, defn: ServerDef) -> McpServer:
        conn = self._conns.get(defn.name)
        trust = self._trust_state(defn) if defn.project else None
        status, error = "disabled", None
        if not defn.enabled:
            error = "enabled = false in its configuration"
        elif trust not in (None, "trusted"):
            status = "untrusted"
            error = (
                "a server defined by this project; it starts once you trust it"
                if trust == "unknown"
                else "you declined to trust this definition; it starts if you trust it"
            )
        elif conn is not None:
            status, error = conn.status, conn.error
        tools = self._tools_of(conn) if conn is not None and conn.status == "ready" else []
        return McpServer(
            name=defn.name,
            status=status,  # type: ignore[arg-type]
            transport=defn.transport,
            sandbox="remote"
            if defn.transport == "http"
            else (
                "workspaceWrite"
                if defn.sandboxed and self._placement.launcher != "none"
                else "none"
            ),
            source=defn.source,
            tool_count=len(tools),
            tools=[
                McpTool(
                    name=t.tool.name,
                    model_name=t.model_name,
                    description=t.tool.description,
                    annotations=t.annotations,
                    approval_mode=defn.approval_of(t.tool.name),
                )
                for t in tools
            ],
            error=error,
            required=defn.required,
            network=defn.network and defn.transport == "stdio",
            project=defn.project,
            digest=defn.digest if defn.project else None,
            trust=trust,  # type: ignore[arg-type]
            command=defn.display(),
            restarts=conn.restarts if conn is not None else 0,
            launcher=conn.launcher if conn is not None and defn.transport == "stdio" else None,
        )

    def _changed(self, conn: Connection) -> None:
        if self._conns.get(conn.defn.name) is conn:
            self._notify(conn.defn.name)

    def _notify(self, name: str) -> None:
        defn = self.config.servers.get(name)
        if defn is not None:
            self._notifier.notify(
                McpServerStatusChangedNotification(self.thread_id, self._status(defn))
            )

    # tools

    def _tools_of(self, conn: Connection) -> list[OfferedTool]:
        defn = conn.defn
        offered = [t for t in conn.tools if defn.offers(t.name)]
        names = unique_names(defn.name, [t.name for t in offered])
        by_name = {t.name: t for t in offered}
        return [OfferedTool(m, defn, by_name[n], conn) for m, n in names.items()]

    def ready_tools(self) -> dict[str, OfferedTool]:
        """model name -> tool, of every server ready now."""
        out: dict[str, OfferedTool] = {}
        for conn in list(self._conns.values()):
            if conn.status == "ready":
                for tool in self._tools_of(conn):
                    out.setdefault(tool.model_name, tool)
        return out

    async def wait_required(self) -> None:
        for defn in self.config.servers.values():
            if not defn.required or not defn.enabled:
                continue
            if self._trust_state(defn) != "trusted":
                raise RequiredServerNotReady(
                    f"MCP server `{defn.name}` is required but not trusted yet: trust it in the "
                    "MCP servers list, or set required = false"
                )
            conn = self._conns.get(defn.name)
            if conn is None:
                continue
            if conn.status != "ready":
                # The attempt under way started before the turn did: its own deadline ends it
                # within the start-up timeout; the grace lets its verdict (why) land first.
                await conn.wait_settled(defn.startup_timeout_s + SETTLE_GRACE_S)
            if conn.status != "ready":
                raise RequiredServerNotReady(
                    f"MCP server `{defn.name}` is required but not ready: "
                    f"{conn.error or f'still starting after {defn.startup_timeout_s:g} s'}"
                )

    # elicitation

    async def _elicit(
        self, defn: ServerDef, params: types.ElicitRequestParams
    ) -> types.ElicitResult:
        if isinstance(params, types.ElicitRequestURLParams):
            request = McpElicitationParams(
                thread_id=self.thread_id,
                server=defn.name,
                mode="url",
                message=params.message,
                turn_id=self.turn_id,
                url=params.url,
                elicitation_id=params.elicitation_id,
            )
        else:
            request = McpElicitationParams(
                thread_id=self.thread_id,
                server=defn.name,
                mode="form",
                message=params.message,
                turn_id=self.turn_id,
                requested_schema=params.requested_schema,  # type: ignore[arg-type]
            )
        answer = await self._notifier.request(request)
        content = answer.content if answer.action == "accept" else None
        return types.ElicitResult(action=answer.action, content=content)
