"""The server process: the LSP lifecycle, the editor's open documents and Tether's methods, over
one JSON-RPC connection (`server.rpc`) on stdin/stdout.

The first turn is what start-up is measured by, so imports come as late as each piece is
needed: `initialize` is answered with msgspec, the settings and the launcher choice loaded;
the agent loads right after that answer, while the client reads it; pygls and lsprotocol when
the editor opens a document (`server.documents`); openai on the first model call.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import sys
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from protocol import PROTOCOL_VERSION
from protocol.errors import ParseError
from protocol.initialize import SandboxLauncherInfo, TetherCapabilities
from protocol.lsp import (
    WARNING,
    DidChangeConfigurationParams,
    InitializeParams,
    InitializeResult,
    ServerCapabilities,
    ServerInfo,
    ShowMessage,
    TextDocumentSyncOptions,
)
from sandbox.launchers import LauncherChoice, choose_launcher
from server import __version__
from server.config import MODES, Settings, load_settings
from server.documents import Documents
from server.framing import FrameError, read_frame
from server.hooks.config import HookCommand, client_hooks
from server.rpc import Connection, decode

if TYPE_CHECKING:
    from server.agent.service import Agent

log = logging.getLogger(__name__)

TEXT_SYNC = TextDocumentSyncOptions(open_close=True, change=2, save=False)
"""Open, incremental changes, close: what `server.documents` keeps up with."""


def tether_capabilities(settings: Settings, choice: LauncherChoice) -> TetherCapabilities:
    return TetherCapabilities(
        protocol_version=PROTOCOL_VERSION,
        modes=list(MODES),
        sandbox=choice.name,
        sandbox_launcher=SandboxLauncherInfo(
            name=choice.name,
            setting=choice.setting,
            weaker_than_bwrap=choice.weaker_than_bwrap,
            guarantees=list(choice.guarantees),
            passed_over=list(choice.passed_over),
        ),
        wire_api=settings.wire_api,
        model=settings.effective_model,
        default_mode=settings.default_mode,
    )


class Server:
    """What the client talks to: lifecycle and settings here, documents in `Documents`,
    Tether's methods in `server.handlers`, all of it served by one `Connection`."""

    def __init__(self, write: Callable[[bytes], None], flush: Callable[[], None]) -> None:
        self.connection = Connection(write)
        self._flush = flush
        self.documents = Documents()
        self.stopped = asyncio.Event()
        self.exit_code = 0
        self._settings: Settings | None = None
        self._launcher: LauncherChoice | None = None
        self._agent: Agent | None = None
        self._client_hooks: tuple[HookCommand, ...] = ()
        conn = self.connection
        conn.requests.update({"initialize": self.initialize, "shutdown": self.shutdown})
        conn.notifications.update(
            {
                "exit": self.exit,
                "workspace/didChangeConfiguration": self.did_change_configuration,
                "textDocument/didOpen": self.documents.did_open,
                "textDocument/didChange": self.documents.did_change,
                "textDocument/didClose": self.documents.did_close,
            }
        )

    # lifecycle -------------------------------------------------------------------------------

    def initialize(self, raw: Any) -> InitializeResult:
        params = decode("initialize", raw, InitializeParams)
        self.documents.position_encoding = params.position_encoding()
        options = params.initialization_options
        self._take_client_hooks(params)
        settings = self.configure(options if isinstance(options, dict) else {})
        assert self._launcher is not None
        self.connection.initialized = True
        asyncio.get_running_loop().call_soon(self._after_initialize)
        return InitializeResult(
            capabilities=ServerCapabilities(
                position_encoding=params.position_encoding(),
                text_document_sync=TEXT_SYNC,
                experimental={"tether": tether_capabilities(settings, self._launcher)},
            ),
            server_info=ServerInfo(name="tether", version=__version__),
        )

    def _after_initialize(self) -> None:
        """Send the answer (queued by now), then import Tether's methods and the agent while
        the client reads it: its next request (thread/start) needs them. Until `initialize`
        every request but it is refused, so nothing needs them sooner."""
        self._flush()
        from server.handlers import make_handlers

        self.connection.requests.update(make_handlers(self.agent))
        self.agent()

    def shutdown(self, _raw: Any) -> None:
        self.connection.shutting_down = True

    def exit(self, _raw: Any) -> None:
        """Stop serving; `run_stdio` then interrupts running turns and the process exits."""
        self.exit_code = 0 if self.connection.shutting_down else 1
        self.stopped.set()

    # settings --------------------------------------------------------------------------------

    def did_change_configuration(self, raw: Any) -> None:
        # The payload is the client's whole `tether` section, as in `initialize`: a setting the
        # user cleared falls back to the environment, config.toml or the default again.
        settings = decode("workspace/didChangeConfiguration", raw, DidChangeConfigurationParams)
        section = settings.settings.get("tether") if isinstance(settings.settings, dict) else None
        if isinstance(section, dict):
            self.configure(section)

    def _take_client_hooks(self, params: InitializeParams) -> None:
        """The hooks the client runs itself (`capabilities.experimental.tether.hooks`), kept
        for the whole connection: settings changes do not drop them."""
        experimental = params.capabilities.experimental
        tether = experimental.tether if experimental is not None else None
        if tether is None or not tether.hooks:
            return
        hooks, problems = client_hooks(tether.hooks)
        self._client_hooks = tuple(hooks)
        for problem in problems:
            self.connection.notify(ShowMessage(WARNING, f"Tether: {problem}"))

    def configure(self, options: dict[str, Any]) -> Settings:
        settings = dataclasses.replace(load_settings(options), client_hooks=self._client_hooks)
        self._settings = settings
        if self._launcher is None:
            self._launcher = choose_launcher(settings.sandbox_launcher)
        if self._agent is not None:
            self._agent.update_settings(settings)
        for warning in settings.warnings:
            log.warning("%s", warning)
            self.connection.notify(ShowMessage(WARNING, f"Tether: {warning}"))
        return settings

    def agent(self) -> Agent:
        """The agent, made on first use with the settings in force."""
        if self._agent is None:
            from server.agent.model import warm_up
            from server.agent.service import Agent

            settings = self._settings or self.configure({})
            assert self._launcher is not None
            self._agent = Agent(settings, self.connection, self.documents.text, self._launcher.name)
            threading.Thread(
                target=warm_up, args=(settings.base_url,), name="warm-up", daemon=True
            ).start()
        return self._agent

    async def close(self) -> None:
        """Interrupt every running turn, which kills its processes."""
        self.connection.close()
        if self._agent is not None:
            await self._agent.shutdown()


