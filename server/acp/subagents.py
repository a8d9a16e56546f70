"""Sub-agents in an ACP client: a child the agent spawned is a `think` tool call of the
parent's session, titled with the agent and its task, updated live with what it does and,
when it ends, its answer; a child's permission requests go to the parent's session (the child's
thread has none) with the agent named in the title."""

from __future__ import annotations

from typing import Any

from acp.schema import (
    ContentToolCallContent,
    FileEditToolCallContent,
    TerminalToolCallContent,
    TextContentBlock,
    ToolCallProgress,
    ToolCallStart,
    ToolCallStatus,
)

from protocol.item import SubagentItem, SubagentStatus

_STATUS: dict[SubagentStatus, ToolCallStatus] = {
    "pending": "pending",
    "inProgress": "in_progress",
    "completed": "completed",
    "closed": "completed",
    "failed": "failed",
    "interrupted": "failed",
}


def _title(item: SubagentItem) -> str:
    task = item.prompt.strip().splitlines()[0] if item.prompt.strip() else ""
    return f"Sub-agent {item.agent_type}: {task}"


def _content(
    item: SubagentItem,
) -> list[ContentToolCallContent | FileEditToolCallContent | TerminalToolCallContent] | None:
    running = item.status in ("pending", "inProgress")
    shown = item.activity if running else item.summary
    if not shown:
        return None
    return [
        ContentToolCallContent(type="content", content=TextContentBlock(type="text", text=shown))
    ]


def subagent_start(item: SubagentItem) -> ToolCallStart:
    return ToolCallStart(
        session_update="tool_call",
        tool_call_id=item.id,
        title=_title(item),
        kind="think",
        status=_STATUS[item.status],
        raw_input={
            "agentType": item.agent_type,
            "prompt": item.prompt,
            "agentThreadId": item.agent_thread_id,
        },
        content=_content(item),
    )


def subagent_update(item: SubagentItem) -> ToolCallProgress:
    done = item.status not in ("pending", "inProgress")
    output: dict[str, Any] | None = (
        {"status": item.status, "summary": item.summary, "changedFiles": item.changed_files}
        if done
        else None
    )
    return ToolCallProgress(
        session_update="tool_call_update",
        tool_call_id=item.id,
        title=_title(item),
        status=_STATUS[item.status],
        content=_content(item),
        raw_output=output,
    )


def session_of(params: object, sessions: set[str]) -> str:
    """The session a server request belongs to: its thread's, or for a sub-agent's request
    its parent's."""
    thread_id = str(getattr(params, "thread_id", ""))
    parent = getattr(params, "parent_thread_id", None)
    return parent if thread_id not in sessions and isinstance(parent, str) else thread_id


def asker_prefix(params: object) -> str:
    """`explorer: ` before a sub-agent's question, so the user sees who asks."""
    agent = getattr(params, "agent_type", None)
    return f"Sub-agent {agent}: " if agent else ""
