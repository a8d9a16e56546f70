"""Everything a turn tells the client, in order, and what it writes to the thread's log.

Order inside a turn (PROTOCOL.md §4): `turn/started`, then per item `item/started`, its deltas,
`item/completed`; last `turn/completed`. Items join the turn when they start, so `thread/read`
mid-turn shows them; the conversation (`conversation.Conversation`) records them when they
start, change and complete, and their deltas as they stream.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal, TypeVar

from protocol.base import Notification, ServerRequest, Usage
from protocol.events import (
    AgentMessageDeltaNotification,
    CommandOutputDeltaNotification,
    ItemCompletedNotification,
    ItemDiscardedNotification,
    ItemStartedNotification,
    ItemUpdatedNotification,
    ReasoningDeltaNotification,
)
from protocol.item import Item
from protocol.lsp import WARNING, ShowMessage
from protocol.thread import ThreadTokenUsageNotification
from protocol.turn import (
    Turn,
    TurnCompletedNotification,
    TurnDiffUpdatedNotification,
    TurnRetryingNotification,
    TurnStartedNotification,
)
from server.agent.client import Notifier
from server.agent.conversation import Conversation

T = TypeVar("T")


class TurnStream:
    def __init__(self, notifier: Notifier, conversation: Conversation, turn: Turn) -> None:
        self._notifier = notifier
        self._conversation = conversation
        self.turn = turn
        self._thread_id = conversation.id
        self._seq = 0
        self.on_request: Callable[[ServerRequest[object]], None] | None = None
        """Told of each approval before it is asked (the turn's Notification hooks)."""

    def _send(self, note: Notification) -> None:
        if hasattr(note, "seq"):
            self._seq += 1
            note.seq = self._seq  # type: ignore[attr-defined]
        self._notifier.notify(note)

    async def request(self, params: ServerRequest[T]) -> T:
        if self.on_request is not None:
            self.on_request(params)  # type: ignore[arg-type]
        return await self._notifier.request(params)

    def turn_started(self) -> None:
        self._conversation.begin_turn(self.turn)
        self._send(TurnStartedNotification(self._thread_id, self.turn))

    def turn_completed(self) -> None:
        self._conversation.end_turn(self.turn)
        self._send(TurnCompletedNotification(self._thread_id, self.turn))

    def started(self, item: Item) -> None:
        self._conversation.add_item(self.turn, item)
        self._send(ItemStartedNotification(self._thread_id, self.turn.id, item))

    def updated(self, item: Item) -> None:
        """A state change the log must keep (a pending approval, a hunk status)."""
        self._conversation.put_item(self.turn, item)
        self._send(ItemUpdatedNotification(self._thread_id, self.turn.id, item))

    def completed(self, item: Item) -> None:
        self._conversation.put_item(self.turn, item)
        self._send(ItemCompletedNotification(self._thread_id, self.turn.id, item))

    def discard(self, item_id: str, reason: str) -> None:
        """Withdraw an item that should never have been (its model call failed)."""
        self._conversation.discard_item(self.turn, item_id)
        self._send(ItemDiscardedNotification(self._thread_id, self.turn.id, item_id, reason))

    def add(self, item: Item) -> None:
        """An item that is complete as soon as it exists (a user message, an error)."""
        self.started(item)
        self.completed(item)

    def _log_delta(self, item_id: str, text: str) -> None:
        self._conversation.log_delta(self.turn, item_id, text)

    def agent_delta(self, item_id: str, delta: str) -> None:
        self._log_delta(item_id, delta)
        self._send(AgentMessageDeltaNotification(self._thread_id, self.turn.id, item_id, delta))

    def reasoning_delta(self, item_id: str, delta: str) -> None:
        self._log_delta(item_id, delta)
        self._send(ReasoningDeltaNotification(self._thread_id, self.turn.id, item_id, delta))

    def output_delta(self, item_id: str, stream: Literal["stdout", "stderr"], chunk: str) -> None:
        self._log_delta(item_id, chunk)
        self._send(
            CommandOutputDeltaNotification(self._thread_id, self.turn.id, item_id, stream, chunk)
        )

    def diff_updated(self, diff: str) -> None:
        self._send(TurnDiffUpdatedNotification(self._thread_id, self.turn.id, diff))

    def usage(self, usage: Usage) -> None:
        self._send(ThreadTokenUsageNotification(self._thread_id, usage))

    def warn(self, message: str) -> None:
        """Something the user should know that is not part of any item."""
        self._send(ShowMessage(WARNING, f"Tether: {message}"))

    def retrying(self, attempt: int, max_attempts: int, delay_s: float, message: str) -> None:
        self._send(
            TurnRetryingNotification(
                self._thread_id, self.turn.id, attempt, max_attempts, int(delay_s * 1000), message
            ),
        )
