"""A test client for the real `python -m server --stdio` process, over pytest-lsp.

It records every notification in arrival order, answers the server's approval requests with
a per-test policy, and offers small awaitable helpers (`request`, `wait_for`, `run_turn`).
Params stay plain dicts: tests assert on exactly what crossed the wire.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import os
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lsprotocol import converters
from lsprotocol import types as lsp
from pygls.protocol import JsonRPCNotification, JsonRPCRequestMessage, JsonRPCResponseMessage
from pytest_lsp import ClientServerConfig, LanguageClient
from pytest_lsp.protocol import LanguageClientProtocol

from protocol.methods import NOTIFICATIONS, SERVER_REQUESTS

ROOT = Path(__file__).resolve().parents[2]
Approver = Callable[[str, dict[str, Any]], Any]
"""(method, params) -> the answer, or an awaitable of it."""


def decline_all(_method: str, _params: dict[str, Any]) -> dict[str, Any]:
    return {"decision": "decline"}


@dataclass
class Tether:
    lsp: LanguageClient
    pid: int
    """The server process' id, told by its start wrapper (pygls keeps the process private)."""
    pidfd: int
    """A pidfd of that process: a signal through it never reaches a recycled pid."""
    notifications: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    approvals: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    approver: Approver = decline_all
    applied_edits: list[dict[str, Any]] = field(default_factory=list)
    cancelled_requests: list[Any] = field(default_factory=list)
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def request(self, method: str, params: dict[str, Any] | None = None) -> Any:
        return await asyncio.wait_for(
            self.lsp.protocol.send_request_async(method, params or {}), 30
        )

    def notify(self, method: str, params: Any) -> None:
        self.lsp.protocol.notify(method, params)

    async def kill(self) -> None:
        """SIGKILL the server (if it still runs) and close the client."""
        with contextlib.suppress(ProcessLookupError):
            signal.pidfd_send_signal(self.pidfd, signal.SIGKILL)
        os.close(self.pidfd)
        await asyncio.wait_for(self.lsp.stop(), 10)

    async def _record(self, method: str, params: Any) -> None:
        async with self._changed:
            self.notifications.append((method, params))
            self._changed.notify_all()

    async def wait_for(
        self,
        method: str,
        where: Callable[[dict[str, Any]], bool] = lambda p: True,
        timeout: float = 20.0,
    ) -> dict[str, Any]:
        """The first notification (already received or not) of `method` matching `where`."""

        async def find() -> dict[str, Any]:
            async with self._changed:
                seen = 0
                while True:
                    for m, p in self.notifications[seen:]:
                        if m == method and where(p):
                            return p
                    seen = len(self.notifications)
                    await self._changed.wait()

        return await asyncio.wait_for(find(), timeout)

    def of(self, method: str, turn_id: str | None = None) -> list[dict[str, Any]]:
        return [
            p
            for m, p in self.notifications
            if m == method
            and (
                turn_id is None
                or p.get("turnId") == turn_id
                or p.get("turn", {}).get("id") == turn_id
            )
        ]

    async def start_thread(self, cwd: Path, **extra: Any) -> dict[str, Any]:
        return (await self.request("thread/start", {"cwd": str(cwd), **extra}))["thread"]

    async def run_turn(self, thread_id: str, text: str, timeout: float = 30.0) -> dict[str, Any]:
        """Start a turn and return its final `turn/completed` turn."""
        turn = (
            await self.request(
                "turn/start", {"threadId": thread_id, "input": [{"type": "text", "text": text}]}
            )
        )["turn"]
        done = await self.wait_for(
            "turn/completed", lambda p: p["turn"]["id"] == turn["id"], timeout
        )
        return done["turn"]

    def items(self, turn: dict[str, Any], kind: str) -> list[dict[str, Any]]:
        return [i for i in turn["items"] if i["type"] == kind]


