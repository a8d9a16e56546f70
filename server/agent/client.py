"""The client (the editor), as the agent sees it: typed notifications out, typed requests
answered. The server's `rpc.Connection` implements it; the unit tests fake it."""

from __future__ import annotations

from typing import Protocol, TypeVar

from protocol.base import Notification, ServerRequest

T = TypeVar("T")


class Notifier(Protocol):
    def notify(self, note: Notification) -> None: ...

    async def request(self, params: ServerRequest[T]) -> T: ...
