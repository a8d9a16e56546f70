"""A thread's hooks (`server.hooks`) at the points of its turns, as Claude Code runs them.

`ThreadHooks.run(event, ...)` loads the configuration (a changed file applies at the next
event), keeps the matching commands whose source is trusted (a project's file unknown so far
is asked about once, `approval/hookTrust`), runs them with the Claude Code payload on stdin
(the client's own hooks through `hook/callback`, with the same payload),
tells the client (`hook/started`, `hook/completed`), shows the user what is meant for the
user, and returns the `Outcome` for the turn to act on. `turn.py` decides what an outcome does
at each point (block a tool, rewrite its input, go on after Stop, add context).

Hooks run outside the sandbox and may change files (a formatter after an edit): inside a turn
the roots are snapshot around them like around a command, so the turn's diff and
`turn/revert` include what they changed.
"""

from __future__ import annotations

import asyncio
import functools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from protocol.base import Mode
from protocol.hooks import (
    HookCallbackParams,
    HookCompletedNotification,
    HookRun,
    HookRunEntry,
    HookStartedNotification,
    HookTrustCommand,
    HookTrustParams,
)
from protocol.lsp import WARNING, ShowMessage
from server.agent.client import Notifier
from server.agent.conversation import Conversation
from server.agent.ids import new_id
from server.agent.stream import TurnStream
from server.agent.turn_files import TurnFiles
from server.config import Settings
from server.hooks.claude_names import claude_inputs, claude_name, tether_args
from server.hooks.config import (
    HookCommand,
    HookConfig,
    HookSource,
    TrustStore,
    commands_of,
    load_hooks,
)
from server.hooks.outcome import Outcome, read_results
from server.hooks.runner import HookResult, hook_env, run_hooks

PERMISSION_MODES: dict[Mode, str] = {
    "readOnly": "default",
    "agent": "acceptEdits",
    "fullAccess": "bypassPermissions",
}
"""Tether's modes as Claude's `permission_mode`: what a script that checks it should think."""


def load_for(settings: Settings, roots: list[Path]) -> HookConfig:
    return load_hooks(
        settings.home,
        roots,
        toml_hooks=settings.hooks,
        import_claude=settings.hooks_import_claude,
        client=settings.client_hooks,
    )