class _TickWriter:
    """Gathers what one turn of the event loop writes and sends it in one system call: a burst
    of deltas read from one network packet costs one write, not one each. Order is kept."""

    def __init__(self, out: Any, loop: asyncio.AbstractEventLoop) -> None:
        self._out = out
        self._loop = loop
        self._pending: list[bytes] = []
        self.client_gone = False
        """A write failed (the client's end of the pipe is closed): the rest is dropped."""

    def write(self, data: bytes) -> None:
        if self.client_gone:
            return
        if not self._pending:
            self._loop.call_soon(self.flush)
        self._pending.append(data)

    def flush(self) -> None:
        if self._pending:
            data, self._pending = b"".join(self._pending), []
            try:
                self._out.write(data)
                self._out.flush()
            except (OSError, ValueError) as exc:  # BrokenPipeError, or stdout closed
                # The reader sees the end of input next and the server stops.
                self.client_gone = True
                log.warning("the client is gone (%s); dropping what is left to send", exc)


def stdin_reader(loop: asyncio.AbstractEventLoop, fd: int) -> asyncio.StreamReader:
    """An asyncio reader over a file descriptor, fed by a daemon thread (not the loop's
    executor, so a read blocked on an idle client never holds up the process's exit)."""
    reader = asyncio.StreamReader(limit=1024 * 1024, loop=loop)

    def pump() -> None:
        while True:
            try:
                data = os.read(fd, 1 << 16)
            except OSError:
                data = b""
            if not data:
                loop.call_soon_threadsafe(reader.feed_eof)
                return
            loop.call_soon_threadsafe(reader.feed_data, data)

    threading.Thread(target=pump, name="stdin", daemon=True).start()
    return reader


async def serve(reader: asyncio.StreamReader, connection: Connection) -> None:
    """Read and handle messages until the client closes its end."""
    while True:
        try:
            body = await read_frame(reader)
        except FrameError as exc:
            connection.error(None, ParseError(f"parse error: {exc}"))
            continue
        if body is None:
            return
        connection.receive(body)
        await asyncio.sleep(0)  # let handlers started by this message run before the next read


async def run_stdio() -> int:
    """Serve over stdin/stdout until the client closes stdin or sends `exit`; then interrupt
    every running turn. Returns the exit code."""
    loop = asyncio.get_running_loop()
    writer = _TickWriter(sys.stdout.buffer, loop)
    server = Server(writer.write, writer.flush)
    serving = asyncio.create_task(serve(stdin_reader(loop, sys.stdin.fileno()), server.connection))
    stopping = asyncio.create_task(server.stopped.wait())
    try:
        await asyncio.wait({serving, stopping}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        serving.cancel()
        stopping.cancel()
        await server.close()
        writer.flush()
    return server.exit_code


def main_stdio() -> int:
    """`tether serve --stdio`."""
    logging.basicConfig(
        level=os.environ.get("TETHER_LOG_LEVEL", "WARNING"),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    from sandbox.run import shield_this_process

    shield_this_process()  # commands must not read the API key from our /proc/<pid>/environ
    exit_code = 0
    with contextlib.suppress(KeyboardInterrupt):
        exit_code = asyncio.run(run_stdio())
    # Everything is flushed and journaled by now; tearing down the interpreter (openai and
    # pydantic bring hundreds of modules) would only delay the exit the client waits for.
    for stream in sys.stdout, sys.stderr:
        with contextlib.suppress(OSError, ValueError):  # a gone client: said once already
            stream.flush()
    os._exit(exit_code)
