"""Reads LSP-framed JSON-RPC from the client and never dies on bad input.

pygls' own read loop logs and drops what it cannot parse, so a client that sent a malformed
request would wait forever. This loop answers every request it cannot handle with a JSON-RPC
error: -32700 for bytes that are not JSON, -32600 for a message that is not a request, or a
request sent before `initialize`; -32602 with the failing field for params that do not fit.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import threading
import traceback
from collections.abc import Awaitable, Callable
from typing import Any

from pygls.exceptions import JsonRpcException
from pygls.protocol import JsonRPCProtocol

from protocol.errors import ErrorCode
from server.framing import frame

log = logging.getLogger(__name__)

MAX_HEADER_LINES = 32
MAX_BODY_BYTES = 256 * 1024 * 1024


class FrameError(Exception):
    """The byte stream is not LSP framing; the message is skipped."""


async def read_frame(
    readline: Callable[[], Awaitable[bytes]], read: Callable[[int], Awaitable[bytes]]
) -> bytes | None:
    """The next message body, or None at end of input."""
    length: int | None = None
    for _ in range(MAX_HEADER_LINES):
        line = await readline()
        if not line:
            return None
        text = line.decode("ascii", "replace").strip()
        if not text:
            if length is None:
                continue  # stray blank line between messages
            break
        name, _, value = text.partition(":")
        if name.strip().lower() == "content-length":
            try:
                length = int(value.strip())
            except ValueError:
                raise FrameError(f"bad Content-Length header: {text!r}") from None
            if not 0 <= length <= MAX_BODY_BYTES:
                raise FrameError(f"Content-Length {length} is out of range")
    else:
        raise FrameError("too many header lines without a blank line")
    assert length is not None
    chunks: list[bytes] = []
    remaining = length
    while remaining:
        chunk = await read(remaining)
        if not chunk:
            return None
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


class MessageDispatcher:
    """Validates each decoded message and hands it to the pygls protocol."""

    def __init__(self, protocol: JsonRPCProtocol, write: Callable[[bytes], None]) -> None:
        self._protocol = protocol
        self._write = write
        self.initialized = False
        self.shutting_down = False

    def error(self, msg_id: Any, code: ErrorCode, message: str) -> None:
        self._write(
            frame(
                {"jsonrpc": "2.0", "id": msg_id, "error": {"code": int(code), "message": message}}
            )
        )

    def dispatch(self, body: bytes) -> None:
        try:
            data = json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            self.error(None, ErrorCode.PARSE_ERROR, f"parse error: body is not JSON ({exc})")
            return
        if isinstance(data, list):
            self.error(None, ErrorCode.INVALID_REQUEST, "batch requests are not supported")
            return
        if not isinstance(data, dict) or data.get("jsonrpc") != "2.0":
            msg_id = data.get("id") if isinstance(data, dict) else None
            self.error(
                msg_id,
                ErrorCode.INVALID_REQUEST,
                'invalid request: expected an object with "jsonrpc": "2.0"',
            )
            return
        method = data.get("method")
        msg_id = data.get("id")
        is_request = "id" in data and method is not None
        if method is not None and not isinstance(method, str):
            self.error(
                msg_id, ErrorCode.INVALID_REQUEST, "invalid request: `method` must be a string"
            )
            return
        if msg_id is not None and not isinstance(msg_id, str | int):
            self.error(
                None, ErrorCode.INVALID_REQUEST, "invalid request: `id` must be a string or number"
            )
            return
        if is_request and not self.initialized and method != "initialize":
            self.error(
                msg_id,
                ErrorCode.INVALID_REQUEST,
                f"server not initialized: send `initialize` before `{method}`",
            )
            return
        if is_request and self.shutting_down and method != "exit":
            self.error(
                msg_id,
                ErrorCode.INVALID_REQUEST,
                f"the server is shutting down: `{method}` was not run; send `exit`",
            )
            return
        if "params" in data and method and not isinstance(data["params"], dict | list | None):
            if is_request:
                self.error(
                    msg_id,
                    ErrorCode.INVALID_PARAMS,
                    f"invalid params for {method}: expected an object",
                )
            return
        try:
            message = self._protocol.structure_message(data)
        except JsonRpcException as exc:
            cause = exc.__cause__ or exc
            if is_request:
                self.error(
                    msg_id, ErrorCode.INVALID_PARAMS, f"invalid params for {method}: {cause}"
                )
            else:
                log.warning("dropped notification %s: %s", method, cause)
            return
        if is_request and method == "initialize":
            self.initialized = True  # only once its params proved valid
        if is_request and method == "shutdown":
            self.shutting_down = True
        try:
            self._protocol.handle_message(message)  # type: ignore[arg-type]
        except Exception as exc:  # the server must outlive any one message
            log.error("failed to handle %s: %s", method, traceback.format_exc())
            if is_request:
                self.error(msg_id, ErrorCode.INTERNAL_ERROR, f"internal error in {method}: {exc}")


async def serve(
    dispatcher: MessageDispatcher,
    readline: Callable[[], Awaitable[bytes]],
    read: Callable[[int], Awaitable[bytes]],
) -> None:
    """Read and dispatch messages until the client closes its end."""
    while True:
        try:
            body = await read_frame(readline, read)
        except FrameError as exc:
            dispatcher.error(None, ErrorCode.PARSE_ERROR, f"parse error: {exc}")
            continue
        if body is None:
            return
        dispatcher.dispatch(body)
        await asyncio.sleep(0)  # let handlers started by this message run before the next read


def stdin_reader(
    loop: asyncio.AbstractEventLoop, fd: int, already_read: bytes = b""
) -> asyncio.StreamReader:
    """An asyncio reader over a file descriptor, fed by a daemon thread, starting with bytes
    the boot path read past the first message.

    A daemon thread (not the loop's executor) so that a read blocked on an idle client never
    holds up the process when it exits.
    """
    reader = asyncio.StreamReader(limit=1024 * 1024, loop=loop)
    if already_read:
        reader.feed_data(already_read)

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


def frame_reader(
    reader: asyncio.StreamReader,
) -> tuple[Callable[[], Awaitable[bytes]], Callable[[int], Awaitable[bytes]]]:
    """readline/read callables for `serve`, returning b"" at end of input."""

    async def readline() -> bytes:
        try:
            return await reader.readline()
        except ValueError:  # a header line longer than the reader's limit
            raise FrameError("header line too long") from None

    async def read(n: int) -> bytes:
        try:
            return await reader.readexactly(n)
        except asyncio.IncompleteReadError:
            return b""

    return readline, read
