"""Driving the real server through a hazard: a server per test with its own HOME (a fake
`~/.ssh` holding a key that must never cross the wire), a turn whose tools meet the hazard,
and proof that the event loop kept answering meanwhile.

`run_hazard` scripts the model to call the tools, then holds the model's next request: the
tools have finished and the turn is still open, and `thread/list` must be answered then.
`Poller` keeps a `thread/list` request in flight (one at a time) during a long hazard and
timestamps each answer, so a test can count the answers that arrived inside a window of
the turn (a loop blocked for the window answers at most the one request already waiting).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.conftest import SandboxCell
from tests.e2e.harness import Tether, start_tether, stop_tether
from tests.model_server import ModelServer, Reply, ToolCall

KEY = "-----BEGIN OPENSSH PRIVATE KEY----- h3-secret-key-material -----END-----"


@dataclass
class HazardServer:
    tether: Tether
    model: ModelServer
    home: Path
    """The server's HOME; `~/.ssh/id_rsa` holds `KEY`."""
    state: Path
    """TETHER_HOME."""
    arrived: dict[int, float] = field(default_factory=dict[int, float])
    """id(params) of each notification -> when it arrived (monotonic)."""

    def pid(self) -> int:
        return self.tether.pid

    def peak_rss_kib(self) -> int:
        """VmHWM of the server process: its peak resident memory so far."""
        for line in Path(f"/proc/{self.pid()}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
        raise AssertionError("no VmHWM in /proc status")

    def wire_text(self) -> str:
        """Everything the server sent as notifications and everything the model was sent."""
        notes = json.dumps(self.tether.notifications)
        sent = json.dumps([r.body for r in self.model.requests], default=str)
        return notes + sent

    def when(self, method: str, where: Any = lambda p: True) -> list[float]:
        return [
            self.arrived[id(p)] for m, p in self.tether.notifications if m == method and where(p)
        ]


def make_home(base: Path) -> Path:
    home = base / "userhome"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "id_rsa").write_text(KEY + "\n")
    return home


@contextlib.asynccontextmanager
async def hazard_server(
    model: ModelServer,
    base: Path,
    cell: SandboxCell,
    *,
    home: Path | None = None,
    state: Path | None = None,
    env: dict[str, str] | None = None,
) -> AsyncIterator[HazardServer]:
    home = home or make_home(base)
    state = state or base / "tether-home"
    env = {**model.env(), "HOME": str(home), **(env or {})}
    if cell.launcher != "auto":
        env["TETHER_SANDBOX_LAUNCHER"] = cell.launcher
    tether = await start_tether(env, state)
    server = HazardServer(tether, model, home, state)
    record = tether._record

    async def timed_record(method: str, params: Any) -> None:
        server.arrived[id(params)] = time.monotonic()
        await record(method, params)

    tether._record = timed_record  # type: ignore[method-assign]
    try:
        yield server
        print(f"server peak RSS (VmHWM): {server.peak_rss_kib() / 1024:.1f} MiB")
    finally:
        await stop_tether(tether)


async def start_turn(tether: Tether, thread_id: str, text: str) -> str:
    params = {"threadId": thread_id, "input": [{"type": "text", "text": text}]}
    return (await tether.request("turn/start", params))["turn"]["id"]


async def wait_turn(tether: Tether, turn_id: str, timeout: float = 180) -> dict[str, Any]:
    done = await tether.wait_for("turn/completed", lambda p: p["turn"]["id"] == turn_id, timeout)
    return done["turn"]


async def run_hazard(
    server: HazardServer, thread_id: str, calls: list[ToolCall], timeout: float = 120
) -> tuple[dict[str, Any], dict[str, str]]:
    """One turn that makes the given tool calls; `thread/list` is answered while the turn is
    still open after them. Returns the final turn and the tool outputs the model got."""
    server.model.enqueue(Reply(tool_calls=calls), Reply(text="Done.", hold_after=1))
    turn_id = await start_turn(server.tether, thread_id, "Go.")
    held = await server.model.wait_held_async(timeout)
    listed = await asyncio.wait_for(server.tether.request("thread/list"), 30)
    assert thread_id in [t["id"] for t in listed["threads"]]
    server.model.release()
    turn = await wait_turn(server.tether, turn_id, timeout)
    return turn, held.tool_outputs()


async def normal_turn(server: HazardServer, thread_id: str) -> None:
    """A plain turn completes after the hazard: the thread still works."""
    server.model.enqueue(Reply(text="Still here."))
    turn = await server.tether.run_turn(thread_id, "Are you still there?", timeout=60)
    assert turn["status"] == "completed", turn
    assert [i["text"] for i in server.tether.items(turn, "agentMessage")] == ["Still here."]


class Poller:
    """Keeps one `thread/list` in flight until stopped; `answers` are arrival times. With
    `watch`, `appeared` is when that directory first held a file (seen between polls)."""

    def __init__(self, tether: Tether, watch: Path | None = None) -> None:
        self.tether = tether
        self.answers: list[float] = []
        self.watch = watch
        self.appeared: float | None = None
        self._stopping = False
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Poller:
        self._task = asyncio.create_task(self._poll())
        return self

    async def __aexit__(self, *_exc: object) -> None:
        # The request in flight is waited for, not cancelled: pygls' client cannot take the
        # answer to a request it cancelled.
        assert self._task is not None
        self._stopping = True
        await self._task

    async def _poll(self) -> None:
        while not self._stopping:
            await asyncio.wait_for(self.tether.request("thread/list"), 60)
            self.answers.append(time.monotonic())
            watched = self.watch
            if self.appeared is None and watched is not None and _holds_a_file(watched):
                self.appeared = time.monotonic()
            await asyncio.sleep(0.02)

    async def wait_appeared(self, timeout: float) -> None:
        """Until the watched directory holds a file (the poller goes on meanwhile)."""
        deadline = time.monotonic() + timeout
        while self.appeared is None and time.monotonic() < deadline:
            await asyncio.sleep(0.1)

    def between(self, start: float, end: float) -> int:
        """How many answers arrived in (start, end); prints the longest wait between two."""
        inside = [t for t in self.answers if start < t < end]
        gaps = [b - a for a, b in zip([start, *inside], [*inside, end], strict=True)]
        took, longest = end - start, max(gaps)
        print(f"thread/list: {len(inside)} answers in {took:.1f} s, longest gap {longest:.2f} s")
        return len(inside)


def _holds_a_file(directory: Path) -> bool:
    return directory.is_dir() and any(directory.iterdir())


def command_items(turn: dict[str, Any]) -> list[dict[str, Any]]:
    return [i for i in turn["items"] if i["type"] == "commandExecution"]


def last_diff(server: HazardServer, turn_id: str) -> str:
    diffs = server.tether.of("turn/diff/updated", turn_id)
    return diffs[-1]["diff"] if diffs else ""
