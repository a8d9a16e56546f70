"""The toolCall item lifecycle shared by the read-only tools: started, then completed or failed."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from protocol.item import ToolCallItem
from server.agent.errors import ToolFailed
from server.agent.ids import new_id
from server.agent.tools.base import ToolContext

ITEM_OUTPUT_CAP = 8_000
"""Characters of a tool's output kept on its item for the user (the model gets more)."""


async def as_tool_item(
    ctx: ToolContext,
    tool: str,
    args: dict[str, Any],
    summary: str,
    work: Callable[[ToolCallItem], Awaitable[str]],
) -> str:
    """Run `work` inside a toolCall item; its result is the observation for the model."""
    item = ToolCallItem(
        id=new_id("item"), tool=tool, arguments=args, status="inProgress", summary=summary
    )
    ctx.stream.started(item)
    try:
        output = await work(item)
    except ToolFailed as exc:
        item.status, item.output = "failed", str(exc)
        ctx.stream.completed(item)
        raise
    item.status = "completed"
    item.output = output if len(output) <= ITEM_OUTPUT_CAP else output[:ITEM_OUTPUT_CAP] + "\n…"
    ctx.stream.completed(item)
    return output
