"""The local executor behind the `Executor` boundary: commands as `sandbox.run` runs them, and
its file methods, which never follow a symlink out of the tree; and the podman executor on a host
without Podman (no container needed), which says how to install it."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from sandbox import podman
from sandbox.containers import ContainerConfig
from sandbox.errors import SandboxUnavailable
from sandbox.executor import CommandRequest, LocalExecutor
from sandbox.executors import make_executor
from sandbox.policy import Policy


async def test_local_runs_commands_like_run_command(tmp_path: Path) -> None:
    executor = make_executor(ContainerConfig(), "thr_local")
    assert isinstance(executor, LocalExecutor) and executor.image is None
    policy = Policy(kind="workspaceWrite", roots=(tmp_path,))
    env = {"PATH": os.defpath, "HOME": str(tmp_path), "GITHUB_TOKEN": "ghp-x"}
    result = await executor.run(
        CommandRequest("echo $GITHUB_TOKEN; echo hi > made.txt", tmp_path, policy, env, 30, 1000)
    )
    assert result.exit_code == 0 and "ghp-x" not in result.output
    assert result.sandbox == "workspaceWrite" and result.launcher in ("bwrap", "landlock")
    assert (tmp_path / "made.txt").read_text() == "hi\n"
    assert await executor.snapshot(tmp_path) is None  # the server's own snapshots cover it


async def test_file_methods_replace_a_symlink_instead_of_following_it(tmp_path: Path) -> None:
    executor = LocalExecutor()
    outside = tmp_path / "outside.txt"
    outside.write_text("theirs\n")
    root = tmp_path / "root"
    root.mkdir()
    (root / "link.txt").symlink_to(outside)
    await executor.write_file(root / "link.txt", b"ours\n")
    assert outside.read_text() == "theirs\n"
    assert not (root / "link.txt").is_symlink()
    assert await executor.read_file(root / "link.txt") == b"ours\n"
    assert await executor.list_dir(root) == ["link.txt"]


async def test_file_methods_keep_the_mode_and_refuse_a_fifo(tmp_path: Path) -> None:
    executor = LocalExecutor()
    script = tmp_path / "run.sh"
    script.write_text("old\n")
    script.chmod(0o750)
    await executor.write_file(script, b"new\n")
    assert script.stat().st_mode & 0o777 == 0o750
    assert await executor.list_dir(tmp_path) == ["run.sh"]  # no temporary file left
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(OSError, match="not a regular file"):
        await executor.read_file(fifo)  # would block forever on a blocking open


async def test_a_missing_podman_says_how_to_install_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A PATH with bash and no podman: the reaper finds nothing to ask, the start says why.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "bash").symlink_to(shutil.which("bash") or "/bin/bash")
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.setattr(podman, "_reaped", False)
    executor = podman.PodmanExecutor(ContainerConfig(kind="podman", image="img:1"), "thr_nopod")
    policy = Policy(kind="workspaceWrite", roots=(tmp_path,))
    request = CommandRequest("true", tmp_path, policy, {"PATH": os.defpath}, 30, 1000)
    with pytest.raises(SandboxUnavailable, match="podman is not installed"):
        await executor.run(request)
    assert executor.container_names() == []
