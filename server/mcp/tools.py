"""MCP tools as the turn's tools: each call is an `mcpToolCall` item, cleared by the gate.

`turn_tools(manager, window)` is asked before every model call: the tools of the servers ready
now, under their `mcp__<server>__<tool>` names. When their schemas would take more than 10 %
of the context window, the model is offered one `mcp_tool_search` tool in their place, which
returns the schemas of the tools matching a query; the tools it found are offered from then
on (for the rest of the thread), and any of them may be called at once by name.

A call: the item starts `inProgress`; the gate asks when the mode, the tool's annotations and
its `approval_mode` say so (`pending` meanwhile); then the server is called, bounded by its
`tool_timeout_sec`. The result (capped, `server.mcp.results`) is the model's observation and
the item's `result`; a tool's own error (`isError`), a timeout or a server gone fails the item
and tells the model, and the turn goes on.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from typing import Any

from protocol.item import ImageInput, McpToolCallItem
from server.agent.errors import ToolFailed
from server.agent.gate import Declined
from server.agent.ids import new_id
from server.agent.images import ImageRefused, image_url
from server.agent.model import ToolSpec
from server.agent.tools.base import Tool, ToolContext
from server.mcp.approvals import remember_approve
from server.mcp.errors import ToolCallFailed
from server.mcp.manager import McpManager, OfferedTool
from server.mcp.results import CHARS_PER_TOKEN, observe

SEARCH_TOOL = "mcp_tool_search"
SEARCH_SHARE = 0.10
"""Offer the search tool instead when the tools' schemas exceed this share of the window."""
SEARCH_LIMIT = 10


@dataclass(frozen=True)
class TurnTools:
    offered: list[ToolSpec]
    """What the model is offered on this call."""
    callable: dict[str, Tool]
    """What it may call: every ready tool, found by search or not, and the search tool."""


def spec_of(tool: OfferedTool) -> ToolSpec:
    return ToolSpec(tool.model_name, tool.description, tool.schema)


def spec_tokens(specs: list[ToolSpec]) -> int:
    return sum(len(json.dumps([s.name, s.description, s.parameters])) for s in specs) // (
        CHARS_PER_TOKEN
    )


def turn_tools(
    manager: McpManager, context_window: int, images: list[tuple[str, str]]
) -> TurnTools:
    """`images`: where calls put the (tool, data URL) of images they return, for the turn to
    show the model (`server.mcp.turn`); a turn's own, as threads may share servers."""
    ready = manager.ready_tools()
    tools = {name: _as_tool(t, manager, images) for name, t in ready.items()}
    specs = [t.spec for t in tools.values()]
    if not specs or spec_tokens(specs) <= context_window * SEARCH_SHARE:
        return TurnTools(specs, tools)
    search = Tool(_search_spec(len(specs)), _search_run(manager))
    loaded = [tools[n].spec for n in sorted(manager.loaded) if n in tools]
    return TurnTools([search.spec, *loaded], {**tools, SEARCH_TOOL: search})


def _as_tool(offered: OfferedTool, manager: McpManager, images: list[tuple[str, str]]) -> Tool:
    async def run(args: dict[str, Any], ctx: ToolContext, _call_id: str) -> str:
        return await call_mcp_tool(offered, manager, args, ctx, images)

    return Tool(spec_of(offered), run)


async def call_mcp_tool(
    offered: OfferedTool,
    manager: McpManager,
    args: dict[str, Any],
    ctx: ToolContext,
    images: list[tuple[str, str]],
) -> str:
    defn, name = offered.defn, offered.tool.name
    item = McpToolCallItem(
        id=new_id("item"), server=defn.name, tool=name, arguments=args, status="inProgress"
    )
    ctx.stream.started(item)
    clearance = await ctx.gate.clear_mcp_tool(
        ctx.stream,
        item,
        annotations=offered.annotations,
        approval_mode=defn.approval_of(name),
        remember_always=lambda: remember_approve(ctx.settings.home, defn.name, name),
    )
    if isinstance(clearance, Declined):
        return "The user declined this tool call. Continue without it, or ask the user."
    started = time.monotonic()
    manager.turn_id = ctx.stream.turn.id
    try:
        result = await offered.connection.call(name, args)
    except ToolCallFailed as exc:
        item.status, item.error = "failed", str(exc)
        item.duration_ms = int((time.monotonic() - started) * 1000)
        ctx.stream.completed(item)
        raise ToolFailed(str(exc)) from None
    seen = observe(result)
    text = seen.text
    for mime, data in seen.images:
        # The checks a user's image passes (size cap, PNG/JPEG/GIF/WebP by its bytes): a
        # server's image is sent to the model with every later request and kept in the log.
        try:
            images.append(
                (offered.model_name, image_url(ImageInput(url=f"data:{mime};base64,{data}")))
            )
        except ImageRefused as exc:
            text += f"\n[an image ({mime}) the tool returned was left out: {exc}]"
    item.result = seen.result
    item.duration_ms = int((time.monotonic() - started) * 1000)
    if result.is_error:
        item.status, item.error = "failed", seen.text
    else:
        item.status = "completed"
    ctx.stream.completed(item)
    return text


def _search_spec(count: int) -> ToolSpec:
    return ToolSpec(
        SEARCH_TOOL,
        f"Search the {count} tools of the connected MCP servers (too many to list here) by "
        "words of their name or description. Returns the matching tools with their JSON "
        "schemas; call them by the `name` it gives.",
        {
            "type": "object",
            "properties": {
                "query": {"type": "string", "description": "Words to look for."},
                "limit": {
                    "type": "integer",
                    "description": f"At most this many (default {SEARCH_LIMIT}).",
                },
            },
            "required": ["query"],
        },
    )


def _search_run(manager: McpManager) -> Any:
    async def run(args: dict[str, Any], _ctx: ToolContext, _call_id: str) -> str:
        query = str(args.get("query", ""))
        limit = args.get("limit") or SEARCH_LIMIT
        found = search(list(manager.ready_tools().values()), query, max(1, min(int(limit), 50)))
        manager.loaded.update(t.model_name for t in found)
        if not found:
            return f"No MCP tool matches {query!r}. Try other words."
        return json.dumps(
            [
                {"name": t.model_name, "description": t.description, "parameters": t.schema}
                for t in found
            ],
            ensure_ascii=False,
        )

    return run


def search(tools: list[OfferedTool], query: str, limit: int) -> list[OfferedTool]:
    """The tools whose name or description hold the most of the query's words (a name hit
    counts more), best first; ties keep the servers' order."""
    words = [w for w in re.split(r"[^a-z0-9]+", query.lower()) if w]
    if not words:
        return []
    scored: list[tuple[int, int, OfferedTool]] = []
    for index, tool in enumerate(tools):
        name = tool.model_name.lower()
        text = f"{tool.tool.name} {tool.description}".lower()
        score = sum(3 * (w in name) + (w in text) for w in words)
        if score:
            scored.append((-score, index, tool))
    return [t for _, _, t in sorted(scored, key=lambda s: (s[0], s[1]))[:limit]]
