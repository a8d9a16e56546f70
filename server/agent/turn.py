"""The turn loop: ask the model, stream what it says, run the tools it calls, repeat until it
answers without calling one. Reads top to bottom; tool failures are observations for the model,
and only three things end a turn early: an interrupt, a "stop" at an approval, a model failure.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from protocol.base import ErrorInfo, Usage
from protocol.item import (
    AgentMessageItem,
    ContextCompactionItem,
    ErrorItem,
    ReasoningItem,
    ToolCallItem,
    UserInput,
    UserMessageItem,
)
from protocol.turn import Turn
from sandbox.executor import Executor, LocalExecutor
from server.agent import compaction
from server.agent.client import Notifier
from server.agent.context import render_user_input
from server.agent.conversation import Conversation
from server.agent.errors import ModelError, StructuredOutputRefused, ToolFailed, TurnCancelled
from server.agent.executor_files import ExecutorFiles
from server.agent.files import DocumentSource, EditorFiles
from server.agent.gate import Gate
from server.agent.history import AssistantEntry, ToolCallEntry, ToolResultEntry, UserEntry
from server.agent.hooks import HooksStopped, ThreadHooks, TurnHooks
from server.agent.ids import new_id, now_ms
from server.agent.images import image_urls
from server.agent.model import (
    Finished,
    ModelClient,
    ReasoningDelta,
    TextDelta,
    ToolCallReady,
    ToolSpec,
)
from server.agent.prompt import build_instructions
from server.agent.stream import TurnStream
from server.agent.structured import StructuredTurn
from server.agent.tools.base import (
    MODEL_OUTPUT_CAP,
    Tool,
    ToolContext,
    cap_for_model,
    parse_arguments,
)
from server.agent.turn_files import TurnFiles
from server.agent.watcher import WorkspaceWatcher
from server.config import Settings
from server.edits.checkpoints import CheckpointStore
from server.hooks.claude_names import claude_name
from server.mcp.errors import RequiredServerNotReady
from server.mcp.naming import available_tools, is_mcp_tool
from server.mcp.turn import MCP_OUTPUT_CAP, McpTurn

if TYPE_CHECKING:
    from server.agent.subagents.ports import TeamPort

log = logging.getLogger(__name__)
T = TypeVar("T")

MAX_RETRY_AFTER_S = 60.0
"""A longer Retry-After fails the turn, saying when to try again, instead of stalling it."""


@dataclass
class TurnServices:
    """What a turn borrows from the server."""

    settings: Settings
    notifier: Notifier
    model_client: Callable[[], Awaitable[ModelClient]]
    tools: dict[str, Tool]
    read_buffer: Callable[[Path], str | None]
    checkpoints: CheckpointStore
    documents: DocumentSource | None = None
    """The client's buffers when it keeps them (ACP); see `server.agent.files`."""
    subagents: Callable[[TurnRunner], TeamPort] | None = None
    """The team a turn's spawn_agent tools work with (`server.agent.subagents`); None where
    no sub-agent may be spawned (a sub-agent's own turns)."""
    mcp: Callable[[str], asyncio.Task[Any] | None] | None = None
    """thread id -> its MCP servers being started (`server.mcp.threads`), or None."""


@dataclass(frozen=True)
class ThreadParts:
    """A thread's long-lived parts a turn works with; each owns its state (see `service`)."""

    conversation: Conversation
    gate: Gate
    watcher: WorkspaceWatcher
    hooks: ThreadHooks
    executor: Executor = field(default_factory=LocalExecutor)
    """Where the thread's commands run (`sandbox.executor`)."""


