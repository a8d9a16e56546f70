"""`SyncTether`: the async API for code without an event loop.

The `Tether` runs on an event loop in a daemon thread of its own; each call blocks until its
coroutine there is done. Approval callbacks run on that loop's thread.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from protocol.base import Notification
from protocol.findings import ReviewTarget
from protocol.item import UserInput
from protocol.turn import TurnRevertResult
from tether_sdk.client import Tether
from tether_sdk.thread import Thread, TurnResult

T = TypeVar("T")
_DONE = object()


class SyncTether:
    """`Tether` with blocking calls; takes the same arguments. Use as `with SyncTether(...)`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._loop = asyncio.new_event_loop()
        self._runner = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._runner.start()
        self.tether = Tether(*args, **kwargs)

    def blocking(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run `coro` on the wrapper's loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    def __enter__(self) -> SyncTether:
        self.blocking(self.tether.start())
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        try:
            self.blocking(self.tether.close())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._runner.join(5)

    def start_thread(self, cwd: str | None = None) -> SyncThread:
        return SyncThread(self, self.blocking(self.tether.start_thread(cwd)))

    def resume_thread(self, thread_id: str) -> SyncThread:
        return SyncThread(self, self.blocking(self.tether.resume_thread(thread_id)))


class SyncThread:
    """`Thread` with blocking calls; `run_streamed` is a plain iterator."""

    def __init__(self, owner: SyncTether, thread: Thread) -> None:
        self._owner, self.thread = owner, thread

    @property
    def id(self) -> str:
        return self.thread.id

    def run(
        self,
        prompt: str | Sequence[UserInput],
        *,
        images: Sequence[str | Path] = (),
        output_schema: dict[str, Any] | None = None,
    ) -> TurnResult:
        return self._owner.blocking(
            self.thread.run(prompt, images=images, output_schema=output_schema)
        )

    def review(self, target: ReviewTarget) -> TurnResult:
        return self._owner.blocking(self.thread.review(target))

    def run_streamed(
        self, prompt: str | Sequence[UserInput], *, images: Sequence[str | Path] = ()
    ) -> Iterator[Notification]:
        stream = self.thread.run_streamed(prompt, images=images).__aiter__()

        async def step() -> Any:
            try:
                return await stream.__anext__()
            except StopAsyncIteration:
                return _DONE

        while (event := self._owner.blocking(step())) is not _DONE:
            yield event

    def interrupt(self) -> None:
        self._owner.blocking(self.thread.interrupt())

    def steer(self, text: str) -> None:
        self._owner.blocking(self.thread.steer(text))

    def revert(self, turn_id: str, *, force: bool = False) -> TurnRevertResult:
        return self._owner.blocking(self.thread.revert(turn_id, force=force))
