"""What the team needs of the server's `Agent` (`server.agent.service`), as an interface, so the
team does not import the service that builds it."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Protocol

from server.agent.client import Notifier
from server.agent.gate import Gate
from server.agent.threads import ThreadManager
from server.agent.turn import ThreadParts, TurnRunner, TurnServices
from server.config import Settings


class Host(Protocol):
    settings: Settings
    notifier: Notifier
    threads: ThreadManager

    def parts(self, thread_id: str) -> ThreadParts: ...

    def child_parts(self, thread_id: str, parent: Gate) -> ThreadParts: ...

    def start_child(self, runner: TurnRunner) -> None: ...

    def write_lock(self, root: Path) -> asyncio.Lock: ...

    def services(self) -> TurnServices: ...

    def turn_finished(self, runner: TurnRunner) -> None: ...
