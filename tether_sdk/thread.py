"""A conversation with the agent: turns streamed as typed events, or run to their result.

`run_streamed` yields the protocol's notification structs (`protocol.events`, `protocol.turn`)
of one turn, `turn/started` first and `turn/completed` last; `run` drains them into a
`TurnResult`. With `output_schema` (a JSON Schema) the turn asks the model for a final message
that is JSON of it (`turn/start {outputSchema}`: the endpoint's structured output, or the prompt
where it has none), and `TurnResult.structured_output` is that JSON.

A turn's items are those `item/completed` delivered, minus any the server
discarded (`item/discarded`: a failed model call that was retried).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec

from protocol.base import Notification, Usage
from protocol.events import ItemCompletedNotification, ItemDiscardedNotification
from protocol.findings import ReviewTarget
from protocol.item import AgentMessageItem, ImageInput, Item, ReviewItem, TextInput, UserInput
from protocol.thread import Thread as ThreadInfo
from protocol.turn import (
    Turn,
    TurnCompletedNotification,
    TurnDiffUpdatedNotification,
    TurnRevertResult,
    TurnStartedNotification,
    TurnStatus,
)
from server.output_schema import answer_problem

if TYPE_CHECKING:
    from tether_sdk.client import Tether


class ServerGone(Exception):
    """The backend process exited while a turn was streaming."""


@dataclass
class TurnResult:
    """What a finished turn left: its final status, items, last message, usage and diff."""

    turn_id: str
    status: TurnStatus
    items: list[Item] = field(default_factory=list[Item])
    final_response: str = ""
    usage: Usage | None = None
    diff: str = ""
    error: str | None = None
    structured_output: Any = None
    """With `output_schema`: the final message's JSON value when it matches the schema, else
    None (then `schema_problem` says why)."""
    schema_problem: str | None = None
    review: ReviewItem | None = None
    """A review's result (`Thread.review`)."""


