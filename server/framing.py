"""LSP base-protocol framing of outgoing JSON-RPC messages (light: msgspec only, so the boot
path can use it before pygls is imported)."""

from typing import Any

import msgspec

_ENCODER = msgspec.json.Encoder()


def frame(message: dict[str, Any]) -> bytes:
    """A JSON-RPC message with its `Content-Length` header."""
    body = _ENCODER.encode(message)
    return b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
