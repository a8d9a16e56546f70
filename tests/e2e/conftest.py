"""Fixtures for the end-to-end suite: a workspace, and the real server wired to the scripted
model server, on both wire APIs where a test asks for `wire_api`."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio

from tests.e2e.harness import Tether, start_tether, stop_tether
from tests.model_server import ModelServer


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    ws = tmp_path / "ws"
    (ws / "src").mkdir(parents=True)
    (ws / "src" / "calc.py").write_text(
        "def add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n    return a - b\n"
    )
    (ws / "README.md").write_text("# Calc\n\nA tiny calculator.\n")
    (ws / ".gitignore").write_text("build/\n")
    (ws / "build").mkdir()
    (ws / "build" / "out.txt").write_text("ignored\n")
    subprocess.run(["git", "init", "-q", str(ws)], check=True)
    return ws


@pytest.fixture(params=["responses", "chat"])
def wire_api(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest_asyncio.fixture
async def tether(
    model_server: ModelServer, tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[Tether]:
    wire = request.getfixturevalue("wire_api") if "wire_api" in request.fixturenames else None
    client = await start_tether(model_server.env(wire), tmp_path / "home")
    yield client
    await stop_tether(client)


@pytest.fixture
def listener() -> Iterator[tuple[int, list[bytes]]]:
    """A loopback TCP listener; what connects is recorded."""
    with tcp_listener("127.0.0.1") as found:
        yield found


@contextlib.contextmanager
def tcp_listener(host: str) -> Iterator[tuple[int, list[bytes]]]:
    """A TCP listener on `host` in a thread: its port, and the first bytes of each connection."""
    server = socket.create_server((host, 0))
    server.settimeout(0.2)
    got: list[bytes] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            got.append(conn.recv(100))
            conn.close()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1], got
    finally:
        stop.set()
        thread.join(1)
        server.close()
