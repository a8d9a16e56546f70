"""Tether items as ACP session updates: pure functions, no I/O but reading a file's text.

| Tether item | ACP update |
|---|---|
| agentMessage, reasoning (their deltas) | `agent_message_chunk`, `agent_thought_chunk` |
| commandExecution, fileChange, toolCall | `tool_call`, then `tool_call_update`s |
| plan | `plan` |
| error | `agent_message_chunk` (the user must see why the turn stopped) |
| userMessage (only when a session is replayed) | `user_message_chunk` |

A file change becomes one `diff` content per file. ACP wants whole texts (`oldText`,
`newText`); Tether's items carry hunks. While the change is not yet written (the item has just
started, or waits for approval), the file on disk is the old text and the hunks give the new
one; later (a replayed session) only the hunks' own lines are left, which still show the edit.
"""

from __future__ import annotations

from typing import Any

from acp.schema import (
    AgentMessageChunk,
    AgentPlanUpdate,
    AgentThoughtChunk,
    ContentToolCallContent,
    FileEditToolCallContent,
    PlanEntry,
    TerminalToolCallContent,
    TextContentBlock,
    ToolCallLocation,
    ToolCallProgress,
    ToolCallStart,
    ToolCallStatus,
    ToolKind,
    UserMessageChunk,
)

from protocol.item import (
    AgentMessageItem,
    CommandExecutionItem,
    ErrorItem,
    FileChange,
    FileChangeItem,
    Hunk,
    Item,
    ItemStatus,
    PlanItem,
    ReasoningItem,
    SubagentItem,
    TextInput,
    ToolCallItem,
    UserMessageItem,
)
from server.acp.subagents import subagent_start
from server.agent.files import EDIT_READ_CAP
from server.edits.safe_read import read_bounded

ToolItem = CommandExecutionItem | FileChangeItem | ToolCallItem
ToolContent = ContentToolCallContent | FileEditToolCallContent | TerminalToolCallContent

TOOL_KINDS: dict[str, ToolKind] = {
    "read_file": "read",
    "list_dir": "read",
    "search": "search",
    "update_plan": "think",
}
"""The ACP kind of each read-only tool (`toolCall` items); others are `other`."""

_STATUS: dict[ItemStatus, ToolCallStatus] = {
    "pending": "pending",
    "inProgress": "in_progress",
    "completed": "completed",
    "applied": "completed",
    "partiallyApplied": "completed",
    "reverted": "completed",
    "failed": "failed",
    "declined": "failed",
}


def text(value: str) -> TextContentBlock:
    return TextContentBlock(type="text", text=value)


def message_chunk(value: str) -> AgentMessageChunk:
    return AgentMessageChunk(session_update="agent_message_chunk", content=text(value))


def thought_chunk(value: str) -> AgentThoughtChunk:
    return AgentThoughtChunk(session_update="agent_thought_chunk", content=text(value))


def tool_status(item: ToolItem) -> ToolCallStatus:
    return _STATUS[item.status]


def tool_kind(item: ToolItem) -> ToolKind:
    if isinstance(item, CommandExecutionItem):
        return "execute"
    if isinstance(item, FileChangeItem):
        if all(c.kind == "delete" for c in item.changes):
            return "delete"
        if all(c.move_path for c in item.changes):
            return "move"
        return "edit"
    return TOOL_KINDS.get(item.tool, "other")


def tool_title(item: ToolItem) -> str:
    if isinstance(item, CommandExecutionItem):
        return item.command
    if isinstance(item, FileChangeItem):
        verbs = {"add": "Create", "delete": "Delete", "update": "Edit"}
        return ", ".join(
            f"Move {c.path} to {c.move_path}" if c.move_path else f"{verbs[c.kind]} {c.path}"
            for c in item.changes
        )
    return item.summary or item.tool


def tool_locations(item: ToolItem) -> list[ToolCallLocation]:
    if isinstance(item, FileChangeItem):
        return [
            ToolCallLocation(path=c.move_path or c.path, line=_first_line(c)) for c in item.changes
        ]
    if isinstance(item, ToolCallItem) and isinstance(item.arguments, dict):
        path = item.arguments.get("path")  # pyright: ignore[reportUnknownMemberType]
        if isinstance(path, str):
            return [ToolCallLocation(path=path)]
    return []


def _first_line(change: FileChange) -> int | None:
    """The 1-based line of the first changed line (past the hunk's leading context)."""
    if not change.hunks:
        return None
    hunk = change.hunks[0]
    context = next((i for i, line in enumerate(hunk.lines) if line[:1] != " "), 0)
    return hunk.new_start + context


def tool_raw_input(item: ToolItem) -> Any:
    if isinstance(item, CommandExecutionItem):
        return {"command": item.command, "cwd": item.cwd}
    if isinstance(item, FileChangeItem):
        return {"changes": [{"path": c.path, "kind": c.kind, "diff": c.diff} for c in item.changes]}
    return item.arguments


def tool_call_start(item: ToolItem, content: list[ToolContent]) -> ToolCallStart:
    return ToolCallStart(
        session_update="tool_call",
        tool_call_id=item.id,
        title=tool_title(item),
        kind=tool_kind(item),
        status=tool_status(item),
        locations=tool_locations(item) or None,
        raw_input=tool_raw_input(item),
        content=content or None,
    )


