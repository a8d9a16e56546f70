"""`tether exec --json`: one turn as Codex's `codex exec --json` JSONL, so tools (and OpenAI's
Codex SDK, through its `codexPathOverride`) built for Codex can drive Tether.

The turn runs through `tether_sdk`; `CodexEvents` turns each protocol notification into
Codex's events (`thread.started`, `turn.started`, `item.started|updated|completed`,
`turn.completed {usage}`, `turn.failed {error}`, `error`) and items (`agent_message`,
`reasoning`, `command_execution`, `file_change`, `mcp_tool_call`, `todo_list`, `error`).
Like Codex, messages and reasoning appear once, completed (no deltas), file changes once they
are applied or refused, and item ids are `item_0`, `item_1`, ... in order of appearance.
Tether's own tools (reads, listings, searches) have no Codex item; they are `mcp_tool_call`s
of the server `tether`. Approvals cannot be asked on a JSONL stream: they are declined
unless `--yes`.

`--output-schema FILE` starts the turn with the schema (`turn/start {outputSchema}`: the
endpoint's structured output, see `server.agent.structured`) and fails the turn when its final
message is still not JSON of it (`server.output_schema`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any, Literal, TextIO

from protocol.approval import (
    CommandApprovalParams,
    CommandApprovalResult,
    FileChangeApprovalParams,
    FileChangeApprovalResult,
    FileReadApprovalParams,
    FileReadApprovalResult,
)
from protocol.base import Mode, Notification
from protocol.events import (
    ItemCompletedNotification,
    ItemNotification,
    ItemStartedNotification,
)
from protocol.item import (
    AgentMessageItem,
    CommandExecutionItem,
    ErrorItem,
    FileChangeItem,
    ImageInput,
    Item,
    PlanItem,
    ReasoningItem,
    TextInput,
    ToolCallItem,
    UserInput,
)
from protocol.turn import Turn, TurnCompletedNotification, TurnStartedNotification
from server.exec_args import image_inputs, read_output_schema
from server.output_schema import final_message_problem, json_text
from tether_sdk import Tether, TetherError
from tether_sdk.thread import ServerGone

_CONFIG_KEYS = {"openai_base_url": "base_url", "model": "model"}
"""`--config key=value` overrides with a Tether meaning; the rest are ignored, with a note."""

_FILE_CHANGE_DONE = {"applied", "partiallyApplied", "completed"}
_ENDED = {"completed", "failed", "declined", "applied", "partiallyApplied", "reverted"}


class CodexEvents:
    """Maps one turn's protocol notifications to Codex JSONL events (dicts)."""

    def __init__(self, schema: dict[str, Any] | None = None) -> None:
        self._ids: dict[str, str] = {}
        self._shown: dict[str, dict[str, Any]] = {}
        self._schema = schema
        self.last_message: str | None = None

    def thread_started(self, thread_id: str) -> dict[str, Any]:
        return {"type": "thread.started", "thread_id": thread_id}

    def map(self, event: Notification) -> list[dict[str, Any]]:
        if isinstance(event, TurnStartedNotification):
            return [{"type": "turn.started"}]
        if isinstance(event, TurnCompletedNotification):
            return [self._turn_ended(event.turn)]
        if isinstance(event, ItemNotification):
            return self._item(event)
        return []

    def _item(self, event: ItemNotification) -> list[dict[str, Any]]:
        item = event.item
        completed = isinstance(event, ItemCompletedNotification)
        if isinstance(item, AgentMessageItem | ReasoningItem | ErrorItem | FileChangeItem):
            if not completed:  # Codex shows these once, finished
                return []
        elif not isinstance(item, CommandExecutionItem | ToolCallItem | PlanItem):
            return []  # the user's own message, context compaction: no Codex item
        codex_item = self._codex_item(item)
        if codex_item is None:
            return []
        if completed:
            kind = "item.completed"
        elif isinstance(event, ItemStartedNotification):
            kind = "item.started"
        elif self._shown.get(item.id) == codex_item:
            return []  # a change Codex's shape does not show (say, pending -> in progress)
        else:
            kind = "item.updated"
        self._shown[item.id] = codex_item
        return [{"type": kind, "item": codex_item}]

    def _codex_id(self, tether_id: str) -> str:
        return self._ids.setdefault(tether_id, f"item_{len(self._ids)}")

    def _codex_item(self, item: Item) -> dict[str, Any] | None:
        base: dict[str, Any] = {"id": self._codex_id(item.id)}
        if isinstance(item, AgentMessageItem):
            text = item.text
            if self._schema is not None:
                text = json_text(text) or text
            self.last_message = text
            return {**base, "type": "agent_message", "text": text}
        if isinstance(item, ReasoningItem):
            return {**base, "type": "reasoning", "text": item.text}
        if isinstance(item, ErrorItem):
            return {**base, "type": "error", "message": item.message}
        if isinstance(item, CommandExecutionItem):
            out = {
                **base,
                "type": "command_execution",
                "command": item.command,
                "aggregated_output": item.output,
                "status": _status(item.status),
            }
            if item.exit_code is not None and item.status in _ENDED:
                out["exit_code"] = item.exit_code
            return out
        if isinstance(item, FileChangeItem):
            return {
                **base,
                "type": "file_change",
                "changes": [{"path": c.path, "kind": c.kind} for c in item.changes],
                "status": "completed" if item.status in _FILE_CHANGE_DONE else "failed",
            }
        if isinstance(item, ToolCallItem):
            out = {
                **base,
                "type": "mcp_tool_call",
                "server": "tether",
                "tool": item.tool,
                "arguments": item.arguments,
                "status": _status(item.status),
            }
            if item.status == "completed":
                text = item.output if item.output is not None else item.summary or ""
                out["result"] = {
                    "content": [{"type": "text", "text": text}],
                    "structured_content": None,
                }
            elif item.status in ("failed", "declined"):
                out["error"] = {"message": item.summary or f"{item.tool} {item.status}"}
            return out
        if isinstance(item, PlanItem):
            return {
                **base,
                "type": "todo_list",
                "items": [
                    {"text": s.text, "completed": s.status == "completed"} for s in item.steps
                ],
            }
        return None

    def _turn_ended(self, turn: Turn) -> dict[str, Any]:
        if turn.status == "completed":
            problem = self._schema_problem()
            if problem is None:
                usage = turn.usage
                return {
                    "type": "turn.completed",
                    "usage": {
                        "input_tokens": usage.input_tokens if usage else 0,
                        "cached_input_tokens": usage.cached_input_tokens if usage else 0,
                        "output_tokens": usage.output_tokens if usage else 0,
                        "reasoning_output_tokens": usage.reasoning_output_tokens if usage else 0,
                    },
                }
            return {"type": "turn.failed", "error": {"message": problem}}
        message = turn.error.message if turn.error else f"the turn was {turn.status}"
        return {"type": "turn.failed", "error": {"message": message}}

    def _schema_problem(self) -> str | None:
        if self._schema is None:
            return None
        return final_message_problem(self.last_message, self._schema)


