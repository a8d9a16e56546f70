"""Fixtures for the ACP suite: a workspace like the e2e suite's, and a recording client."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.acp.client import Recorder, environment
from tests.model_server import ModelServer


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    ws = tmp_path / "ws"
    (ws / "src").mkdir(parents=True)
    (ws / "src" / "calc.py").write_text(
        "def add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n    return a - b\n"
    )
    subprocess.run(["git", "init", "-q", str(ws)], check=True)
    return ws


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def env(model_server: ModelServer, tmp_path: Path) -> dict[str, str]:
    return environment(model_server.env(), tmp_path / "home")