class ThreadHooks:
    """The hooks of one thread; one per thread, kept with its other parts."""

    def __init__(self, conversation: Conversation, notifier: Notifier) -> None:
        self._conversation = conversation
        self._notifier = notifier
        self.session_started = False
        self.has_history = bool(conversation.turns)
        """The thread had turns when this server took it up: its SessionStart is `resume`."""
        self._problems_shown: set[str] = set()

    async def run(
        self,
        settings: Settings,
        event: str,
        fields: dict[str, Any],
        *,
        subject: str | None = None,
        stream: TurnStream | None = None,
        turn_files: TurnFiles | None = None,
        tool_name: str | None = None,
    ) -> Outcome | None:
        """Run the event's hooks; None when none matched (or none is trusted)."""
        config = load_for(settings, self._conversation.roots)
        self._show_problems(config.problems)
        hooks = await self._trusted(settings, config.matching(event, subject), stream)
        if not hooks:
            return None
        turn_id = stream.turn.id if stream is not None else None
        run = HookRun(
            id=new_id("hook"),
            event_name=event,
            status="running",
            entries=[HookRunEntry(h.command, h.source.label, "running") for h in hooks],
            tool_name=tool_name,
        )
        self._notifier.notify(HookStartedNotification(self._conversation.id, run, turn_id))
        started = time.monotonic()
        payload = self.payload(event, fields)
        cwd = self._conversation.cwd
        env = hook_env(self._project_dir())
        client = functools.partial(self._ask_client, payload=payload, turn_id=turn_id)
        if stream is not None and turn_files is not None:
            await turn_files.before_command(stream)
            try:
                results = await run_hooks(hooks, payload, cwd, env, client)
            finally:
                await turn_files.after_command(stream)
        else:
            results = await run_hooks(hooks, payload, cwd, env, client)
        outcome = read_results(event, results)
        for message in outcome.user_messages:
            self.warn(f"hook: {message}")
        run.entries = [
            HookRunEntry(h.command, h.source.label, e.status, e.exit_code, e.message)
            for h, e in zip(hooks, outcome.entries, strict=True)
        ]
        run.status = (
            "blocked"
            if outcome.block or outcome.stop or outcome.permission == "deny"
            else "failed"
            if any(e.status == "failed" for e in outcome.entries)
            else "completed"
        )
        run.duration_ms = int((time.monotonic() - started) * 1000)
        self._notifier.notify(HookCompletedNotification(self._conversation.id, run, turn_id))
        return outcome

    async def _ask_client(
        self, hook: HookCommand, *, payload: dict[str, Any], turn_id: str | None
    ) -> HookResult:
        """One of the client's hooks, run by the client (`hook/callback`); its answer read as
        a command's exit 0 and stdout, its failure as a non-blocking error."""
        assert hook.callback_id is not None
        started = time.monotonic()
        params = HookCallbackParams(self._conversation.id, hook.callback_id, payload, turn_id)
        try:
            answer = await asyncio.wait_for(self._notifier.request(params), hook.timeout_s)
        except TimeoutError:
            why = f"the client did not answer within {hook.timeout_s:g} s"
            return HookResult(hook, None, "", why, _since(started), timed_out=True)
        except Exception as exc:  # the client refused the request, or is gone
            return HookResult(
                hook, None, "", f"the client could not run it: {exc}", _since(started)
            )
        if answer.error is not None:
            return HookResult(hook, 1, "", answer.error, _since(started))
        stdout = json.dumps(answer.output) if answer.output is not None else ""
        return HookResult(hook, 0, stdout, "", _since(started))

    def payload(self, event: str, fields: dict[str, Any]) -> dict[str, Any]:
        """Claude Code's common fields, then the event's own."""
        return {
            "session_id": self._conversation.id,
            "transcript_path": str(self._conversation.journal_path),
            "cwd": str(self._conversation.cwd),
            "permission_mode": PERMISSION_MODES[self._conversation.mode],
            "hook_event_name": event,
            **fields,
        }

    def _project_dir(self) -> Path:
        cwd = self._conversation.cwd
        return next((r for r in self._conversation.roots if cwd.is_relative_to(r)), cwd)

    async def _trusted(
        self, settings: Settings, hooks: list[HookCommand], stream: TurnStream | None
    ) -> list[HookCommand]:
        store = TrustStore(settings.home)
        trusted: dict[str, bool] = {}
        for source in {h.source.label: h.source for h in hooks}.values():
            state = store.state(source)
            if state == "unknown" and stream is not None:
                state = await self._ask_trust(store, source, stream)
            trusted[source.label] = state == "trusted"
        return [h for h in hooks if trusted[h.source.label]]

    async def _ask_trust(self, store: TrustStore, source: HookSource, stream: TurnStream) -> str:
        commands = [
            HookTrustCommand(c.event, c.matcher, c.command) for c in commands_of(source, [])
        ]
        try:
            answer = await self._notifier.request(
                HookTrustParams(
                    thread_id=self._conversation.id,
                    turn_id=stream.turn.id,
                    source=source.label,
                    digest=source.digest,
                    commands=commands,
                )
            )
        except Exception as exc:  # a client that cannot answer: the hooks stay off, unasked
            self.warn(f"hooks of {source.label} are off: the client could not be asked ({exc})")
            return "declined"
        if answer.decision == "cancel":
            return "declined"
        store.remember(source, answer.decision == "accept")
        return "trusted" if answer.decision == "accept" else "declined"

    def _show_problems(self, problems: list[str]) -> None:
        for problem in problems:
            if problem not in self._problems_shown:
                self._problems_shown.add(problem)
                self.warn(f"hooks: {problem}")

    def warn(self, message: str) -> None:
        self._notifier.notify(ShowMessage(WARNING, f"Tether: {message}"))


