"""The first milliseconds: answer `initialize` before the heavy imports.

pygls, lsprotocol and their converter take most of a second to import; a client should not wait
for that to learn the server's capabilities. `boot` reads the first message with nothing but the
standard library, msgspec and our settings; if it is `initialize`, it answers at once with the
same result the full server computes (a test keeps the two equal), then hands the message on to
pygls under a private id whose duplicate answer is dropped, so pygls' workspace and text sync
start exactly as usual.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import msgspec

from protocol import PROTOCOL_VERSION
from protocol.initialize import SandboxLauncherInfo, TetherCapabilities
from server import __version__
from server.config import MODES, Settings, load_settings
from server.framing import frame

ANSWERED_ID = "tether-boot-initialize"
"""The id the already-answered `initialize` carries into pygls."""

_ENCODINGS = ("utf-8", "utf-16", "utf-32")

SERVER_CAPABILITIES: dict[str, Any] = {
    "textDocumentSync": {"openClose": True, "change": 2, "save": False},
    "executeCommandProvider": {"commands": []},
    "workspace": {
        "workspaceFolders": {"supported": True, "changeNotifications": True},
        "fileOperations": {},
    },
}
"""What pygls computes from the features TetherServer registers (tests/server/test_boot.py)."""


def tether_capabilities(settings: Settings, launcher: str) -> dict[str, Any]:
    from sandbox.launchers import choose_launcher

    choice = choose_launcher(settings.sandbox_launcher)
    caps = TetherCapabilities(
        protocol_version=PROTOCOL_VERSION,
        modes=list(MODES),
        sandbox=launcher,  # type: ignore[arg-type]
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
    return msgspec.to_builtins(caps)


def position_encoding(params: dict[str, Any]) -> str:
    """The client's first supported encoding, else UTF-16 (as pygls chooses)."""
    general = (params.get("capabilities") or {}).get("general") or {}
    for encoding in general.get("positionEncodings") or ():
        if encoding in _ENCODINGS:
            return str(encoding)
    return "utf-16"


@dataclass
class Boot:
    """What the full server starts from: the first message (None at end of input) and any
    bytes read past it."""

    first: bytes | None
    rest: bytes


def read_first_message(fd: int) -> Boot:
    data = b""
    while True:
        head, sep, tail = data.partition(b"\r\n\r\n")
        if sep:
            length = _content_length(head)
            if length is None or len(tail) >= length:
                break
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            return Boot(None, data)
        data += chunk
    if length is None:
        return Boot(None, data)  # not LSP framing: let the transport report it
    return Boot(tail[:length], tail[length:])


def _content_length(head: bytes) -> int | None:
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length" and value.strip().isdigit():
            return int(value.strip())
    return None


def boot(fd: int, write: Callable[[bytes], None]) -> tuple[Boot, bool]:
    """Read the first message and answer it if it is `initialize`; (boot, answered)."""
    from sandbox.launchers import choose_launcher

    start = read_first_message(fd)
    if start.first is None:
        return start, False
    try:
        message = json.loads(start.first)
    except ValueError:
        return start, False
    if not (
        isinstance(message, dict)
        and message.get("method") == "initialize"
        and "id" in message
        and isinstance(message.get("params"), dict)
        and isinstance(message["params"].get("capabilities"), dict)
    ):
        return start, False
    params = message["params"]
    options = params.get("initializationOptions")
    settings = load_settings(options if isinstance(options, dict) else {})
    capabilities = {
        "positionEncoding": position_encoding(params),
        **SERVER_CAPABILITIES,
        "experimental": {
            "tether": tether_capabilities(settings, choose_launcher(settings.sandbox_launcher).name)
        },
    }
    write(
        frame(
            {
                "jsonrpc": "2.0",
                "id": message["id"],
                "result": {
                    "capabilities": capabilities,
                    "serverInfo": {"name": "tether", "version": __version__},
                },
            }
        )
    )
    message["id"] = ANSWERED_ID
    return Boot(json.dumps(message).encode(), start.rest), True


def main_stdio() -> int:
    """`tether serve --stdio`: answer `initialize` first, then become the full server."""
    import logging
    import sys

    logging.basicConfig(
        level=os.environ.get("TETHER_LOG_LEVEL", "WARNING"),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    out = sys.stdout.buffer
    from sandbox.run import shield_this_process

    shield_this_process()  # commands must not read the API key from our /proc/<pid>/environ

    def write(data: bytes) -> None:
        out.write(data)
        out.flush()

    start, answered = boot(sys.stdin.fileno(), write)
    from server.app import serve_after_boot  # the heavy imports, while the client reads

    return serve_after_boot(start, answered)
