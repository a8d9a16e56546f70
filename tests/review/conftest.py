"""Fixtures for the review tests: a git repository with a planted bug, and an environment with
no model settings of the developer's leaking in (the sandbox matrix's launcher and cell stay)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import CELL_ENV

MATRIX_ENV = (CELL_ENV, "TETHER_SANDBOX_LAUNCHER")


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith(("OPENAI_", "TETHER_")) and key not in MATRIX_ENV:
            monkeypatch.delenv(key)


def git(repo: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
        "GIT_AUTHOR_DATE": "2026-01-01T00:00:00Z",
        "GIT_COMMITTER_DATE": "2026-01-01T00:00:00Z",
    }
    done = subprocess.run(
        ["git", *args], cwd=repo, env=env, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


CALC = "def add(a, b):\n    return a + b\n\n\ndef mul(a, b):\n    return a * b\n"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """main: src/calc.py, README.md and a .gitignore (ignoring *.log), one commit."""
    ws = tmp_path / "repo"
    (ws / "src").mkdir(parents=True)
    (ws / "src" / "calc.py").write_text(CALC)
    (ws / "README.md").write_text("# calc\n")
    (ws / ".gitignore").write_text("*.log\n")
    git(ws, "init", "-q", "-b", "main")
    git(ws, "add", ".")
    git(ws, "commit", "-q", "-m", "calc")
    return ws
