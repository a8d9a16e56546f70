"""Handlers of the MCP server methods (issue 18): list, reload, trust, per thread."""

from __future__ import annotations

from protocol.errors import ErrorCode
from protocol.mcp import (
    McpServerListParams,
    McpServerListResult,
    McpServerReloadParams,
    McpServerTrustParams,
)
from server.agent.errors import AgentError
from server.agent.service import Agent


async def mcp_server_list(agent: Agent, p: McpServerListParams) -> McpServerListResult:
    agent.read_thread(p.thread_id)  # THREAD_NOT_FOUND, and a resumed thread's servers start
    return await agent.mcp.listing(p.thread_id)


async def mcp_server_reload(agent: Agent, p: McpServerReloadParams) -> McpServerListResult:
    agent.read_thread(p.thread_id)
    try:
        await agent.mcp.reload(p.thread_id, p.name)
    except KeyError:
        raise _unknown("mcpServer/reload", p.name) from None
    return await agent.mcp.listing(p.thread_id)  # with the problems of the configuration read


async def mcp_server_trust(agent: Agent, p: McpServerTrustParams) -> McpServerListResult:
    agent.read_thread(p.thread_id)
    try:
        servers = await agent.mcp.trust(p.thread_id, p.name, p.digest, p.decision == "accept")
    except KeyError:
        raise _unknown("mcpServer/trust", p.name) from None
    except ValueError as exc:
        raise AgentError(
            ErrorCode.INVALID_PARAMS, f"invalid params for mcpServer/trust: {exc}"
        ) from None
    return McpServerListResult(servers)


def _unknown(method: str, name: str | None) -> AgentError:
    return AgentError(
        ErrorCode.INVALID_PARAMS,
        f"invalid params for {method}: no MCP server named {name!r} in this thread's "
        "configuration (mcpServer/list shows them)",
    )