class Thread:
    """One thread of a `Tether`. Only one turn runs at a time (the server answers -32002)."""

    def __init__(self, tether: Tether, info: ThreadInfo, turns: Sequence[Turn] = ()) -> None:
        self._tether = tether
        self.info = info
        self.turns = list(turns)
        """The turns the thread had when it was resumed."""
        self.turn_id: str | None = None
        """The running (or last) turn's id."""
        self._queue: asyncio.Queue[Notification | ServerGone] | None = None
        self._callback_error: BaseException | None = None

    @property
    def id(self) -> str:
        return self.info.id

    def deliver(self, event: Notification) -> None:
        """Called by `Tether` for each notification of this thread."""
        if self._queue is not None:
            self._queue.put_nowait(event)

    def server_gone(self) -> None:
        if self._queue is not None:
            self._queue.put_nowait(ServerGone("the Tether server exited during the turn"))

    def callback_failed(self, error: BaseException) -> None:
        self._callback_error = error

    async def run_streamed(
        self,
        prompt: str | Sequence[UserInput],
        *,
        images: Sequence[str | Path] = (),
        model: str | None = None,
        output_schema: dict[str, Any] | None = None,
    ) -> AsyncIterator[Notification]:
        """Start a turn and yield its events until `turn/completed` (included). `images`:
        image files (PNG, JPEG, GIF, WebP) sent with the prompt (`ImageInput`s in `prompt` may
        also be data URLs). Raises `TetherError` when the server refuses the turn (a bad image
        included), `ServerGone` when it dies, and re-raises an approval callback's exception
        once the turn (cancelled by it) has ended."""
        inputs: list[UserInput] = (
            [TextInput(text=prompt)] if isinstance(prompt, str) else list(prompt)
        )
        inputs += [ImageInput(path=str(Path(image).resolve())) for image in images]
        params: dict[str, Any] = {
            "threadId": self.id,
            "input": msgspec.to_builtins(inputs),
        }
        if model:
            params["model"] = model
        if output_schema is not None:
            params["outputSchema"] = output_schema
        async for event in self._stream_turn("turn/start", params):
            yield event

    async def review_streamed(self, target: ReviewTarget) -> AsyncIterator[Notification]:
        """Review a change on this thread (`review/start`, inline): a read-only turn whose
        last item is the `review` item (`protocol.item.ReviewItem`)."""
        params = {"threadId": self.id, "target": msgspec.to_builtins(target)}
        async for event in self._stream_turn("review/start", params):
            yield event

    async def review(self, target: ReviewTarget) -> TurnResult:
        """Run a review to its end; `TurnResult.review` holds its findings."""
        return await self._drain(self.review_streamed(target), None)

    async def _stream_turn(
        self, method: str, params: dict[str, Any]
    ) -> AsyncIterator[Notification]:
        self._queue = queue = asyncio.Queue[Notification | ServerGone]()
        self._callback_error = None
        try:
            started = await self._tether.request(method, params)
            self.turn_id = started["turn"]["id"]
            while True:
                event = await queue.get()
                if isinstance(event, ServerGone):
                    raise event
                if _turn_of(event) not in (None, self.turn_id):
                    continue  # another turn of this thread (say, a proposed edit's)
                yield event
                if isinstance(event, TurnCompletedNotification) and event.turn.id == self.turn_id:
                    break
        finally:
            self._queue = None
        if self._callback_error is not None:
            raise self._callback_error

    async def run(
        self,
        prompt: str | Sequence[UserInput],
        *,
        images: Sequence[str | Path] = (),
        model: str | None = None,
        output_schema: dict[str, Any] | None = None,
    ) -> TurnResult:
        """Run a turn to its end and return what it left."""
        events = self.run_streamed(prompt, images=images, model=model, output_schema=output_schema)
        return await self._drain(events, output_schema)

    async def _drain(
        self, events: AsyncIterator[Notification], output_schema: dict[str, Any] | None
    ) -> TurnResult:
        items: dict[str, Item] = {}
        diff, final = "", None
        async for event in events:
            if isinstance(event, ItemCompletedNotification):
                items[event.item.id] = event.item
            elif isinstance(event, ItemDiscardedNotification):
                items.pop(event.item_id, None)
            elif isinstance(event, TurnDiffUpdatedNotification):
                diff = event.diff
            elif isinstance(event, TurnCompletedNotification):
                final = event.turn
        assert final is not None
        messages = [i.text for i in items.values() if isinstance(i, AgentMessageItem)]
        structured, problem = (
            answer_problem(messages[-1] if messages else "", output_schema)
            if output_schema is not None and final.status == "completed"
            else (None, None)
        )
        reviews = [i for i in items.values() if isinstance(i, ReviewItem)]
        return TurnResult(
            review=reviews[-1] if reviews else None,
            structured_output=structured,
            schema_problem=problem,
            turn_id=final.id,
            status=final.status,
            items=list(items.values()),
            final_response=messages[-1] if messages else "",
            usage=final.usage,
            diff=diff,
            error=final.error.message if final.error else None,
        )

    async def interrupt(self) -> None:
        """Stop the running turn: it ends `interrupted` and its commands are killed."""
        if self.turn_id is not None:
            await self._tether.request(
                "turn/interrupt", {"threadId": self.id, "turnId": self.turn_id}
            )

    async def steer(self, text: str) -> None:
        """Add input to the running turn; the model sees it at its next call."""
        if self.turn_id is not None:
            await self._tether.request(
                "turn/steer",
                {
                    "threadId": self.id,
                    "turnId": self.turn_id,
                    "input": [{"type": "text", "text": text}],
                },
            )

    async def revert(self, turn_id: str, *, force: bool = False) -> TurnRevertResult:
        """Undo every file change of a turn; files changed since are left alone (`conflicts`)
        unless `force`."""
        raw = await self._tether.request(
            "turn/revert", {"threadId": self.id, "turnId": turn_id, "force": force}
        )
        return msgspec.convert(raw, TurnRevertResult)


def _turn_of(event: Notification) -> str | None:
    """The turn an event belongs to; None for thread-wide ones (a mode change, token usage)."""
    if isinstance(event, TurnStartedNotification | TurnCompletedNotification):
        return event.turn.id
    turn_id = getattr(event, "turn_id", None)
    return turn_id if isinstance(turn_id, str) else None
