"""The boot path answers `initialize` before pygls is imported; its answer must be the one the
full server computes, so a client cannot tell which path answered."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from lsprotocol import types as lsp

from server.boot import SERVER_CAPABILITIES, boot, position_encoding, tether_capabilities


def full_server_capabilities(params: lsp.InitializeParams) -> dict[str, Any]:
    from server.app import TetherServer

    server = TetherServer()
    generator = server.protocol.lsp_initialize(params)
    try:
        next(generator)
        while True:
            generator.send(None)
    except StopIteration as done:
        result = done.value
    return server.protocol._converter.unstructure(result)["capabilities"]


def test_boot_answers_what_pygls_computes(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setenv("TETHER_HOME", str(tmp_path))
    params = lsp.InitializeParams(
        capabilities=lsp.ClientCapabilities(
            general=lsp.GeneralClientCapabilities(position_encodings=["utf-32", "utf-16"])
        )
    )
    full = full_server_capabilities(params)
    raw = {"capabilities": {"general": {"positionEncodings": ["utf-32", "utf-16"]}}}
    from sandbox.launchers import detect_launcher
    from server.config import load_settings

    fast = {
        "positionEncoding": position_encoding(raw),
        **SERVER_CAPABILITIES,
        "experimental": {"tether": tether_capabilities(load_settings({}), detect_launcher())},
    }
    assert fast == full


def test_boot_answers_initialize_and_passes_the_rest_on(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setenv("TETHER_HOME", str(tmp_path))
    read, write = os.pipe()
    first = b'{"jsonrpc":"2.0","id":7,"method":"initialize","params":{"capabilities":{}}}'
    second = b"Content-Length: 2\r\n\r\n{}"
    os.write(write, b"Content-Length: %d\r\n\r\n" % len(first) + first + second)
    os.close(write)
    sent: list[bytes] = []
    start, answered = boot(read, sent.append)
    assert answered and b'"id":7' in sent[0] and b'"name":"tether"' in sent[0]
    assert start.first is not None and b'"tether-boot-initialize"' in start.first
    assert start.rest == second


def test_boot_leaves_anything_else_to_the_full_server(tmp_path: Path) -> None:
    read, write = os.pipe()
    body = b'{"jsonrpc":"2.0","id":1,"method":"thread/list","params":{}}'
    os.write(write, b"Content-Length: %d\r\n\r\n" % len(body) + body)
    os.close(write)
    sent: list[bytes] = []
    start, answered = boot(read, sent.append)
    assert not answered and sent == [] and start.first == body