def _status(status: str) -> str:
    """Tether's item status as Codex's `in_progress | completed | failed`."""
    if status == "completed":
        return "completed"
    if status in ("failed", "declined"):
        return "failed"
    return "in_progress"


def _config_overrides(pairs: list[str], err: TextIO) -> dict[str, str]:
    """`--config key=value` (TOML values, as Codex takes them) with a Tether meaning."""
    found: dict[str, str] = {}
    for pair in pairs:
        key, _, raw = pair.partition("=")
        name = _CONFIG_KEYS.get(key.strip())
        if name is None:
            err.write(f"tether: ignoring --config {key.strip()} (no Tether equivalent)\n")
            continue
        try:
            value = json.loads(raw)  # a TOML basic string is a JSON string
        except ValueError:
            value = raw.strip()
        found[name] = str(value)
    return found


def _api_key_env() -> dict[str, str]:
    """The Codex SDK hands its `apiKey` over as CODEX_API_KEY; Tether reads OPENAI_API_KEY."""
    key = os.environ.get("CODEX_API_KEY")
    return {"OPENAI_API_KEY": key} if key and not os.environ.get("OPENAI_API_KEY") else {}


class _Answers:
    """Approvals on a JSONL stream, where nobody can be asked: all accepted (`--yes`) or all
    declined."""

    def __init__(self, yes: bool) -> None:
        self.decision: Literal["accept", "decline"] = "accept" if yes else "decline"

    def command(self, _: CommandApprovalParams) -> CommandApprovalResult:
        return CommandApprovalResult(decision=self.decision)

    def change(self, _: FileChangeApprovalParams) -> FileChangeApprovalResult:
        return FileChangeApprovalResult(decision=self.decision)

    def read(self, _: FileReadApprovalParams) -> FileReadApprovalResult:
        return FileReadApprovalResult(decision=self.decision)


async def exec_jsonl(ns: argparse.Namespace, prompt: str, out: TextIO, err: TextIO) -> int:
    """Run one turn of `ns` (the `tether exec` arguments) and print it as Codex JSONL.
    Exit code: 0 completed, 1 failed or interrupted, 2 could not start."""

    def emit(event: dict[str, Any]) -> None:
        out.write(json.dumps(event, separators=(",", ":")) + "\n")
        out.flush()

    try:
        schema = read_output_schema(ns.output_schema)
    except ValueError as error:
        emit({"type": "error", "message": str(error)})
        return 2
    config = _config_overrides(ns.config or [], err)
    mode: Mode | None = ns.mode  # --sandbox is folded in by server.exec_args
    answers = _Answers(ns.yes)
    events = CodexEvents(schema)
    final: dict[str, Any] | None = None
    try:
        async with Tether(
            ns.cd or os.getcwd(),
            mode=mode,
            model=ns.model or config.get("model"),
            base_url=config.get("base_url"),
            roots=ns.add_dir or (),
            on_command_approval=answers.command,
            on_file_change=answers.change,
            on_file_read=answers.read,
            env=_api_key_env(),
        ) as tether:
            thread = await (tether.resume_thread(ns.resume) if ns.resume else tether.start_thread())
            emit(events.thread_started(thread.id))
            images = [ImageInput(path=i["path"]) for i in image_inputs(ns.image)]
            inputs: list[UserInput] = [TextInput(text=prompt), *images]
            async for note in thread.run_streamed(inputs, output_schema=schema):
                for event in events.map(note):
                    emit(event)
                    if event["type"] in ("turn.completed", "turn.failed"):
                        final = event
    except (TetherError, ServerGone) as error:
        emit({"type": "error", "message": str(error)})
        err.write(f"tether: {error}\n")
        return 2 if final is None and isinstance(error, TetherError) else 1
    if ns.output_last_message and events.last_message is not None:
        Path(ns.output_last_message).write_text(events.last_message)
    if final is None or final["type"] != "turn.completed":
        message = final["error"]["message"] if final else "the turn did not finish"
        err.write(f"tether: {message}\n")
        return 1
    return 0


def run_exec_jsonl(ns: argparse.Namespace, prompt: str) -> int:
    return asyncio.run(exec_jsonl(ns, prompt, sys.stdout, sys.stderr))
