"""What every tool gets and gives: the turn's context in, an observation for the model out.

Tool failures are observations, not exceptions: a tool raises `ToolFailed` with a message
written for the model, and the loop hands it back so the model can correct itself. Only
`TurnCancelled` (the user chose "stop" at an approval) ends the turn (`server.agent.errors`).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sandbox.executor import Executor, LocalExecutor
from server.agent.conversation import Conversation
from server.agent.errors import ToolFailed
from server.agent.files import EditorFiles
from server.agent.gate import Gate
from server.agent.model import ToolSpec
from server.agent.stream import TurnStream
from server.agent.turn_files import TurnFiles
from server.config import Settings

if TYPE_CHECKING:
    from server.agent.subagents.ports import TeamPort

MODEL_OUTPUT_CAP = 24_000
"""Characters of one tool result the model sees; more is cut in the middle with a note."""


def cap_for_model(text: str, limit: int = MODEL_OUTPUT_CAP) -> str:
    if len(text) <= limit:
        return text
    head, tail = text[: limit * 2 // 3], text[-(limit // 3) :]
    return f"{head}\n[... {len(text) - len(head) - len(tail)} characters omitted ...]\n{tail}"


@dataclass(frozen=True)
class ToolContext:
    """What a tool may use. Items reach the conversation through `stream`; an edit records
    what it applied with `conversation.record_change` (`changes.py`)."""

    conversation: Conversation
    stream: TurnStream
    gate: Gate
    files: EditorFiles
    turn_files: TurnFiles
    settings: Settings
    executor: Executor = field(default_factory=LocalExecutor)
    """Where commands run: this host, or the thread's container (`sandbox.executor`)."""
    team: TeamPort | None = None
    """The turn's sub-agents, for the spawn_agent tools (`server.agent.subagents`)."""

    @property
    def cwd(self) -> Path:
        return self.conversation.cwd


@dataclass(frozen=True)
class Tool:
    spec: ToolSpec
    run: Callable[[dict[str, Any], ToolContext, str], Awaitable[str]]
    """(arguments, context, call_id) -> the observation for the model."""


def parse_arguments(raw: str, spec: ToolSpec) -> dict[str, Any]:
    """The model's JSON arguments, checked for required fields; ToolFailed says what is wrong."""
    try:
        args = json.loads(raw or "{}")
    except json.JSONDecodeError as exc:
        raise ToolFailed(
            f"The arguments for {spec.name} are not valid JSON ({exc.msg} at "
            f"character {exc.pos}). Send a JSON object matching the tool's schema."
        ) from None
    if not isinstance(args, dict):
        raise ToolFailed(f"The arguments for {spec.name} must be a JSON object.")
    missing = [k for k in spec.parameters.get("required", []) if k not in args]
    if missing:
        raise ToolFailed(f"{spec.name} needs the argument(s) {', '.join(missing)}.")
    props: dict[str, Any] = spec.parameters.get("properties", {})
    for key, value in args.items():
        expected = props.get(key, {}).get("type")
        if expected and not _has_type(value, expected):
            raise ToolFailed(f"{spec.name}: `{key}` must be of type {expected}.")
        if key in C_STRING_ARGUMENTS and isinstance(value, str) and "\x00" in value:
            raise ToolFailed(
                f"{spec.name}: `{key}` contains a NUL character, which no path, pattern or "
                "command line can hold. Send it without the NUL."
            )
    return args


C_STRING_ARGUMENTS = frozenset({"command", "workdir", "path", "pattern", "glob"})
"""Arguments that reach the OS as C strings (argv, paths), where a NUL cannot be passed."""


def _has_type(value: Any, expected: str | list[str]) -> bool:
    kinds = [expected] if isinstance(expected, str) else expected
    checks = {
        "string": str,
        "integer": int,
        "number": (int, float),
        "boolean": bool,
        "array": list,
        "object": dict,
        "null": type(None),
    }
    return any(
        isinstance(value, checks[k])
        and not (k in ("integer", "number") and isinstance(value, bool))
        for k in kinds
        if k in checks
    )
