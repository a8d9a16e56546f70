"""LSP base-protocol framing (`Content-Length: N\r\n\r\n` + N bytes of JSON), both ways.

The one reader and writer of frames: the server reads its client with it, and `tether exec`
reads the server with it. msgspec and asyncio only, so nothing heavy loads before the first
message is answered.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

import msgspec

MAX_HEADER_LINES = 32
MAX_BODY_BYTES = 256 * 1024 * 1024

_ENCODER = msgspec.json.Encoder()
_SURROGATE = re.compile("[\ud800-\udfff]")


class FrameError(Exception):
    """The byte stream is not LSP framing here; the reader skips what it read."""


def frame(message: Any) -> bytes:
    """A JSON-RPC message (builtins and msgspec Structs) with its `Content-Length` header.

    A string holding lone surrogates (a non-UTF-8 file name or content decoded with
    `surrogateescape`) cannot be sent as JSON: such characters go out as U+FFFD rather than
    the message failing, and with it the turn that sent it."""
    try:
        body = _ENCODER.encode(message)
    except UnicodeEncodeError:
        body = _ENCODER.encode(_without_surrogates(msgspec.to_builtins(message)))
    return b"Content-Length: %d\r\n\r\n%s" % (len(body), body)


def _without_surrogates(value: Any) -> Any:
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value)
    if isinstance(value, dict):
        return {_without_surrogates(k): _without_surrogates(v) for k, v in value.items()}  # pyright: ignore[reportUnknownVariableType]
    if isinstance(value, list):
        return [_without_surrogates(v) for v in value]  # pyright: ignore[reportUnknownVariableType]
    return value


async def read_frame(reader: asyncio.StreamReader) -> bytes | None:
    """The next message body, or None at end of input. A header line longer than the reader's
    limit, a bad or out-of-range `Content-Length`, or endless headers raise FrameError; the
    next call reads on from there."""
    length: int | None = None
    for _ in range(MAX_HEADER_LINES):
        try:
            line = await reader.readline()
        except ValueError:  # longer than the reader's limit; that much of it is dropped
            raise FrameError("header line too long") from None
        if not line:
            return None
        text = line.decode("ascii", "replace").strip()
        if not text:
            if length is None:
                continue  # a stray blank line between messages, or headers without a length
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
    try:
        return await reader.readexactly(length)
    except asyncio.IncompleteReadError:
        return None
