"""The core's `Notifier` on an ACP connection: Tether notifications become `session/update`s,
approval requests become `session/request_permission`.

The core notifies synchronously; ACP sends asynchronously. Everything goes out through one
queue, in the order the core produced it, and a prompt's answer waits for the queue to pass
its `turn/completed`, so a client has every update of a turn before its `stopReason`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

from acp.interfaces import Client
from acp.schema import (
    CurrentModeUpdate,
    TerminalToolCallContent,
    ToolCallProgress,
    UsageUpdate,
)

from protocol.base import Notification, ServerRequest
from protocol.events import (
    AgentMessageDeltaNotification,
    CommandOutputDeltaNotification,
    ItemCompletedNotification,
    ItemDiscardedNotification,
    ItemStartedNotification,
    ItemUpdatedNotification,
    ReasoningDeltaNotification,
)
from protocol.hooks import HookTrustParams
from protocol.item import (
    AgentMessageItem,
    CommandExecutionItem,
    ErrorItem,
    FileChangeItem,
    Item,
    PlanItem,
    ReasoningItem,
    SubagentItem,
    ToolCallItem,
)
from protocol.lsp import ApplyWorkspaceEditParams, ApplyWorkspaceEditResult, ShowMessage
from protocol.thread import ThreadModeChangedNotification, ThreadTokenUsageNotification
from protocol.turn import Turn, TurnCompletedNotification
from server.acp import permissions, subagents, updates
from server.acp.updates import ToolContent, ToolItem

log = logging.getLogger(__name__)
T = TypeVar("T")
Send = Callable[[], Awaitable[None]]


@dataclass
class SessionView:
    """What one session's live updates need to remember between notifications."""

    session_id: str
    terminal_output: bool
    streamed: dict[str, str] = field(default_factory=dict[str, str])
    """Text sent so far of each message and reasoning item."""
    diffs: dict[str, list[ToolContent]] = field(default_factory=dict[str, list[ToolContent]])
    """Each file change's diffs, taken when it started (before it was written)."""
    plan: Any = None
    """The last plan sent (an unchanged plan is not sent again)."""
    finished: dict[str, asyncio.Future[Turn]] = field(
        default_factory=dict[str, asyncio.Future[Turn]]
    )
    """The prompt waiting for each running turn."""


