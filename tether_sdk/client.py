"""The connection to one Tether backend process: spawn, initialize, route, answer approvals.

`Tether` owns the process and the JSON-RPC connection (`server.exec_client.Connection`, the same
client `tether exec` uses). Notifications are decoded into the protocol's typed structs
(`protocol.methods.NOTIFICATIONS`) and handed to the `Thread` they belong to; requests from the
server (`protocol.methods.SERVER_REQUESTS`) go to the caller's callbacks, each in a task of its
own so a slow callback does not hold back the stream, and `hook/callback` to the hook callables
(`tether_sdk.hooks`).

With no callback, a request gets `DEFAULT_ANSWERS`' answer, and a warning says so: approvals
(commands, file changes, reads, MCP tool calls) are declined, so the turn goes on and the model
is told; the trust of a project's hooks and an MCP server's question are cancelled (nobody was
asked: the hooks stay off for this process and the question comes again next time, where a
decline would be remembered until the hook file changes). A callback that raises cancels the
request, which stops the turn, and the exception is raised again once the turn has ended.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import os
import signal
import sys
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import msgspec

from protocol.approval import (
    CommandApprovalParams,
    CommandApprovalResult,
    FileChangeApprovalParams,
    FileChangeApprovalResult,
    FileReadApprovalParams,
    FileReadApprovalResult,
)
from protocol.base import Mode, WireApi
from protocol.errors import ErrorCode
from protocol.hooks import HookCallbackParams, HookTrustParams, HookTrustResult
from protocol.mcp import (
    McpElicitationParams,
    McpElicitationResult,
    McpToolCallApprovalParams,
    McpToolCallApprovalResult,
)
from protocol.methods import NOTIFICATIONS, SERVER_REQUESTS
from protocol.thread import ThreadResult, ThreadWithTurnsResult
from server.exec_client import Connection, RpcFailure
from tether_sdk.hooks import HookRegistry, Hooks
from tether_sdk.thread import Thread

log = logging.getLogger("tether_sdk")

CommandApprovalCallback = Callable[
    [CommandApprovalParams], CommandApprovalResult | Awaitable[CommandApprovalResult]
]
FileChangeCallback = Callable[
    [FileChangeApprovalParams], FileChangeApprovalResult | Awaitable[FileChangeApprovalResult]
]
FileReadCallback = Callable[
    [FileReadApprovalParams], FileReadApprovalResult | Awaitable[FileReadApprovalResult]
]
McpToolCallCallback = Callable[
    [McpToolCallApprovalParams],
    McpToolCallApprovalResult | Awaitable[McpToolCallApprovalResult],
]
HookTrustCallback = Callable[[HookTrustParams], HookTrustResult | Awaitable[HookTrustResult]]
ElicitationCallback = Callable[
    [McpElicitationParams], McpElicitationResult | Awaitable[McpElicitationResult]
]

DEFAULT_ANSWERS: dict[str, dict[str, str]] = {
    HookTrustParams.METHOD: {"decision": "cancel"},
    McpElicitationParams.METHOD: {"action": "cancel"},
}
"""The answer to a server request no callback was given for, where it is not a decline."""
DECLINE = {"decision": "decline"}
CANCEL = {"decision": "cancel"}


class TetherError(Exception):
    """A request the server refused (`code` is the JSON-RPC error code, PROTOCOL.md §7), or the
    server process that is gone (`code` None)."""

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


class Tether:
    """One backend process. Use as `async with Tether(cwd=...) as t:`; `t.start_thread()` and
    `t.resume_thread(id)` give `Thread`s. `command` replaces `python -m server --stdio`; `env`
    is added to this process's environment for it (say `OPENAI_BASE_URL`, `TETHER_HOME`).
    `hooks`: Python callables run as hooks (`tether_sdk.hooks`), besides the user's hook
    files."""

    def __init__(
        self,
        cwd: str | Path = ".",
        *,
        mode: Mode | None = None,
        model: str | None = None,
        base_url: str | None = None,
        wire_api: WireApi | None = None,
        home: str | Path | None = None,
        roots: Sequence[str | Path] = (),
        command: Sequence[str] | None = None,
        env: Mapping[str, str] | None = None,
        on_command_approval: CommandApprovalCallback | None = None,
        on_file_change: FileChangeCallback | None = None,
        on_file_read: FileReadCallback | None = None,
        on_mcp_tool_call: McpToolCallCallback | None = None,
        on_hook_trust: HookTrustCallback | None = None,
        on_elicitation: ElicitationCallback | None = None,
        hooks: Hooks | None = None,
    ) -> None:
        self.cwd = Path(cwd).resolve()
        self.mode, self.model, self.roots = mode, model, [str(Path(r).resolve()) for r in roots]
        options = {"model": model, "baseUrl": base_url, "wireApi": wire_api, "defaultMode": mode}
        if home is not None:
            options["home"] = str(home)
        self._options = {k: v for k, v in options.items() if v is not None}
        self._command = list(command or (sys.executable, "-m", "server", "--stdio"))
        self._env = {**os.environ, **(env or {})}
        self._callbacks: dict[str, Callable[[Any], Any] | None] = {
            CommandApprovalParams.METHOD: on_command_approval,
            FileChangeApprovalParams.METHOD: on_file_change,
            FileReadApprovalParams.METHOD: on_file_read,
            McpToolCallApprovalParams.METHOD: on_mcp_tool_call,
            HookTrustParams.METHOD: on_hook_trust,
            McpElicitationParams.METHOD: on_elicitation,
        }
        self.hooks = HookRegistry(hooks)
        self._threads: dict[str, Thread] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self.process: asyncio.subprocess.Process | None = None
        self._conn: Connection | None = None

    async def __aenter__(self) -> Tether:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def start(self) -> None:
        """Spawn the backend and run the `initialize` handshake."""
        self.process = await asyncio.create_subprocess_exec(
            *self._command,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            env=self._env,
            limit=64 * 1024 * 1024,
        )
        self._conn = Connection(self.process, self._on_message)
        self._conn.reader.add_done_callback(lambda _: self._server_gone())
        capabilities: dict[str, Any] = {}
        if self.hooks.declared:
            capabilities["experimental"] = {"tether": {"hooks": self.hooks.declared}}
        await self.request(
            "initialize",
            {
                "processId": os.getpid(),
                "capabilities": capabilities,
                "initializationOptions": self._options,
            },
        )
        self._conn.notify("initialized", {})

    async def close(self) -> None:
        """Shut the backend down (`shutdown`, `exit`), killing it if it does not go in 5 s."""
        proc, conn = self.process, self._conn
        if proc is None or conn is None:
            return
        if proc.returncode is None and not conn.reader.done():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.request("shutdown", None), 5)
                conn.notify("exit", None)
        with contextlib.suppress(ProcessLookupError, OSError):
            if proc.stdin is not None:
                proc.stdin.close()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(proc.wait(), 5)
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        for task in list(self._tasks):
            task.cancel()

    def kill(self) -> None:
        """Kill the backend process at once (SIGKILL), as a crash would."""
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGKILL)

    async def request(self, method: str, params: Any) -> Any:
        """Send one request; its raw result, or `TetherError`."""
        if self._conn is None:
            raise TetherError("Tether is not started: use `async with Tether(...)`")
        if self._conn.reader.done():
            raise TetherError("the Tether server exited")
        try:
            return await self._conn.request(method, params)
        except RpcFailure as error:
            raise TetherError(str(error), error.code) from None

    async def start_thread(
        self, cwd: str | Path | None = None, *, mode: Mode | None = None
    ) -> Thread:
        """A new thread in `cwd` (default: this Tether's cwd)."""
        params: dict[str, Any] = {"cwd": str(Path(cwd).resolve() if cwd else self.cwd)}
        if self.roots:
            params["roots"] = self.roots
        if mode or self.mode:
            params["mode"] = mode or self.mode
        if self.model:
            params["model"] = self.model
        result = msgspec.convert(await self.request("thread/start", params), ThreadResult)
        return self._track(Thread(self, result.thread))

    async def resume_thread(self, thread_id: str) -> Thread:
        """A thread saved earlier, by this process or one before it, live again."""
        raw = await self.request("thread/resume", {"threadId": thread_id})
        result = msgspec.convert(raw, ThreadWithTurnsResult)
        return self._track(Thread(self, result.thread, result.turns))

    def _track(self, thread: Thread) -> Thread:
        self._threads[thread.id] = thread
        return thread

    async def _on_message(self, message: dict[str, Any]) -> None:
        method: str = message.get("method", "")
        params: dict[str, Any] = message.get("params") or {}
        if "id" in message:
            task = asyncio.create_task(self._answer(message["id"], method, params))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            return
        kind = NOTIFICATIONS.get(method)
        thread = self._threads.get(params.get("threadId", ""))
        if kind is None or thread is None:
            return
        thread.deliver(msgspec.convert(params, kind))

    async def _answer(self, msg_id: Any, method: str, params: dict[str, Any]) -> None:
        assert self._conn is not None
        known = SERVER_REQUESTS.get(method)
        if known is None:
            self._conn.respond_error(msg_id, ErrorCode.METHOD_NOT_FOUND, f"no handler: {method}")
            return
        request = msgspec.convert(params, known.params)
        if isinstance(request, HookCallbackParams):
            self._conn.respond(msg_id, await self.hooks.run(request.callback_id, request.input))
            return
        callback = self._callbacks.get(method)
        # A sub-agent's request names its own thread, which this client never opened: a failing
        # callback's error is raised by the parent thread's run (the child's turn is cancelled).
        thread = self._threads.get(params.get("threadId", "")) or self._threads.get(
            params.get("parentThreadId", "")
        )
        if callback is None:
            default = DEFAULT_ANSWERS.get(method, DECLINE)
            verb = "declined" if default is DECLINE else "cancelled"
            log.warning("%s %s: no callback was given for it", verb, method)
            self._conn.respond(msg_id, default)
            return
        try:
            answer = callback(request)
            if inspect.isawaitable(answer):
                answer = await answer
            result = msgspec.to_builtins(
                msgspec.convert(answer, known.result, from_attributes=True)
            )
        except Exception as error:
            log.exception("the %s callback raised; the turn is cancelled", method)
            if thread is not None:
                thread.callback_failed(error)
            result = {"action": "cancel"} if method == McpElicitationParams.METHOD else CANCEL
        self._conn.respond(msg_id, result)

    def _server_gone(self) -> None:
        for thread in self._threads.values():
            thread.server_gone()
