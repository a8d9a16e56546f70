"""Fixtures for sandbox tests: a scratch area outside /tmp, a git workspace, a fake HOME full of
secrets, and one parameter per launcher that works on this machine.

The scratch area lives under /var/tmp on purpose: bwrap gives every command a private /tmp, so a
secret or an escape target under the host's /tmp would be hidden for the wrong reason.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from protocol.base import LauncherKind
from sandbox.launchers import available_launchers
from sandbox.policy import DEFAULT_SECRET_PATHS, Policy
from sandbox.run import CommandResult, run_command

# The sandbox replaces /tmp with a private one, so a virtualenv cloned under /tmp (as CI may)
# is invisible inside it; the interpreter it links to is not. Stdlib-only snippets use it.
PY = os.path.realpath(sys.executable)
VENV_HIDDEN = sys.prefix.startswith(("/tmp/", "/run/"))


def _launchers_under_test() -> list[LauncherKind]:
    """Every launcher that works here, or only the one a matrix cell forces (by the same
    TETHER_SANDBOX_LAUNCHER the server reads)."""
    forced = os.environ.get("TETHER_SANDBOX_LAUNCHER", "auto")
    found = available_launchers()
    if forced == "auto":
        return found
    assert forced in found, f"TETHER_SANDBOX_LAUNCHER={forced} but only {found} work here"
    return [forced]  # type: ignore[list-item]


LAUNCHERS: list[LauncherKind] = _launchers_under_test()
HOME_SECRETS = [entry for entry in DEFAULT_SECRET_PATHS if entry.startswith("~/")]
SECRET_TEXT = "TOP-SECRET-CONTENT-4711"


@pytest.fixture(params=LAUNCHERS or [pytest.param("none", marks=pytest.mark.skip("no sandbox"))])
def launcher(request: pytest.FixtureRequest) -> LauncherKind:
    return request.param


@pytest.fixture
def scratch() -> Iterator[Path]:
    base = Path("/var/tmp") / f"tether-test-{uuid.uuid4().hex[:10]}"
    base.mkdir()
    try:
        yield base
    finally:
        shutil.rmtree(base, ignore_errors=True)


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, check=True, timeout=30
    )
    return done.stdout


@pytest.fixture
def workspace(scratch: Path) -> Path:
    root = scratch / "ws"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.email", "t@example.com")
    git(root, "config", "user.name", "T")
    (root / "hello.txt").write_text("hello\n")
    git(root, "add", "hello.txt")
    git(root, "commit", "-q", "-m", "init")
    return root


@pytest.fixture
def outside(scratch: Path) -> Path:
    """A directory beside the workspace that sandboxed commands must not write."""
    path = scratch / "outside"
    path.mkdir()
    (path / "victim.txt").write_text("original\n")
    return path


# Default secret entries that name a file; the others are directories.
SECRET_FILES = {
    "~/.docker/config.json",
    "~/.netrc",
    "~/.git-credentials",
    "~/.config/gh/hosts.yml",
    "~/.pypirc",
    "~/.npmrc",
    "~/.cargo/credentials.toml",
}


def secret_file(home: Path, entry: str) -> Path:
    """The file holding SECRET_TEXT for a default secret entry."""
    path = home / entry.removeprefix("~/")
    return path if entry in SECRET_FILES else path / "key"


@pytest.fixture
def fake_home(scratch: Path) -> Path:
    """A HOME holding every default secret path, each with SECRET_TEXT inside."""
    home = scratch / "home"
    for entry in HOME_SECRETS:
        file = secret_file(home, entry)
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text(SECRET_TEXT + "\n")
    return home


@dataclass
class Runner:
    launcher: LauncherKind
    workspace: Path
    env: dict[str, str]

    async def __call__(
        self,
        command: str,
        kind: str = "workspaceWrite",
        *,
        timeout_s: float = 60,  # generous: CI boxes are loaded, and a kill fails the test
        cap: int = 1_000_000,
        network: bool = False,
        max_processes: int = 128,
        max_memory_bytes: int | None = None,
        cwd: Path | None = None,
    ) -> CommandResult:
        policy = Policy(
            kind=kind,  # type: ignore[arg-type]
            roots=(self.workspace,),
            network=network,
            max_processes=max_processes,
            max_memory_bytes=max_memory_bytes,
        )
        return await run_command(
            command,
            cwd=cwd or self.workspace,
            policy=policy,
            env=self.env,
            timeout_s=timeout_s,
            output_cap_bytes=cap,
            on_output=None,
            launcher=self.launcher,
        )


@pytest.fixture
def run(launcher: LauncherKind, workspace: Path, fake_home: Path) -> Runner:
    env = {k: v for k, v in os.environ.items() if k not in {"HOME"}}
    env["HOME"] = str(fake_home)
    env["OPENAI_API_KEY"] = "sk-test-should-never-leak"
    return Runner(launcher, workspace, env)
