"""One MCP server of one thread: started in the background, restarted when it dies, called.

`Connection.start()` returns at once; a task of its own starts the server (stdio or HTTP),
runs the SDK's `initialize` and `tools/list` within `startup_timeout_sec`, and then watches
it. A server that fails to start or dies is reported (`on_change`) and started again after
a backoff (1 s doubling to 60 s); a call under way when it dies fails with that reason. A call
that hangs ends at `tool_timeout_sec`; the server keeps running for the next one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import mcp_types as types
from mcp.client.session import ClientRequestContext, ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from protocol.base import LauncherKind
from protocol.mcp import McpServerStatus
from sandbox.policy import Policy
from server.mcp.config import ServerDef
from server.mcp.errors import StartFailed, ToolCallFailed
from server.mcp.transport import StdioProcess, http_client, message_streams
from server.mcp.transport import stdio_process as open_stdio

log = logging.getLogger(__name__)

BACKOFF_START_S = 1.0
BACKOFF_MAX_S = 60.0
CLIENT_INFO = types.Implementation(name="tether", version="1")

Elicit = Callable[[ServerDef, types.ElicitRequestParams], Awaitable[types.ElicitResult]]


@dataclass(frozen=True)
class Placement:
    """Where a thread's stdio servers run: its sandbox policy (None: unsandboxed) and launcher."""

    policy: Callable[[bool], Policy]
    """network -> the workspace-write policy of the thread's roots."""
    launcher: LauncherKind
    cwd: Path
    environ: Mapping[str, str]