class TurnRunner:
    """One turn. `on_finish` runs when it has ended, just before `turn/completed` goes out."""

    def __init__(
        self,
        services: TurnServices,
        thread: ThreadParts,
        model: str,
        user_input: list[UserInput],
        on_finish: Callable[[TurnRunner], None],
        *,
        compact_only: bool = False,
        output_schema: dict[str, Any] | None = None,
    ) -> None:
        self.services = services
        self.conversation = thread.conversation
        self.gate = thread.gate
        self.watcher = thread.watcher
        self.executor = thread.executor
        self.model = model
        self.turn = Turn(
            id=new_id("turn"),
            thread_id=self.conversation.id,
            status="inProgress",
            items=[],
            started_at=now_ms(),
        )
        self.stream = TurnStream(services.notifier, self.conversation, self.turn)
        documents = services.documents
        self.files = EditorFiles(
            services.read_buffer,
            services.notifier,
            None if documents is None else functools.partial(documents, self.conversation.id),
            None if self.executor.shares_host_files else ExecutorFiles(self.executor),
        )
        self.turn_files = TurnFiles(
            self.files,
            services.checkpoints,
            self.turn.id,
            self.conversation.roots,
            self.gate.file_policy(),
        )
        self.hooks = TurnHooks(thread.hooks, services.settings, self.stream, self.turn_files)
        self.stream.on_request = self._notify_hooks
        self._on_finish = on_finish
        self._input = user_input
        self._steering: list[list[UserInput]] = []
        self._usage = Usage(0, 0, 0, 0)
        self._compact_requested = compact_only
        self.structured = StructuredTurn(output_schema) if output_schema is not None else None
        self._answer = ""
        self.task: asyncio.Task[None] | None = None
        self.team: TeamPort | None = None
        """The sub-agents this turn spawned; made at its first tool call that may spawn."""
        self.mcp = McpTurn(
            services.mcp(self.conversation.id) if services.mcp else None,
            compaction.context_window(services.settings.context_window),
        )
        self._callable: dict[str, Tool] = services.tools

    def start(self) -> None:
        self.watcher.turn_started()
        self.stream.turn_started()
        self.task = asyncio.get_running_loop().create_task(self._run(), name=self.turn.id)

    def steer(self, user_input: list[UserInput]) -> None:
        """Queue input for the turn's next model call."""
        self._steering.append(user_input)

    def interrupt(self) -> None:
        if self.task is not None and not self.task.done():
            self.task.cancel()

    async def _run(self) -> None:
        try:
            if self._compact_requested and not self._input:  # thread/compact with no turn
                await self._with_retries(self._compact)
                self.turn.status = "completed"
                return
            await self.mcp.open()  # required servers hold the turn, up to their start-up timeout
            if not await self._submit_prompt():
                self.turn.status = "completed"
                return
            while True:
                for steer in self._steering:
                    self._add_user_message(steer)
                self._steering.clear()
                calls = await self._call_model()
                if not calls and not self._steering:  # a steer during the answer: go on
                    if self.structured and (fix := self.structured.correction(self._answer)):
                        self.conversation.add_entry(UserEntry(fix))  # once: see `structured`
                        continue
                    if (reason := await self.hooks.stop()) is not None:
                        self.conversation.add_entry(UserEntry(reason))  # a Stop hook: go on
                        continue
                    break
                for call in calls:
                    await self._run_tool(call)
                if images := self.mcp.take_images():  # after every result, as the APIs want
                    self.conversation.add_entry(images)
            self.turn.status = "completed"
        except (asyncio.CancelledError, TurnCancelled):
            self.turn.status = "interrupted"
        except HooksStopped as exc:
            self.stream.add(ErrorItem(id=new_id("item"), message=f"A hook stopped the turn: {exc}"))
            self.turn.status = "completed"
        except ModelError as exc:
            self._fail(str(exc), "modelError")
        except RequiredServerNotReady as exc:
            self._fail(str(exc), "mcpServerRequired")
        except Exception as exc:  # a bug must not leave the thread stuck "running"
            log.exception("turn %s crashed", self.turn.id)
            self._fail(
                f"Tether hit an internal error: {exc!r}. The thread is intact; try again.",
                "internalError",
            )
        finally:
            if self.team is not None:  # children never outlive the turn that shows them
                await self.team.end(self.turn.status)
            self._finish()

    def _outside_changes(self) -> str | None:
        return self.watcher.take_summary(self.conversation.cwd)

    async def _submit_prompt(self) -> bool:
        """The user's message, after SessionStart and UserPromptSubmit hooks (their context goes
        with it); False when a hook blocked it (the model never sees it)."""
        started = await self.hooks.session_start()
        prompt = render_user_input(self._input, self.files.read_for_model)
        blocked, context = await self.hooks.prompt_submit(prompt)
        if blocked is not None:
            self.stream.add(UserMessageItem(id=new_id("item"), content=self._input))
            self.stream.add(
                ErrorItem(id=new_id("item"), message=f"A hook blocked this prompt: {blocked}")
            )
            return False
        notes = [n for n in (self._outside_changes(), started, context) if n]
        self._add_user_message(self._input, "\n\n".join(notes) or None)
        return True

    def _notify_hooks(self, params: object) -> None:
        what = getattr(params, "command", None) or getattr(params, "path", None) or "a change"
        self.hooks.notification(f"Tether needs your permission for {what}", "permission_prompt")

    def _add_user_message(self, content: list[UserInput], note: str | None = None) -> None:
        self.stream.add(UserMessageItem(id=new_id("item"), content=content))
        text = render_user_input(content, self.files.read_for_model)
        images, problems = image_urls(content)
        text = "\n\n".join([text, *problems]) if problems else text
        self.conversation.add_entry(
            UserEntry(f"{text}\n\n<context>{note}</context>" if note else text, images)
        )

    async def _call_model(self) -> list[ToolCallReady]:
        instructions = self._instructions()
        if self._compaction_due(instructions):
            await self._with_retries(self._compact)
        try:
            return await self._with_retries(lambda: self._stream_model(instructions))
        except StructuredOutputRefused:
            assert self.structured is not None  # only a call with a schema is refused so
            self.structured.endpoint_refused()
            instructions = self._instructions()
            return await self._with_retries(lambda: self._stream_model(instructions))

    async def _with_retries(self, call: Callable[[], Awaitable[T]]) -> T:
        """A model call, retried with capped backoff while failures are transient."""
        max_retries = self.services.settings.max_retries
        for attempt in range(1, max_retries + 2):
            try:
                return await call()
            except ModelError as exc:
                if not exc.retryable or attempt > max_retries:
                    raise
                if exc.retry_after is not None and exc.retry_after > MAX_RETRY_AFTER_S:
                    raise ModelError(
                        f"{exc} The endpoint asks to wait {exc.retry_after:.0f} s before trying "
                        "again; try the turn again later.",
                        retryable=False,
                    ) from None
                delay = (
                    exc.retry_after
                    if exc.retry_after is not None
                    else min(0.5 * 2 ** (attempt - 1), 8.0) * random.uniform(0.8, 1.2)
                )
                self.stream.retrying(attempt, max_retries, delay, str(exc))
                await asyncio.sleep(delay)
        raise AssertionError("unreachable")

    def request_compaction(self) -> None:
        """Compact before the next model call (`thread/compact` while the turn runs)."""
        self._compact_requested = True

    def _compaction_due(self, instructions: str) -> bool:
        if self._compact_requested:
            return True
        settings = self.services.settings
        tokens = self.conversation.context_tokens(instructions)
        return compaction.needs_compaction(
            tokens, compaction.context_window(settings.context_window), settings.compact_threshold
        )

    async def _compact(self) -> None:
        manual, self._compact_requested = self._compact_requested, False
        entries = self.conversation.entries
        window = compaction.context_window(self.services.settings.context_window)
        cut = compaction.plan(entries, window, manual=manual)
        if cut is None:
            return
        await self.hooks.pre_compact(manual)
        item = ContextCompactionItem(id=new_id("item"), summary="")
        self.stream.started(item)
        summary = await compaction.summarize(
            await self.services.model_client(), self.model, entries[: cut.keep_from]
        )
        earlier = entries[: cut.keep_from]
        self.conversation.compact(compaction.summary_entry(summary, earlier, window), cut.keep_from)
        item.summary = summary
        self.stream.completed(item)
        if context := await self.hooks.after_compaction():
            self.conversation.add_entry(UserEntry(f"<context>{context}</context>"))

    async def _stream_model(self, instructions: str) -> list[ToolCallReady]:
        open_text = _OpenText(self.stream)
        calls: list[ToolCallReady] = []
        client = await self.services.model_client()
        events = client.stream(
            model=self.model,
            instructions=instructions,
            entries=self.conversation.entries_for_model(),
            tools=self._offer_tools(),
            output_format=self.structured.output_format() if self.structured else None,
        )
        try:
            async for event in events:
                if isinstance(event, TextDelta):
                    open_text.message(event.text)
                elif isinstance(event, ReasoningDelta):
                    open_text.reasoning(event.text)
                elif isinstance(event, ToolCallReady):
                    calls.append(event)
                elif isinstance(event, Finished):
                    self._record_usage(event.usage)
        except ModelError as exc:
            # What streamed before the failure is withdrawn: a retry streams it anew, and the
            # model never saw it either way.
            open_text.discard(f"The model call failed and is retried or ends the turn: {exc}")
            raise
        except BaseException:
            open_text.close()  # an interrupt keeps what the user saw
            raise
        text = self._answer = open_text.close()
        if text:
            self.conversation.add_entry(AssistantEntry(text))
        for call in calls:
            self.conversation.add_entry(ToolCallEntry(call.call_id, call.name, call.arguments))
        return calls

    def _instructions(self) -> str:
        instructions = build_instructions(
            cwd=self.conversation.cwd,
            roots=self.conversation.roots,
            mode=self.gate.mode,
            launcher=self.gate.launcher,
            home=self.services.settings.home,
        )
        extra = self.structured.instructions() if self.structured else None
        return f"{instructions}\n\n{extra}" if extra else instructions

    def _offer_tools(self) -> list[ToolSpec]:
        """The tools for this model call: ours and those of the MCP servers ready now."""
        offered, self._callable = self.mcp.tools(self.services.tools)
        return offered

    async def _run_tool(self, call: ToolCallReady) -> None:
        tool = self._callable.get(call.name)
        items_before = len(self.turn.items)
        args: dict[str, Any] | None = None
        cwd = self.conversation.cwd
        try:
            if tool is None:
                raise ToolFailed(
                    f"There is no tool named {call.name!r}. Available tools: "
                    f"{available_tools(self._callable)}."
                )
            args = parse_arguments(call.arguments, tool.spec)
            verdict = await self.hooks.pre_tool_use(call.name, args, call.call_id, cwd)
            if verdict.blocked is not None:
                self._blocked_by_hook(call, verdict.blocked)
                args = None  # not run, so no PostToolUse either
                raise ToolFailed(f"A PreToolUse hook blocked this call: {verdict.blocked}")
            if verdict.updated_input is not None:  # as if the model had sent it: checked, gated
                args = parse_arguments(json.dumps(verdict.updated_input), tool.spec)
            ctx = ToolContext(
                self.conversation,
                self.stream,
                self.gate,
                self.files,
                self.turn_files,
                self.services.settings,
                self.executor,
                team=self._team(),
            )
            self.gate.hook_permission = verdict.permission
            try:
                output = await tool.run(args, ctx, call.call_id)
            finally:
                self.gate.hook_permission = None
        except ToolFailed as exc:
            output = f"Error: {exc}"
            if len(self.turn.items) == items_before:  # the tool never got to show an item
                self.stream.add(
                    ToolCallItem(
                        id=new_id("item"),
                        tool=call.name,
                        arguments=call.arguments,
                        status="failed",
                        output=str(exc),
                    )
                )
            if args is not None:
                note = await self.hooks.post_tool_failure(
                    call.name, args, call.call_id, cwd, str(exc)
                )
                output = f"{output}\n\n{note}" if note else output
        else:
            note = await self.hooks.post_tool_use(call.name, args, call.call_id, cwd, output)
            output = f"{output}\n\n{note}" if note else output
        cap = MCP_OUTPUT_CAP if is_mcp_tool(call.name) else None
        self.conversation.add_entry(
            ToolResultEntry(call.call_id, cap_for_model(output, cap or MODEL_OUTPUT_CAP))
        )

    def _team(self) -> TeamPort | None:
        if self.team is None and self.services.subagents is not None:
            self.team = self.services.subagents(self)
        return self.team

    def _blocked_by_hook(self, call: ToolCallReady, reason: str) -> None:
        """The call as the user sees it: declined, the hook's reason as its one-line summary
        (the panel shows it without opening the card) and in full as its output."""
        first_line = reason.strip().splitlines()[0] if reason.strip() else "no reason given"
        self.stream.add(
            ToolCallItem(
                id=new_id("item"),
                tool=call.name,
                arguments=call.arguments,
                status="declined",
                summary=f"{claude_name(call.name)} blocked by a hook: {first_line}",
                output=f"Blocked by a hook: {reason}",
            )
        )

    def _record_usage(self, usage: Usage | None) -> None:
        if usage is None:
            return
        u = self._usage
        u.input_tokens += usage.input_tokens
        u.cached_input_tokens += usage.cached_input_tokens
        u.output_tokens += usage.output_tokens
        u.total_tokens += usage.total_tokens
        u.reasoning_output_tokens += usage.reasoning_output_tokens
        self.turn.usage = u
        usage.context_window = compaction.context_window(self.services.settings.context_window)
        self.conversation.observe_usage(usage)
        self.stream.usage(usage)

    def _fail(self, message: str, code: str) -> None:
        self.turn.status = "failed"
        self.turn.error = ErrorInfo(message=message, code=code)
        self.stream.add(ErrorItem(id=new_id("item"), message=message))

    def _finish(self) -> None:
        self.turn.completed_at = now_ms()
        for item in list(self.turn.items):
            if getattr(item, "status", None) in ("inProgress", "pending"):
                item.status = "failed"  # type: ignore[union-attr]
                self.stream.completed(item)
        self.watcher.turn_finished()
        self._on_finish(self)
        self.stream.turn_completed()


