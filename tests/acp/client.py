"""A recording ACP client for tests: the `agent-client-protocol` package's client side
(`spawn_agent_process`) against the real `tether acp` process and the scripted model.

Every message that crosses the wire is kept raw and checked against the ACP schema models
(`validate_transcript`); session updates are kept as the package parsed them.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from acp import PROTOCOL_VERSION, RequestError, spawn_agent_process
from acp import schema as s
from acp.client.connection import ClientSideConnection
from acp.connection import StreamDirection, StreamEvent

ROOT = Path(__file__).resolve().parents[2]
Chooser = Callable[[s.RequestPermissionRequest], str | None]
"""A permission request -> the option id to pick (None: cancelled)."""


def pick(option_id: str) -> Chooser:
    return lambda _request: option_id


@dataclass
class Recorder:
    chooser: Chooser = field(default=lambda _request: "reject_once")
    updates: list[tuple[str, Any]] = field(default_factory=list[tuple[str, Any]])
    permissions: list[s.RequestPermissionRequest] = field(
        default_factory=list[s.RequestPermissionRequest]
    )
    wire: list[tuple[str | None, dict[str, Any]]] = field(
        default_factory=list[tuple[str | None, dict[str, Any]]]
    )
    reads: list[str] = field(default_factory=list[str])
    buffers: dict[str, str] = field(default_factory=dict[str, str])
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    # the Client protocol

    async def session_update(self, session_id: str, update: Any, **_: Any) -> None:
        self.updates.append((session_id, update))
        self.changed.set()

    async def request_permission(
        self,
        session_id: str,
        tool_call: s.ToolCallUpdate,
        options: list[s.PermissionOption],
        **_: Any,
    ) -> s.RequestPermissionResponse:
        request = s.RequestPermissionRequest(
            session_id=session_id, tool_call=tool_call, options=options
        )
        self.permissions.append(request)
        self.changed.set()
        chosen = self.chooser(request)
        if chosen is None:
            return s.RequestPermissionResponse(outcome=s.DeniedOutcome(outcome="cancelled"))
        return s.RequestPermissionResponse(
            outcome=s.AllowedOutcome(outcome="selected", option_id=chosen)
        )

    async def read_text_file(self, session_id: str, path: str, **_: Any) -> s.ReadTextFileResponse:
        self.reads.append(path)
        if path in self.buffers:
            return s.ReadTextFileResponse(content=self.buffers[path])
        return s.ReadTextFileResponse(content=Path(path).read_text())

    async def write_text_file(self, *_: Any, **__: Any) -> None:
        raise RequestError(-32601, "the test client never writes: Tether writes server-side")

    async def create_terminal(self, *_: Any, **__: Any) -> Any:
        raise RequestError(-32601, "the test client has no terminal: Tether must not ask")

    def on_connect(self, conn: Any) -> None:
        pass

    # observation

    def observe(self, event: StreamEvent) -> None:
        direction = "in" if event.direction == StreamDirection.INCOMING else "out"
        self.wire.append((direction, event.message))

    def of(self, session_id: str, kind: str) -> list[Any]:
        return [u for sid, u in self.updates if sid == session_id and u.session_update == kind]

    def text(self, session_id: str, kind: str = "agent_message_chunk") -> str:
        return "".join(u.content.text for u in self.of(session_id, kind))

    def tool_updates(self, session_id: str, tool_call_id: str) -> list[Any]:
        return [
            u
            for sid, u in self.updates
            if sid == session_id
            and u.session_update in ("tool_call", "tool_call_update")
            and u.tool_call_id == tool_call_id
        ]

    async def wait_until(self, check: Callable[[], bool], timeout: float = 20.0) -> None:
        async def loop() -> None:
            while not check():
                self.changed.clear()
                await self.changed.wait()

        await asyncio.wait_for(loop(), timeout)


def environment(model_env: dict[str, str], home: Path) -> dict[str, str]:
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("OPENAI_", "TETHER_"))
        or k in ("TETHER_LOG_LEVEL", "TETHER_SANDBOX_LAUNCHER")
    }
    # No PYTHONPATH: the agent's commands inherit the environment (`python -m` from ROOT finds
    # the code, as the matrix cells' .pth does).
    return {**base, "TETHER_HOME": str(home), **model_env}


@asynccontextmanager
async def tether_acp(
    recorder: Recorder, env: dict[str, str], capabilities: s.ClientCapabilities | None = None
) -> AsyncIterator[ClientSideConnection]:
    """`tether acp` started and initialized, as the package's client side sees it. When the
    test's block ends, every message that crossed the wire is checked against the ACP schema
    models (`validate_transcript`), whatever the test asserted itself."""
    async with spawn_agent_process(
        lambda _agent: recorder,
        sys.executable,
        "-m",
        "server.cli",
        "acp",
        env=env,
        cwd=ROOT,
        observers=[recorder.observe],
        use_unstable_protocol=True,
    ) as (conn, _process):
        await asyncio.wait_for(
            conn.initialize(
                protocol_version=PROTOCOL_VERSION,
                client_capabilities=capabilities or s.ClientCapabilities(),
            ),
            60,
        )
        yield conn
    assert validate_transcript(recorder.wire) > 0


AGENT_REQUESTS: dict[str, tuple[type[Any], type[Any] | None]] = {
    "initialize": (s.InitializeRequest, s.InitializeResponse),
    "authenticate": (s.AuthenticateRequest, s.AuthenticateResponse),
    "session/new": (s.NewSessionRequest, s.NewSessionResponse),
    "session/load": (s.LoadSessionRequest, s.LoadSessionResponse),
    "session/resume": (s.ResumeSessionRequest, s.ResumeSessionResponse),
    "session/list": (s.ListSessionsRequest, s.ListSessionsResponse),
    "session/close": (s.CloseSessionRequest, s.CloseSessionResponse),
    "session/prompt": (s.PromptRequest, s.PromptResponse),
    "session/set_mode": (s.SetSessionModeRequest, s.SetSessionModeResponse),
    "session/set_config_option": (
        s.SetSessionConfigOptionSelectRequest,
        s.SetSessionConfigOptionResponse,
    ),
    "session/cancel": (s.CancelNotification, None),
    "session/update": (s.SessionNotification, None),
    "session/request_permission": (s.RequestPermissionRequest, s.RequestPermissionResponse),
    "fs/read_text_file": (s.ReadTextFileRequest, s.ReadTextFileResponse),
}


def validate_transcript(wire: list[tuple[str | None, dict[str, Any]]]) -> int:
    """Check every message against the ACP schema models; returns how many were checked. A
    method outside the table fails the test. The direction ("in" to the client, "out" from
    it) pairs a response with its request; None when unknown (a transcript that has none),
    then ids are paired as they come."""
    methods: dict[Any, str] = {}
    checked = 0
    for direction, message in wire:
        assert message.get("jsonrpc") == "2.0", message
        if "method" in message:
            method = message["method"]
            if "id" in message:
                methods[message["id"], direction] = method
            if method.startswith("_"):  # an extension: not in the schema
                continue
            assert method in AGENT_REQUESTS, f"unexpected method {method}"
            params_type, _result = AGENT_REQUESTS[method]
            params_type.model_validate(message.get("params") or {})
        else:
            asked = {"in": "out", "out": "in", None: None}[direction]
            method = methods.pop((message["id"], asked), None)
            assert method is not None, f"a response to no request: {message}"
            if method.startswith("_") or "error" in message:
                continue
            _params, result_type = AGENT_REQUESTS[method]
            assert result_type is not None
            result_type.model_validate(message["result"] or {})
        checked += 1
    assert not methods, f"requests never answered: {methods}"
    return checked
