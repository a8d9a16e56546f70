"""Raw-protocol conversations with the real server, and what /proc says about its processes.

`Conversation` numbers its requests, keeps every message it reads (responses and notifications,
in arrival order) and can `sync`: send a request that always gets an answer and return what
arrived before it, which is how a test sees everything a piece of bad input produced.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.e2e.raw import RawServer

Message = dict[str, Any]
SYNC_PREFIX = "\x00sync-"


class Conversation:
    def __init__(self, server: RawServer) -> None:
        self.server = server
        self.messages: list[Message] = []
        self._ids = itertools.count(1)

    async def read(self, timeout: float = 20.0) -> Message:
        message = await self.server.receive(timeout)
        self.messages.append(message)
        return message

    async def read_until(self, done: Callable[[Message], bool], timeout: float = 20.0) -> Message:
        while not done(message := await self.read(timeout)):
            pass
        return message

    async def call(self, method: str, params: Any = None, timeout: float = 20.0) -> Message:
        """Send a request and return its response (the whole message, result or error)."""
        msg_id = f"r-{next(self._ids)}"
        self.server.send({"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params})
        return await self.read_until(lambda m: "method" not in m and m.get("id") == msg_id, timeout)

    async def result(self, method: str, params: Any = None, timeout: float = 20.0) -> Any:
        response = await self.call(method, params, timeout)
        assert "result" in response, response
        return response["result"]

    async def sync(self, awaiting: tuple[Any, ...] = (), timeout: float = 20.0) -> list[Message]:
        """Every message that arrived before the answer to a fresh `thread/list` request, and
        until the responses to the ids in `awaiting` (handlers may answer out of order)."""
        marker = f"{SYNC_PREFIX}{next(self._ids)}"
        start = len(self.messages)
        self.server.send({"jsonrpc": "2.0", "id": marker, "method": "thread/list", "params": {}})
        missing = {repr(i) for i in (marker, *awaiting)}
        while missing:
            message = await self.read(timeout)
            if "method" not in message:
                missing.discard(repr(message.get("id")))
        return [m for m in self.messages[start:] if m.get("id") != marker]

    async def initialize(self, timeout: float = 60.0) -> None:
        """`RawServer.initialize` with room for a slow start on a loaded machine."""
        await self.result("initialize", {"capabilities": {}}, timeout)
        self.server.send({"jsonrpc": "2.0", "method": "initialized", "params": {}})

    async def start_turn(self, thread_id: str, text: str) -> str:
        params = {"threadId": thread_id, "input": [{"type": "text", "text": text}]}
        return (await self.result("turn/start", params))["turn"]["id"]

    async def wait_turn(self, turn_id: str, timeout: float = 30.0) -> dict[str, Any]:
        """The final turn of `turn/completed` for `turn_id`."""
        done = await self.read_until(
            lambda m: m.get("method") == "turn/completed" and m["params"]["turn"]["id"] == turn_id,
            timeout,
        )
        return done["params"]["turn"]

    async def run_turn(self, thread_id: str, text: str, timeout: float = 30.0) -> dict[str, Any]:
        return await self.wait_turn(await self.start_turn(thread_id, text), timeout)


def turn_messages(messages: list[Message], turn_id: str) -> list[Message]:
    """The notifications of one turn, in arrival order."""
    return [
        m
        for m in messages
        if "method" in m
        and (
            m["params"].get("turnId") == turn_id
            or (m["params"].get("turn") or {}).get("id") == turn_id
        )
    ]


# Processes ----------------------------------------------------------------------------------


def _stat(pid: int) -> tuple[str, int] | None:
    """(state, parent pid) of a process, None when it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()
    return fields[0], int(fields[1])


def descendants(pid: int) -> set[int]:
    """Every live process below `pid` (through any pid namespace: /proc shows host pids)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (info := _stat(int(entry))) is not None:
            children.setdefault(info[1], []).append(int(entry))
    found: set[int] = set()
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def running(pids: set[int]) -> set[int]:
    """The pids among `pids` that still run (zombies waiting for a reaper do not count)."""
    return {p for p in pids if (info := _stat(p)) is not None and info[0] != "Z"}


def cmdline(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def processes_running(argv: list[str]) -> set[int]:
    """Live processes anywhere on the machine whose command line is exactly `argv`."""
    pids = {int(e) for e in os.listdir("/proc") if e.isdigit()}
    return {p for p in running(pids) if cmdline(p) == argv}