class Connection:
    def __init__(
        self,
        defn: ServerDef,
        placement: Placement,
        on_change: Callable[[Connection], None],
        elicit: Elicit,
    ) -> None:
        self.defn = defn
        self._placement = placement
        self._on_change = on_change
        self._elicit = elicit
        self.status: McpServerStatus = "starting"
        self.error: str | None = None
        self.tools: list[types.Tool] = []
        self.restarts = 0
        self.launcher: LauncherKind = "none"
        self._session: ClientSession | None = None
        self._settled = asyncio.Event()
        """Set once an attempt to start ended, ready or failed; cleared when one begins."""
        self._lost = asyncio.Event()
        self._relist = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    # lifecycle

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(
            self._run(), name=f"mcp {self.defn.name}"
        )

    async def stop(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(asyncio.shield(self._task), 5.0)
        self._task = None

    def _set(self, status: McpServerStatus, error: str | None = None) -> None:
        self.status, self.error = status, error
        if status in ("ready", "failed"):
            self._settled.set()
        else:
            self._settled.clear()
        self._on_change(self)

    async def _run(self) -> None:
        delay = BACKOFF_START_S
        while True:
            self._set("starting")
            started = time.monotonic()
            try:
                await self._serve(delay)
                self._failed("the connection ended", delay)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a server's failure must never reach the thread
                self._failed(self._why(_innermost(exc)), delay)
            if time.monotonic() - started > 2 * BACKOFF_MAX_S:
                delay = BACKOFF_START_S  # it ran a long while: start over with a short wait
            await asyncio.sleep(delay)
            delay = min(delay * 2, BACKOFF_MAX_S)
            self.restarts += 1

    def _failed(self, reason: str, delay: float) -> None:
        """Report the failure once: as soon as it is known, before the old process is gone
        (its clean-up takes a moment, which a required server's turn should not wait for)."""
        if self.status != "failed":
            self._set("failed", f"{reason}; restarting in {delay:g} s")

    def _why(self, exc: BaseException) -> str:
        if isinstance(exc, StartFailed):
            return str(exc)
        if isinstance(exc, TimeoutError):
            return f"it did not start within {self.defn.startup_timeout_s:g} s"
        return _describe(exc)

    async def _serve(self, delay: float) -> None:
        """One life of the server: start, initialize, list, then wait until it is lost."""
        self._lost.clear()
        async with AsyncExitStack() as stack:
            try:
                await self._serve_in(stack)
            except Exception as exc:
                self._failed(self._why(_innermost(exc)), delay)
                raise

    async def _serve_in(self, stack: AsyncExitStack) -> None:
        # The contexts are entered outside the deadline's scope: they close after it.
        read, write, running = await self._open(stack)
        session = await stack.enter_async_context(
            ClientSession(
                read,
                write,
                elicitation_callback=self._on_elicit,
                message_handler=self._on_message,
                client_info=CLIENT_INFO,
            )
        )
        with anyio.fail_after(self.defn.startup_timeout_s):
            try:
                await session.initialize()
                self.tools = await _list_tools(session)
            except MCPError as exc:
                raise StartFailed(self._with_stderr(_describe(exc), running)) from None
        self._session = session
        self._set("ready", self._garbage_note(running))
        try:
            await self._until_lost(session, running)
        finally:
            self._session = None
        if running is not None:
            with anyio.move_on_after(1.0):  # a closed pipe: is the process gone too, and how?
                await running.process.wait()
            code = running.process.returncode
            raise StartFailed(
                self._with_stderr(f"it exited (code {code})", running)
                if code is not None
                else self._with_stderr("its connection closed", running)
            )

    async def _open(self, stack: AsyncExitStack) -> tuple[Any, Any, StdioProcess | None]:
        p = self._placement
        if self.defn.transport == "http":
            assert self.defn.url is not None
            client = http_client(self.defn, p.environ)
            stack.push_async_callback(client.aclose)
            read, write = await stack.enter_async_context(
                streamable_http_client(self.defn.url, http_client=client)
            )
            return read, write, None
        policy = p.policy(self.defn.network) if self.defn.sandboxed else None
        running = await stack.enter_async_context(
            open_stdio(
                self.defn,
                policy=policy,
                launcher=p.launcher,
                thread_cwd=p.cwd,
                environ=p.environ,
                roots=p.policy(False).roots,
            )
        )
        self.launcher = running.launcher
        read, write = await stack.enter_async_context(message_streams(running))
        return read, write, running

    async def _until_lost(self, session: ClientSession, running: StdioProcess | None) -> None:
        while True:
            waits: list[asyncio.Future[Any]] = [
                asyncio.ensure_future(self._lost.wait()),
                asyncio.ensure_future(self._relist.wait()),
            ]
            if running is not None:
                waits.append(asyncio.ensure_future(running.process.wait()))
            try:
                await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for w in waits:
                    w.cancel()
            if self._relist.is_set() and not self._lost.is_set():
                self._relist.clear()
                with contextlib.suppress(Exception):
                    with anyio.fail_after(self.defn.startup_timeout_s):
                        self.tools = await _list_tools(session)
                    self._on_change(self)
                if running is None or running.process.returncode is None:
                    continue
            return

    def _with_stderr(self, reason: str, running: StdioProcess | None) -> str:
        if running is None:
            return reason
        extra = [*running.notes]
        if tail := running.stderr_tail():
            extra.append(f"its stderr ends: {tail[-600:]}")
        return "; ".join([reason, *extra])

    def _garbage_note(self, running: StdioProcess | None) -> str | None:
        if running is None or not running.garbage_lines:
            return None
        return f"{running.garbage_lines} line(s) on its stdout were not JSON-RPC and were ignored"

    # what the server sends us

    async def _on_message(self, message: Any) -> None:
        if isinstance(message, types.ToolListChangedNotification):
            self._relist.set()
        elif isinstance(message, Exception):
            log.info("MCP server %s: %s", self.defn.name, message)

    async def _on_elicit(
        self, context: ClientRequestContext, params: types.ElicitRequestParams
    ) -> types.ElicitResult | types.ErrorData:
        try:
            return await self._elicit(self.defn, params)
        except Exception as exc:
            return types.ErrorData(code=types.INTERNAL_ERROR, message=f"elicitation failed: {exc}")

    # calls

    async def wait_settled(self, timeout_s: float) -> None:
        """Until the current start attempt ended (ready or failed), at most `timeout_s`."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._settled.wait(), timeout_s)

    async def call(self, tool: str, arguments: dict[str, Any]) -> types.CallToolResult:
        session = self._session
        if session is None or self.status != "ready":
            raise ToolCallFailed(
                f"MCP server `{self.defn.name}` is not ready ({self.status}"
                f"{': ' + self.error if self.error else ''})"
            )
        timeout = self.defn.tool_timeout_s
        try:
            # The SDK's timeout sends the server a cancellation; ours is the hang guard.
            return await asyncio.wait_for(
                session.call_tool(tool, arguments, read_timeout_seconds=timeout),
                timeout + 5.0,
            )
        except TimeoutError:
            raise ToolCallFailed(self._timed_out(tool)) from None
        except MCPError as exc:
            if exc.error.code == types.REQUEST_TIMEOUT:
                raise ToolCallFailed(self._timed_out(tool)) from None
            if _is_connection_lost(exc):
                self._lost.set()
                raise ToolCallFailed(
                    f"MCP server `{self.defn.name}` went away during the call ({_describe(exc)}); "
                    "it is being restarted"
                ) from None
            raise ToolCallFailed(f"the server answered with an error: {_describe(exc)}") from None
        except (anyio.ClosedResourceError, anyio.BrokenResourceError, OSError) as exc:
            self._lost.set()
            raise ToolCallFailed(
                f"MCP server `{self.defn.name}` went away during the call ({_describe(exc)}); "
                "it is being restarted"
            ) from None
        except Exception as exc:  # the SDK's checks (a result off its output schema, ...)
            raise ToolCallFailed(f"the result could not be used: {_describe(exc)}") from None

    def _timed_out(self, tool: str) -> str:
        return (
            f"`{tool}` on MCP server `{self.defn.name}` did not answer within "
            f"{self.defn.tool_timeout_s:g} s (tool_timeout_sec) and was cancelled"
        )


async def _list_tools(session: ClientSession) -> list[types.Tool]:
    tools: list[types.Tool] = []
    cursor: str | None = None
    for _ in range(100):  # a paginator that never ends cannot hang the start
        result = await session.list_tools(
            params=types.PaginatedRequestParams(cursor=cursor) if cursor else None
        )
        tools.extend(result.tools)
        cursor = result.next_cursor
        if not cursor:
            break
    return tools


def _is_connection_lost(exc: MCPError) -> bool:
    return exc.error.code == types.CONNECTION_CLOSED


def _innermost(exc: BaseException) -> BaseException:
    """The first real failure inside the task groups' exception groups."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc


def _describe(exc: BaseException) -> str:
    exc = _innermost(exc)
    if isinstance(exc, MCPError):
        return exc.error.message
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
