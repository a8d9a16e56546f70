"""The pygls server: LSP lifecycle and text sync from pygls, Tether's methods from the table."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
import threading
from collections.abc import Generator
from pathlib import Path
from typing import Any

from lsprotocol import types as lsp
from pygls.io_ import StdoutWriter
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol, lsp_method
from pygls.uris import from_fs_path

from protocol.lsp import WARNING, ShowMessage
from protocol.methods import REQUESTS
from sandbox.launchers import choose_launcher
from server import __version__
from server.agent.model import warm_up
from server.agent.service import Agent
from server.boot import ANSWERED_ID, Boot, tether_capabilities
from server.config import Settings, load_settings
from server.handlers import make_handler
from server.rpc import Peer, make_converter
from server.transport import MessageDispatcher, frame_reader, serve, stdin_reader

log = logging.getLogger(__name__)


class TetherProtocol(LanguageServerProtocol):
    """Adds Tether's capabilities to the `initialize` result and reads its options."""

    _server: TetherServer  # type: ignore[assignment]  (pygls types it as LanguageServer)

    @lsp_method(lsp.INITIALIZE)
    def lsp_initialize(
        self, params: lsp.InitializeParams
    ) -> Generator[Any, Any, lsp.InitializeResult]:
        options = params.initialization_options
        self._server.configure(options if isinstance(options, dict) else {})
        result = yield from super().lsp_initialize(params)
        agent = self._server.agent
        tether = tether_capabilities(agent.settings, agent.launcher)
        result.capabilities.experimental = {"tether": tether}
        threading.Thread(target=warm_up, name="warm-up", daemon=True).start()
        return result

    @lsp_method(lsp.EXIT)
    def lsp_exit(self, *args: Any) -> Generator[Any, Any, None]:
        """Stop serving; `run_stdio` then interrupts running turns and the process exits."""
        self._server.exit_code = 0 if self._shutdown else 1
        self._server.stopped.set()
        yield from ()


class TetherServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__(
            "tether", __version__, protocol_cls=TetherProtocol, converter_factory=make_converter
        )
        self.peer = Peer(self._write, self.protocol)
        self._agent: Agent | None = None
        self.stopped = asyncio.Event()
        self.exit_code = 0
        for method in REQUESTS:
            self.feature(method)(make_handler(method, lambda: self.agent))

        @self.feature(lsp.WORKSPACE_DID_CHANGE_CONFIGURATION)
        def did_change_configuration(params: lsp.DidChangeConfigurationParams) -> None:
            # The payload is the client's whole `tether` section, as in `initialize`: a setting the
            # user cleared falls back to the environment, config.toml or the default again.
            settings = params.settings
            if isinstance(settings, dict) and isinstance(settings.get("tether"), dict):
                self.configure(settings["tether"])

    def report_server_error(self, error: Exception, source: Any) -> None:
        """pygls would show every failed notification (say, a didChange for a document that was
        never opened) to the user as a server error; such input is the client's mistake and is
        dropped with a log line. Request errors already go back in the response."""
        log.warning("%s: %s", getattr(source, "__name__", source), error)

    def _write(self, data: bytes) -> None:
        writer = self.protocol.writer
        if writer is not None:
            writer.write(data)

    @property
    def agent(self) -> Agent:
        if self._agent is None:
            self.configure({})
        assert self._agent is not None
        return self._agent

    def configure(self, options: dict[str, Any]) -> None:
        settings = load_settings(options)
        if self._agent is None:
            launcher = choose_launcher(settings.sandbox_launcher).name
            self._agent = Agent(settings, self.peer, self.read_buffer, launcher)
        else:
            self._agent.update_settings(settings)
        self._show_warnings(settings)

    def _show_warnings(self, settings: Settings) -> None:
        for warning in settings.warnings:
            log.warning("%s", warning)
            self.peer.notify(ShowMessage(WARNING, f"Tether: {warning}"))

    def read_buffer(self, path: Path) -> str | None:
        """The open document's text for a path, if the client has it open."""
        try:
            docs = self.protocol.workspace.text_documents
        except RuntimeError:
            return None
        doc = docs.get(from_fs_path(str(path)) or "")
        return doc.source if doc is not None else None


class _TickWriter:
    """Gathers what one turn of the event loop writes and sends it in one system call: a burst
    of deltas read from one network packet costs one write, not one each. Order is kept."""

    def __init__(self, out: Any, loop: asyncio.AbstractEventLoop) -> None:
        self._out = out
        self._loop = loop
        self._pending: list[bytes] = []

    def write(self, data: bytes) -> None:
        if not self._pending:
            self._loop.call_soon(self.flush)
        self._pending.append(data)

    def flush(self) -> None:
        if self._pending:
            data, self._pending = b"".join(self._pending), []
            self._out.write(data)

    def close(self) -> None:
        self.flush()
        self._out.close()


class _DropBootAnswer:
    """The stdout writer, minus pygls' second answer to the `initialize` boot answered."""

    def __init__(self, out: _TickWriter) -> None:
        self._out = out
        self._marker: bytes | None = b'"id":"' + ANSWERED_ID.encode() + b'"'

    def write(self, data: bytes) -> None:
        if self._marker is not None and self._marker in data.replace(b" ", b""):
            self._marker = None
            return
        self._out.write(data)

    def close(self) -> None:
        self._out.close()


async def run_stdio(server: TetherServer, start: Boot, answered: bool) -> None:
    """Serve over stdin/stdout until the client closes stdin or sends `exit`; then interrupt
    every running turn, which kills its processes."""
    reader = stdin_reader(asyncio.get_running_loop(), sys.stdin.fileno(), start.rest)
    out = StdoutWriter(sys.stdout.buffer)
    writer = _TickWriter(out, asyncio.get_running_loop())
    # Frames are filtered one by one, before the tick writer joins them.
    server.protocol.set_writer(_DropBootAnswer(writer) if answered else writer)
    dispatcher = MessageDispatcher(server.protocol, server._write)
    if start.first is not None:
        dispatcher.dispatch(start.first)
    serving = asyncio.create_task(serve(dispatcher, *frame_reader(reader)))
    stopping = asyncio.create_task(server.stopped.wait())
    try:
        await asyncio.wait({serving, stopping}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        serving.cancel()
        stopping.cancel()
        if server._agent is not None:
            await server._agent.shutdown()
        writer.flush()


def serve_after_boot(start: Boot, answered: bool) -> int:
    """The full server, picking up where `server.boot` left off."""
    # pygls logs every error response with a traceback; ours are expected and carry messages.
    logging.getLogger("pygls.protocol.json_rpc").setLevel(logging.CRITICAL)
    server = TetherServer()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run_stdio(server, start, answered))
    # Everything is flushed and journaled by now; tearing down the interpreter (openai and
    # pydantic bring hundreds of modules) would only delay the exit the client waits for.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(server.exit_code)
