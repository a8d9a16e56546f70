"""The Landlock helper runs before it is confined, so no command may have written any of it.

When Tether's own source lies inside a writable root (a user working on Tether itself), a
command can rewrite `sandbox/exec.py`; the next command's helper must still run the code read
at start-up. The control shows the same rewrite runs unconfined when the helper is loaded from
the root.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path

import pytest

from sandbox.launchers import available_launchers
from sandbox.launchers import landlock as launcher_module
from sandbox.policy import Policy
from sandbox.run import run_command

pytestmark = pytest.mark.skipif("landlock" not in available_launchers(), reason="no Landlock")

PAYLOAD = "open({marker!r}, 'w').close()\nraise SystemExit(0)\n"


def _run(command: str, root: Path) -> int:
    policy = Policy("workspaceWrite", roots=(root,))
    result = asyncio.run(
        run_command(
            command,
            cwd=root,
            policy=policy,
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
            timeout_s=60,
            output_cap_bytes=100_000,
            launcher="landlock",
        )
    )
    return result.exit_code


@pytest.mark.parametrize("from_start_up", [True, False])
def test_a_rewritten_helper_inside_a_root_never_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, from_start_up: bool
) -> None:
    root = tmp_path / "work"
    package = root / "tether" / "sandbox"
    shutil.copytree(launcher_module._PACKAGE, package, ignore=shutil.ignore_patterns("__pycache__"))  # pyright: ignore[reportPrivateUsage]
    sources = {p.relative_to(package): p.read_bytes() for p in package.rglob("*.py")}
    monkeypatch.setattr(launcher_module, "_PACKAGE", package)
    monkeypatch.setattr(launcher_module, "_SOURCES", sources)
    launcher_module._private_copy.cache_clear()  # pyright: ignore[reportPrivateUsage]
    if not from_start_up:  # the control: the helper loaded from the root, as before
        monkeypatch.setattr(launcher_module, "_inside", lambda _path, _roots: False)  # pyright: ignore[reportUnknownLambdaType]
    marker = tmp_path / "PWNED"
    payload = PAYLOAD.format(marker=str(marker))
    (root / "payload.py").write_text(payload)

    assert _run("cp payload.py tether/sandbox/exec.py && echo rewritten", root) == 0
    assert (package / "exec.py").read_text() == payload  # the command could write it
    assert _run("touch made-by-second-command", root) == 0
    assert marker.exists() == (not from_start_up)
    assert (root / "made-by-second-command").exists() == from_start_up
    launcher_module._private_copy.cache_clear()  # pyright: ignore[reportPrivateUsage]
