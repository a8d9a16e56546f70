"""ACP's `session/new {mcpServers}` (and load/resume): the editor's servers for the session.

They are the user's own, told by their editor, so they need no trust; they join the thread's
configured servers (a name the configuration has wins over the editor's). SSE servers are
left out with a warning: the MCP SDK's streamable HTTP is what Tether speaks.
"""

from __future__ import annotations

import logging
from typing import Any

from server.mcp.config import ConfigProblem, ServerDef, parse_server

log = logging.getLogger(__name__)
SOURCE = "the ACP client (session/new mcpServers)"


def servers_from_acp(mcp_servers: Any) -> list[ServerDef]:
    out: list[ServerDef] = []
    for server in mcp_servers or []:
        name = getattr(server, "name", None)
        kind = getattr(server, "type", None)
        if kind == "sse":
            log.warning("ACP MCP server %s: SSE is not supported (use streamable HTTP)", name)
            continue
        if kind == "http":
            entry: dict[str, Any] = {
                "url": server.url,
                "http_headers": {h.name: h.value for h in server.headers or []},
            }
        else:
            entry = {
                "command": server.command,
                "args": list(server.args or []),
                "env": {e.name: e.value for e in server.env or []},
            }
        try:
            out.append(parse_server(str(name), entry, SOURCE, project=False))
        except ConfigProblem as exc:
            log.warning("ACP MCP server %s left out: %s", name, exc)
    return out