MAX_STOP_CONTINUATIONS = 3
"""A Stop hook that blocks while `stop_hook_active` is already true (a script that ignores the
flag) lets the turn go on at most this often before Tether ends it anyway."""


class HooksStopped(Exception):
    """A hook answered `continue: false`: the turn ends, the user is told `stopReason`."""


@dataclass(frozen=True)
class PreToolVerdict:
    blocked: str | None
    """Why a hook blocked the call (for the model and the item), or None."""
    permission: Literal["allow", "ask"] | None = None
    updated_input: dict[str, Any] | None = None
    """The model's arguments rewritten by a hook (Tether's names), to be gated again."""


class TurnHooks:
    """A thread's hooks at the points of one turn; each method says what the turn should do."""

    def __init__(
        self, thread: ThreadHooks, settings: Settings, stream: TurnStream, turn_files: TurnFiles
    ) -> None:
        self._thread = thread
        self._settings = settings
        self._stream = stream
        self._turn_files = turn_files
        self._stop_continuations = 0
        self._background: set[asyncio.Task[Any]] = set()
        self._inputs: dict[str, list[dict[str, Any]]] = {}
        self.stop_event = "Stop"
        """A sub-agent's turns run SubagentStop instead (`server.agent.subagents.child`), with
        `stop_fields` in the payload and `stop_subject` for the matchers."""
        self.stop_subject: str | None = None
        self.stop_fields: dict[str, Any] = {}

    async def _run(
        self,
        event: str,
        fields: dict[str, Any],
        *,
        subject: str | None = None,
        tool_name: str | None = None,
        stops: bool = True,
    ) -> Outcome | None:
        outcome = await self._thread.run(
            self._settings,
            event,
            fields,
            subject=subject,
            stream=self._stream,
            turn_files=self._turn_files,
            tool_name=tool_name,
        )
        if outcome is not None and outcome.stop and stops:
            raise HooksStopped(outcome.stop_reason or "a hook stopped the turn")
        return outcome

    async def session_start(self) -> str:
        """SessionStart, the first turn of the thread in this server (`startup` for a new
        thread, `resume` for one read back); its context for the model."""
        if self._thread.session_started:
            return ""
        self._thread.session_started = True
        source = "resume" if self._thread.has_history else "startup"
        return await self._session_start(source)

    async def after_compaction(self) -> str:
        return await self._session_start("compact")

    async def _session_start(self, source: str) -> str:
        outcome = await self._run("SessionStart", {"source": source}, subject=source, stops=False)
        return outcome.additional_context if outcome else ""

    async def prompt_submit(self, prompt: str) -> tuple[str | None, str]:
        """UserPromptSubmit: (why the prompt is blocked or None, context for the model)."""
        outcome = await self._run("UserPromptSubmit", {"prompt": prompt})
        if outcome is None:
            return None, ""
        return (outcome.reason or "blocked by a hook") if outcome.block else None, (
            outcome.additional_context
        )

    async def pre_tool_use(
        self, tool: str, args: dict[str, Any], call_id: str, cwd: Path
    ) -> PreToolVerdict:
        """PreToolUse, once per event the call makes (apply_patch: one Write per file)."""
        name = claude_name(tool)
        permission: Literal["allow", "ask"] | None = None
        updated: dict[str, Any] | None = None
        for tool_input in claude_inputs(tool, args, cwd):
            outcome = await self._run(
                "PreToolUse",
                {"tool_name": name, "tool_input": tool_input, "tool_use_id": call_id},
                subject=name,
                tool_name=name,
            )
            if outcome is None:
                continue
            if outcome.block or outcome.permission == "deny":
                return PreToolVerdict(outcome.reason or "denied by a PreToolUse hook")
            if outcome.permission == "ask" or (outcome.permission == "allow" and not permission):
                permission = outcome.permission
            if outcome.updated_input is not None:  # each file's Write rewrites its own file
                changes = outcome.updated_input
                if tool == "apply_patch":  # which file's content: the event's
                    changes = {"file_path": tool_input.get("file_path"), **changes}
                updated = tether_args(tool, updated or args, changes, cwd)
        self._inputs[call_id] = claude_inputs(tool, updated or args, cwd)
        return PreToolVerdict(None, permission, updated)

    def _inputs_of(self, tool: str, args: dict[str, Any], call_id: str, cwd: Path) -> list[Any]:
        """The call's tool_inputs as PreToolUse saw them: after the tool ran, a patch's files
        are no longer what it applies to."""
        return self._inputs.pop(call_id, None) or claude_inputs(tool, args, cwd)

    async def post_tool_use(
        self, tool: str, args: dict[str, Any], call_id: str, cwd: Path, output: str
    ) -> str:
        """PostToolUse; what its hooks say to the model (feedback, a block's reason)."""

        def payload(tool_input: dict[str, Any]) -> dict[str, Any]:
            response: dict[str, Any] = {"output": output, "success": True}
            if "file_path" in tool_input:
                response["filePath"] = tool_input["file_path"]
            return {"tool_response": response}

        return await self._after_tool("PostToolUse", tool, args, call_id, cwd, payload)

    async def post_tool_failure(
        self, tool: str, args: dict[str, Any], call_id: str, cwd: Path, error: str
    ) -> str:
        """PostToolUseFailure; what its hooks say to the model."""
        return await self._after_tool(
            "PostToolUseFailure",
            tool,
            args,
            call_id,
            cwd,
            lambda _input: {"error": error, "is_interrupt": False},
        )

    async def _after_tool(
        self,
        event: str,
        tool: str,
        args: dict[str, Any],
        call_id: str,
        cwd: Path,
        payload: Callable[[dict[str, Any]], dict[str, Any]],
    ) -> str:
        """Run one after-the-tool event once per file the call touched (Claude Code sends a
        patch's files one at a time); the notes for the model, one line each."""
        name = claude_name(tool)
        notes: list[str] = []
        for tool_input in self._inputs_of(tool, args, call_id, cwd):
            outcome = await self._run(
                event,
                {
                    "tool_name": name,
                    "tool_input": tool_input,
                    **payload(tool_input),
                    "tool_use_id": call_id,
                },
                subject=name,
                tool_name=name,
            )
            notes += _model_notes(event, outcome)
        return "\n".join(notes)

    async def stop(self) -> str | None:
        """Stop: the reason to go on (the model's next input), or None to end the turn."""
        active = self._stop_continuations > 0
        outcome = await self._run(
            self.stop_event,
            {"stop_hook_active": active, **self.stop_fields},
            subject=self.stop_subject,
        )
        if outcome is None or not outcome.block:
            return None
        if self._stop_continuations >= MAX_STOP_CONTINUATIONS:
            self._thread.warn(
                f"a Stop hook blocked {MAX_STOP_CONTINUATIONS + 1} times in a row although "
                "stop_hook_active was true; the turn ends. Check the hook's loop guard."
            )
            return None
        self._stop_continuations += 1
        return outcome.reason or "A Stop hook asks you to go on."

    async def pre_compact(self, manual: bool) -> None:
        trigger = "manual" if manual else "auto"
        await self._run(
            "PreCompact", {"trigger": trigger, "custom_instructions": ""}, subject=trigger
        )

    def notification(self, message: str, kind: str) -> None:
        """Notification (the user is asked something), in the background: an approval must not
        wait for the user's notifier script."""
        task = asyncio.get_running_loop().create_task(
            self._run(
                "Notification",
                {"message": message, "notification_type": kind},
                subject=kind,
                stops=False,
            )
        )
        self._background.add(task)
        task.add_done_callback(self._background.discard)


def _since(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def _model_notes(event: str, outcome: Outcome | None) -> list[str]:
    if outcome is None:
        return []
    notes: list[str] = []
    if outcome.block and outcome.reason:
        notes.append(f"{event} hook: {outcome.reason}")
    if outcome.additional_context:
        notes.append(outcome.additional_context)
    return notes
