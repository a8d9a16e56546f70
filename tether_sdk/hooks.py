"""Hooks as Python callables: Claude Code's hook contract, run in the SDK's process.

    def no_rm(event: dict[str, Any]) -> dict[str, Any] | None:
        if "rm -rf" in event["tool_input"].get("command", ""):
            return {"hookSpecificOutput": {"hookEventName": "PreToolUse",
                                           "permissionDecision": "deny",
                                           "permissionDecisionReason": "no rm -rf here"}}
        return None

    Tether(hooks={"PreToolUse": [HookMatcher("Bash", [no_rm])], "Stop": [on_stop]})

A callable gets the JSON a hook command reads on stdin (`session_id`, `cwd`,
`hook_event_name`, `tool_name`, `tool_input`, ...) as a dict and returns what such a command
would print on stdout (`decision`, `reason`, `continue`, `systemMessage`,
`hookSpecificOutput` with `permissionDecision` allow | deny | ask, `updatedInput`,
`additionalContext`), or None for nothing. It may be async. The server decides with it
exactly as with the user's hook files, which still run too (README, Hooks). A callable that
raises is a failed hook: the user is told, and like a command's exit code 1 it does not block
(deny explicitly to block).

On the wire the hooks are declared in `initialize` (`capabilities.experimental.tether.hooks`,
one id per callable) and the server asks for each run with `hook/callback`.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger("tether_sdk")

HookCallback = Callable[[dict[str, Any]], dict[str, Any] | Awaitable[dict[str, Any] | None] | None]


@dataclass(frozen=True)
class HookMatcher:
    """Callables for the events whose subject (the tool as hooks name it: Bash, Edit, Write,
    Read, ...) `matcher` takes, as a matcher group of a hooks file: "" or "*" for all, a name
    or `Edit|Write`, or a regular expression of the whole name. `timeout` in seconds (the
    server's default: 60)."""

    matcher: str = ""
    hooks: Sequence[HookCallback] = field(default_factory=list[HookCallback])
    timeout: float | None = None


Hooks = Mapping[str, Sequence[HookCallback | HookMatcher]]
"""Claude Code event name (PreToolUse, PostToolUse, UserPromptSubmit, Stop, SessionStart,
...) -> callables (matching every subject) or `HookMatcher`s."""


class HookRegistry:
    """The callables of one `Tether`, with the ids the server knows them by."""

    def __init__(self, hooks: Hooks | None) -> None:
        self._callbacks: dict[str, HookCallback] = {}
        self.declared: dict[str, list[dict[str, Any]]] = {}
        """The `initialize` declaration: event -> [{matcher, callbackIds, timeout}]."""
        for event, entries in (hooks or {}).items():
            for entry in entries:
                group = entry if isinstance(entry, HookMatcher) else HookMatcher(hooks=[entry])
                ids = [self._add(event, callback) for callback in group.hooks]
                wire: dict[str, Any] = {"matcher": group.matcher, "callbackIds": ids}
                if group.timeout is not None:
                    wire["timeout"] = group.timeout
                self.declared.setdefault(event, []).append(wire)

    def _add(self, event: str, callback: HookCallback) -> str:
        name = getattr(callback, "__qualname__", type(callback).__name__)
        callback_id = f"{event}#{len(self._callbacks)}:{name}"
        self._callbacks[callback_id] = callback
        return callback_id

    async def run(self, callback_id: str, event: dict[str, Any]) -> dict[str, Any]:
        """The `hook/callback` answer: `{output}` of the callable, or `{error}`."""
        callback = self._callbacks.get(callback_id)
        if callback is None:
            return {"error": f"no hook callback {callback_id!r} in this process"}
        try:
            output = callback(event)
            if inspect.isawaitable(output):
                output = await output
        except Exception as error:
            log.exception("the hook callback %s raised; it counts as a failed hook", callback_id)
            return {"error": f"{callback_id} raised {error!r}"}
        if output is None:
            return {}
        if not isinstance(output, dict):  # pyright: ignore[reportUnnecessaryIsInstance]
            return {"error": f"{callback_id} returned {type(output).__name__}, not a dict"}
        return {"output": output}