def tool_call_update(
    item: ToolItem, content: list[ToolContent] | None, meta: dict[str, Any] | None = None
) -> ToolCallProgress:
    return ToolCallProgress(
        session_update="tool_call_update",
        tool_call_id=item.id,
        title=tool_title(item),
        status=tool_status(item),
        content=content,
        raw_output=_raw_output(item),
        field_meta=meta,
    )


def _raw_output(item: ToolItem) -> Any:
    if isinstance(item, CommandExecutionItem):
        if item.status in ("pending", "inProgress"):
            return None
        return {
            "exitCode": item.exit_code,
            "output": item.output,
            "sandbox": item.sandbox,
            "launcher": item.launcher,
        }
    if isinstance(item, ToolCallItem):
        return item.output
    return {"status": item.status, "reason": item.reason} if item.reason else None


def output_content(item: ToolItem) -> list[ToolContent]:
    """What a finished tool call shows: a command's output, a tool's result, a refusal."""
    shown = item.output if isinstance(item, CommandExecutionItem | ToolCallItem) else None
    if isinstance(item, CommandExecutionItem) and item.reason and item.status == "declined":
        shown = item.reason
    if isinstance(item, FileChangeItem):
        shown = item.reason
    if not shown:
        return []
    return [ContentToolCallContent(type="content", content=text(shown))]


# file changes


def diffs_from_disk(item: FileChangeItem) -> list[FileEditToolCallContent]:
    """One diff per file, whole texts, for a change not yet written (see the module doc)."""
    return [_diff_from_disk(c) for c in item.changes]


def diffs_from_hunks(item: FileChangeItem) -> list[FileEditToolCallContent]:
    """One diff per file made of the hunks' own lines (the file may have moved on)."""
    return [
        _diff(
            c,
            None if c.kind == "add" else _join([line for h in c.hunks for line in _side(h, "-")]),
            _join([line for h in c.hunks for line in _side(h, "+")]),
        )
        for c in item.changes
    ]


def _diff_from_disk(change: FileChange) -> FileEditToolCallContent:
    old: str | None = None
    if change.kind != "add":
        try:
            old = read_bounded(change.path, EDIT_READ_CAP).decode("utf-8", errors="replace")
        except OSError:  # gone, too large, or no longer a regular file (a FIFO would hang)
            old = None
    lines = (old or "").splitlines()
    applied = _apply(lines, change.hunks)
    if applied is None or (old is None and change.kind != "add"):
        return _diff(
            change,
            _join([ln for h in change.hunks for ln in _side(h, "-")]),
            _join([ln for h in change.hunks for ln in _side(h, "+")]),
        )
    trailing = "\n" if (old is None or old.endswith("\n")) and applied else ""
    new = "" if change.kind == "delete" else "\n".join(applied) + trailing
    return _diff(change, old, new)


def _diff(change: FileChange, old: str | None, new: str) -> FileEditToolCallContent:
    return FileEditToolCallContent(
        type="diff", path=change.move_path or change.path, old_text=old, new_text=new
    )


def _side(hunk: Hunk, sign: str) -> list[str]:
    return [line[1:] for line in hunk.lines if line[:1] in (" ", sign)]


def _join(lines: list[str]) -> str:
    return "\n".join(lines) + "\n" if lines else ""


def _apply(lines: list[str], hunks: list[Hunk]) -> list[str] | None:
    """`lines` with the hunks applied, or None when they do not fit (the file moved on)."""
    result = list(lines)
    for hunk in sorted(hunks, key=lambda h: h.old_start, reverse=True):
        at = hunk.old_start - 1 if hunk.old_lines else hunk.old_start
        old = _side(hunk, "-")
        if result[at : at + len(old)] != old:
            return None
        result[at : at + len(old)] = _side(hunk, "+")
    return result


# plans and replay


def plan_update(item: PlanItem) -> AgentPlanUpdate:
    statuses = {"pending": "pending", "inProgress": "in_progress", "completed": "completed"}
    return AgentPlanUpdate(
        session_update="plan",
        entries=[
            PlanEntry(content=s.text, priority="medium", status=statuses[s.status])  # type: ignore[arg-type]
            for s in item.steps
        ],
    )


def replayed(item: Item) -> list[Any]:
    """The updates that show a finished item again (`session/load`)."""
    if isinstance(item, UserMessageItem):
        return [
            UserMessageChunk(
                session_update="user_message_chunk",
                content=text(c.text if isinstance(c, TextInput) else f"@{c.path}"),
            )
            for c in item.content
        ]
    if isinstance(item, AgentMessageItem):
        return [message_chunk(item.text)] if item.text else []
    if isinstance(item, ReasoningItem):
        return [thought_chunk(item.text)] if item.text else []
    if isinstance(item, PlanItem):
        return [plan_update(item)]
    if isinstance(item, CommandExecutionItem | FileChangeItem | ToolCallItem):
        content: list[ToolContent] = []
        if isinstance(item, FileChangeItem):
            content.extend(diffs_from_hunks(item))
        content.extend(output_content(item))
        return [tool_call_start(item, content)]
    if isinstance(item, ErrorItem):
        return [message_chunk(item.message)]
    if isinstance(item, SubagentItem):
        return [subagent_start(item)]
    return []
