"""The model's tools for sub-agents: spawn_agent, wait_agents, send_agent, close_agent.

They reach the parent turn's `Team` through `ToolContext.team`; a turn without one (a child at
the deepest level, a proposal) is told that it cannot spawn.
"""

from __future__ import annotations

from typing import Any

from server.agent.errors import ToolFailed
from server.agent.model import ToolSpec
from server.agent.subagents.ports import TeamPort
from server.agent.tools.base import Tool, ToolContext
from server.agent.tools.items import as_tool_item

DEFAULT_WAIT_MS = 300_000
MAX_WAIT_MS = 1_800_000


def _team(ctx: ToolContext) -> TeamPort:
    if ctx.team is None:
        raise ToolFailed("Sub-agents cannot be used here: only the parent agent spawns them.")
    return ctx.team


async def spawn_agent(args: dict[str, Any], ctx: ToolContext, _call_id: str) -> str:
    context = args.get("context", "none")
    if context not in ("none", "summary"):
        raise ToolFailed('spawn_agent: `context` must be "none" or "summary".')
    return await _team(ctx).spawn(args.get("agent_type"), str(args["prompt"]), context)


async def wait_agents(args: dict[str, Any], ctx: ToolContext, _call_id: str) -> str:
    team = _team(ctx)
    ids = [str(i) for i in args.get("ids") or []]
    timeout = min(int(args.get("timeout_ms") or DEFAULT_WAIT_MS), MAX_WAIT_MS)
    summary = f"Waiting for {len(ids) or 'all'} agent(s)"

    async def work(_item: object) -> str:
        return await team.wait(ids, timeout)

    return await as_tool_item(ctx, "wait_agents", args, summary, work)


async def send_agent(args: dict[str, Any], ctx: ToolContext, _call_id: str) -> str:
    team = _team(ctx)

    async def work(_item: object) -> str:
        return team.send(str(args["id"]), str(args["message"]))

    return await as_tool_item(ctx, "send_agent", args, f"Message to {args['id']}", work)


async def close_agent(args: dict[str, Any], ctx: ToolContext, _call_id: str) -> str:
    team = _team(ctx)

    async def work(_item: object) -> str:
        return await team.close(str(args["id"]))

    return await as_tool_item(ctx, "close_agent", args, f"Closing {args['id']}", work)


SPAWN_AGENT = Tool(
    ToolSpec(
        "spawn_agent",
        "Start a sub-agent on a self-contained task; it runs in parallel with you and returns "
        "an id at once. Built-in agent types: `explorer` (read-only: reads, searches, "
        "summarises) and `general` (reads, runs commands, edits); the workspace may define "
        "more. The sub-agent sees only your prompt (and, with context=summary, a digest of "
        "this conversation), so say everything it needs.",
        {
            "type": "object",
            "properties": {
                "agent_type": {"type": "string", "description": "default: general"},
                "prompt": {"type": "string"},
                "context": {"type": "string", "enum": ["none", "summary"]},
            },
            "required": ["prompt"],
        },
    ),
    spawn_agent,
)
WAIT_AGENTS = Tool(
    ToolSpec(
        "wait_agents",
        "Wait until the given sub-agents (all of this turn's when `ids` is empty) have ended, "
        "or the timeout passed; returns each one's status and final message.",
        {
            "type": "object",
            "properties": {
                "ids": {"type": "array", "items": {"type": "string"}},
                "timeout_ms": {"type": "integer"},
            },
            "required": ["ids"],
        },
    ),
    wait_agents,
)
SEND_AGENT = Tool(
    ToolSpec(
        "send_agent",
        "Send a sub-agent a message: it steers one that is working, or gives one that has "
        "answered a new task.",
        {
            "type": "object",
            "properties": {"id": {"type": "string"}, "message": {"type": "string"}},
            "required": ["id", "message"],
        },
    ),
    send_agent,
)
CLOSE_AGENT = Tool(
    ToolSpec(
        "close_agent",
        "Stop a sub-agent (interrupting it if it still works) when you need it no more.",
        {"type": "object", "properties": {"id": {"type": "string"}}, "required": ["id"]},
    ),
    close_agent,
)
SUBAGENT_TOOL_SET = (SPAWN_AGENT, WAIT_AGENTS, SEND_AGENT, CLOSE_AGENT)