class AcpNotifier:
    def __init__(self) -> None:
        self.client: Client | None = None
        self.sessions: dict[str, SessionView] = {}
        self._queue: asyncio.Queue[Send] = asyncio.Queue()
        self._pump: asyncio.Task[None] | None = None

    def attach(self, client: Client) -> None:
        self.client = client
        self._pump = asyncio.get_running_loop().create_task(self._send_in_order())

    async def _send_in_order(self) -> None:
        while True:
            send = await self._queue.get()
            try:
                await send()
            except Exception:  # a client gone mid-turn must not stop the other sessions
                log.exception("could not send an update to the ACP client")

    def update(self, session_id: str, update: Any) -> None:
        client = self.client
        assert client is not None

        async def send() -> None:
            await client.session_update(session_id, update)

        self._queue.put_nowait(send)

    async def flushed(self) -> None:
        """Wait until every update queued so far went out."""
        done = asyncio.get_running_loop().create_future()

        async def mark() -> None:
            if not done.done():
                done.set_result(None)

        self._queue.put_nowait(mark)
        await done

    # the Notifier protocol

    def notify(self, note: Notification) -> None:
        thread_id = getattr(note, "thread_id", None)
        view = self.sessions.get(thread_id) if isinstance(thread_id, str) else None
        if view is None:
            if isinstance(note, ShowMessage):
                log.warning("%s", note.message)
            return
        if isinstance(note, AgentMessageDeltaNotification):
            self._text(view, note.item_id, note.delta, updates.message_chunk)
        elif isinstance(note, ReasoningDeltaNotification):
            self._text(view, note.item_id, note.delta, updates.thought_chunk)
        elif isinstance(note, CommandOutputDeltaNotification):
            self._output(view, note)
        elif isinstance(note, ItemStartedNotification):
            self._started(view, note.item)
        elif isinstance(note, ItemUpdatedNotification | ItemCompletedNotification):
            self._changed(view, note.item, isinstance(note, ItemCompletedNotification))
        elif isinstance(note, ItemDiscardedNotification):
            view.streamed.pop(note.item_id, None)
        elif isinstance(note, ThreadTokenUsageNotification):
            used, size = note.usage.total_tokens, note.usage.context_window
            self.update(
                view.session_id,
                UsageUpdate(session_update="usage_update", used=used, size=size or used),
            )
        elif isinstance(note, ThreadModeChangedNotification):
            self.update(
                view.session_id,
                CurrentModeUpdate(session_update="current_mode_update", current_mode_id=note.mode),
            )
        elif isinstance(note, TurnCompletedNotification):
            self._turn_completed(view, note.turn)

    async def request(self, params: ServerRequest[T]) -> T:
        if isinstance(params, ApplyWorkspaceEditParams):
            # The core writes through the editor only a file whose buffer differs from the
            # disk (here: an attachment with unsaved changes). Files are written on this side
            # only, so the sandbox's rules hold: refuse, and the model is told why.
            reason = "the file has unsaved changes in the editor; save it, then ask again"
            return cast(T, ApplyWorkspaceEditResult(applied=False, failure_reason=reason))
        client = self.client
        assert client is not None
        session_id = subagents.session_of(params, set(self.sessions))
        q = permissions.question(cast(permissions.Approval, params))
        if prefix := subagents.asker_prefix(params):
            q.tool_call.title = prefix + (q.tool_call.title or "")
        hook_trust = isinstance(params, HookTrustParams)
        if hook_trust:
            self.update(session_id, permissions.hook_trust_call(params))
        await self.flushed()
        response = await client.request_permission(session_id, q.tool_call, q.options)
        answer = permissions.answer(q, response)
        if hook_trust:
            trusted = answer.decision == "accept"
            self.update(
                session_id,
                ToolCallProgress(
                    session_update="tool_call_update",
                    tool_call_id=q.tool_call.tool_call_id,
                    status="completed" if trusted else "failed",
                ),
            )
        return cast(T, answer)

    # translation

    def _text(
        self, view: SessionView, item_id: str, delta: str, chunk: Callable[[str], Any]
    ) -> None:
        view.streamed[item_id] = view.streamed.get(item_id, "") + delta
        self.update(view.session_id, chunk(delta))

    def _output(self, view: SessionView, note: CommandOutputDeltaNotification) -> None:
        if not view.terminal_output:
            return
        self.update(
            view.session_id,
            ToolCallProgress(
                session_update="tool_call_update",
                tool_call_id=note.item_id,
                field_meta={"terminal_output": {"terminal_id": note.item_id, "data": note.chunk}},
            ),
        )

    def _started(self, view: SessionView, item: Item) -> None:
        if isinstance(item, PlanItem):
            self._plan(view, item)
        elif isinstance(item, CommandExecutionItem | FileChangeItem | ToolCallItem):
            content: list[ToolContent] = []
            meta: dict[str, Any] | None = None
            if isinstance(item, FileChangeItem):
                view.diffs[item.id] = content = list(updates.diffs_from_disk(item))
            elif isinstance(item, CommandExecutionItem) and view.terminal_output:
                content = [TerminalToolCallContent(type="terminal", terminal_id=item.id)]
                meta = {"terminal_info": {"terminal_id": item.id, "cwd": item.cwd}}
            start = updates.tool_call_start(item, content)
            start.field_meta = meta
            self.update(view.session_id, start)
        elif isinstance(item, ErrorItem):
            self.update(view.session_id, updates.message_chunk(item.message))
        elif isinstance(item, SubagentItem):
            self.update(view.session_id, subagents.subagent_start(item))

    def _changed(self, view: SessionView, item: Item, completed: bool) -> None:
        if isinstance(item, PlanItem):
            self._plan(view, item)
        elif isinstance(item, AgentMessageItem | ReasoningItem):
            if completed:
                self._finish_text(view, item)
        elif isinstance(item, CommandExecutionItem | FileChangeItem | ToolCallItem):
            self.update(view.session_id, self._tool_update(view, item, completed))
        elif isinstance(item, SubagentItem):
            self.update(view.session_id, subagents.subagent_update(item))

    def _plan(self, view: SessionView, item: PlanItem) -> None:
        plan = updates.plan_update(item)
        if plan != view.plan:
            view.plan = plan
            self.update(view.session_id, plan)

    def _finish_text(self, view: SessionView, item: AgentMessageItem | ReasoningItem) -> None:
        """Send what the deltas did not (an item that completed without streaming)."""
        sent = view.streamed.pop(item.id, "")
        if item.text.startswith(sent) and len(item.text) > len(sent):
            chunk = updates.message_chunk if isinstance(item, AgentMessageItem) else None
            self.update(view.session_id, (chunk or updates.thought_chunk)(item.text[len(sent) :]))

    def _tool_update(self, view: SessionView, item: ToolItem, completed: bool) -> Any:
        content: list[ToolContent] | None = None
        meta: dict[str, Any] | None = None
        if isinstance(item, FileChangeItem):
            content = [*view.diffs.get(item.id, []), *updates.output_content(item)]
            if completed:
                view.diffs.pop(item.id, None)
        elif completed and isinstance(item, CommandExecutionItem) and view.terminal_output:
            meta = {
                "terminal_exit": {
                    "terminal_id": item.id,
                    "exit_code": item.exit_code,
                    "signal": None,
                }
            }
        elif completed:
            content = updates.output_content(item)
        return updates.tool_call_update(item, content or None, meta)

    def _turn_completed(self, view: SessionView, turn: Turn) -> None:
        waiter = view.finished.pop(turn.id, None)
        if waiter is None:
            return

        async def finish() -> None:
            if not waiter.done():
                waiter.set_result(turn)

        self._queue.put_nowait(finish)

    async def close(self) -> None:
        if self._pump is not None:
            self._pump.cancel()