class _OpenText:
    """The agent message or reasoning item being streamed; deltas go out as they arrive."""

    def __init__(self, stream: TurnStream) -> None:
        self._stream = stream
        self._kind: str | None = None
        self._id = ""
        self._parts: list[str] = []
        self._message_text: list[str] = []
        self._started: list[str] = []

    def message(self, delta: str) -> None:
        self._switch("message")
        self._parts.append(delta)
        self._stream.agent_delta(self._id, delta)

    def reasoning(self, delta: str) -> None:
        self._switch("reasoning")
        self._parts.append(delta)
        self._stream.reasoning_delta(self._id, delta)

    def _switch(self, kind: str) -> None:
        if self._kind == kind:
            return
        self._complete()
        self._kind, self._id, self._parts = kind, new_id("item"), []
        item = AgentMessageItem(self._id, "") if kind == "message" else ReasoningItem(self._id, "")
        self._stream.started(item)
        self._started.append(self._id)

    def _complete(self) -> None:
        if self._kind is None:
            return
        text = "".join(self._parts)
        if self._kind == "message":
            self._message_text.append(text)
            self._stream.completed(AgentMessageItem(self._id, text))
        else:
            self._stream.completed(ReasoningItem(self._id, text))
        self._kind = None

    def close(self) -> str:
        """Complete the open item; return all message text of this model call."""
        self._complete()
        return "".join(self._message_text)

    def discard(self, reason: str) -> None:
        """Withdraw every item this model call streamed."""
        for item_id in self._started:
            self._stream.discard(item_id, reason)
        self._kind = None