def make_converter() -> Any:
    """lsprotocol's converter, except that Tether's own messages keep their params as dicts
    (pygls would turn them into namedtuples): the test client asserts on what crossed the wire."""
    converter = converters.get_converter()

    def keep_params(obj: dict[str, Any], cls: type[Any]) -> Any:
        # JSON-RPC lets a request omit `params`; pygls' message type requires the field.
        fields = {k: obj[k] for k in ("id", "method", "jsonrpc") if k in obj}
        return cls(**fields, params=obj.get("params"))

    def keep_result(obj: dict[str, Any], cls: type[Any]) -> Any:
        return cls(**{k: obj[k] for k in ("id", "result", "jsonrpc") if k in obj})

    converter.register_structure_hook(JsonRPCRequestMessage, keep_params)
    converter.register_structure_hook(JsonRPCNotification, keep_params)
    converter.register_structure_hook(JsonRPCResponseMessage, keep_result)
    return converter


def make_client(tether_ref: list[Tether]) -> LanguageClient:
    converter = make_converter()

    class Recording(LanguageClientProtocol):
        """Records the ids of `$/cancelRequest` as they arrive (pygls then handles them)."""

        def handle_message(self, message: Any) -> None:
            if getattr(message, "method", None) == "$/cancelRequest":
                params = message.params
                msg_id = params["id"] if isinstance(params, dict) else params.id
                tether_ref[0].cancelled_requests.append(msg_id)
            super().handle_message(message)

    client = LanguageClient(converter_factory=lambda: converter, protocol_cls=Recording)

    for method in [*NOTIFICATIONS, "window/showMessage"]:

        async def on_notification(params: Any, method: str = method) -> None:
            await tether_ref[0]._record(method, params)

        client.feature(method)(on_notification)

    @client.feature("workspace/applyEdit")
    def on_apply_edit(params: Any) -> dict[str, Any]:
        tether_ref[0].applied_edits.append(converter.unstructure(params))
        return {"applied": True}

    for method in SERVER_REQUESTS:

        async def on_request(params: Any, method: str = method) -> dict[str, Any]:
            t = tether_ref[0]
            t.approvals.append((method, params))
            answer = t.approver(method, params)
            return await answer if inspect.isawaitable(answer) else answer

        client.feature(method)(on_request)
    return client


async def start_tether(
    env: dict[str, str],
    home: Path,
    *,
    options: dict[str, Any] | None = None,
    python: str = sys.executable,
) -> Tether:
    """Start the server process with `env` on top of a clean environment and initialize it
    (with another interpreter, `python`, e.g. a virtual environment inside the workspace)."""
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("OPENAI_", "TETHER_"))
        or k in ("TETHER_LOG_LEVEL", "TETHER_SANDBOX_LAUNCHER")  # the matrix cell's launcher
    }
    ref: list[Tether] = []
    fd, pid_file = tempfile.mkstemp(prefix="tether-test-", suffix=".pid")
    os.close(fd)
    tell_pid = ["/bin/sh", "-c", 'echo $$ >"$0" && exec "$@"', pid_file]  # exec keeps the pid
    config = ClientServerConfig(
        server_command=[*tell_pid, python, "-m", "server", "--stdio"],
        client_factory=lambda: make_client(ref),
        server_env={**base, "TETHER_HOME": str(home), **env},
    )
    client = await config.start()
    pid = _read_pid(Path(pid_file))
    tether = Tether(client, pid, os.pidfd_open(pid))
    ref.append(tether)
    params = lsp.InitializeParams(
        capabilities=lsp.ClientCapabilities(), initialization_options=options or {}
    )
    try:
        await asyncio.wait_for(client.initialize_session(params), 60)
    except BaseException:
        await stop_tether(tether)
        raise
    return tether


def _read_pid(pid_file: Path) -> int:
    """The pid the start wrapper wrote (it runs within milliseconds of the spawn)."""
    deadline = time.monotonic() + 30
    try:
        while not (text := pid_file.read_text()).endswith("\n"):
            if time.monotonic() > deadline:
                raise AssertionError(f"the server's start wrapper wrote no pid to {pid_file}")
            time.sleep(0.005)
        return int(text)
    finally:
        pid_file.unlink()


async def stop_tether(tether: Tether) -> None:
    """Shut the server down politely; kill it if it does not go within 10 s."""
    try:
        await asyncio.wait_for(tether.lsp.shutdown_session(), 10)
    except Exception:
        await tether.kill()
    else:
        os.close(tether.pidfd)
