"""Launcher choice and command lines, without running them."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import sandbox.launchers as launchers
from sandbox.errors import SandboxUnavailable
from sandbox.layout import PrivateDirs
from sandbox.policy import Policy


@pytest.fixture
def dirs() -> Iterator[PrivateDirs]:
    made = PrivateDirs.create()
    yield made
    made.cleanup()


@pytest.mark.skipif(sys.platform != "linux", reason="Linux launchers")
def test_landlock_is_the_fallback_when_bwrap_cannot_run(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(launchers, "bwrap_works", lambda: False)
    monkeypatch.setattr(launchers, "landlock_works", lambda: True)
    assert launchers.available_launchers() == ["landlock"]
    monkeypatch.setattr(launchers, "landlock_works", lambda: False)
    assert launchers.available_launchers() == []


def test_detect_launcher_is_cached_and_names_the_strongest() -> None:
    first = launchers.detect_launcher()
    assert first == launchers.detect_launcher()
    assert first == (launchers.available_launchers() or ["none"])[0]


def test_none_refuses_sandboxed_policies_with_a_reason(dirs: PrivateDirs, tmp_path: Path) -> None:
    policy = Policy("readOnly", roots=(tmp_path,))
    with pytest.raises(SandboxUnavailable, match="approve running the command without"):
        launchers.prepare("none", ["true"], policy=policy, dirs=dirs, cwd=tmp_path, secrets=[])


def test_full_access_runs_the_command_as_is(dirs: PrivateDirs, tmp_path: Path) -> None:
    policy = Policy("fullAccess", roots=(tmp_path,))
    prepared = launchers.prepare(
        "bwrap", ["true"], policy=policy, dirs=dirs, cwd=tmp_path, secrets=[]
    )
    assert prepared.argv == ["true"] and prepared.pass_fds == ()


def test_bwrap_line_isolates_and_protects(dirs: PrivateDirs, tmp_path: Path) -> None:
    (tmp_path / ".git" / "hooks").mkdir(parents=True)
    (tmp_path / ".git" / "config").write_text("")
    policy = Policy("workspaceWrite", roots=(tmp_path,))
    prepared = launchers.prepare(
        "bwrap", ["true"], policy=policy, dirs=dirs, cwd=tmp_path, secrets=[]
    )
    try:
        line = " ".join(prepared.argv)
        for flag in ("--unshare-net", "--unshare-pid", "--cap-drop ALL", "--die-with-parent"):
            assert flag in line
        assert f"--bind {tmp_path} {tmp_path}" in line
        assert f"--bind {tmp_path}/.git {tmp_path}/.git" in line  # pinned against rename
        assert f"--ro-bind {tmp_path}/.git/config {tmp_path}/.git/config" in line
        assert f"--ro-bind {dirs.empty} {tmp_path}/.vscode" in line  # kept from being created
        assert prepared.argv[-2:] == ["--", "true"]
        assert f"--seccomp {prepared.pass_fds[0]}" in line
    finally:
        for fd in prepared.pass_fds:
            os.close(fd)
        dirs.cleanup()


def test_seatbelt_line_uses_sandbox_exec(dirs: PrivateDirs, tmp_path: Path) -> None:
    policy = Policy("workspaceWrite", roots=(tmp_path,))
    prepared = launchers.prepare(
        "seatbelt", ["ls"], policy=policy, dirs=dirs, cwd=tmp_path, secrets=[]
    )
    assert prepared.argv[:2] == ["/usr/bin/sandbox-exec", "-p"]
    assert prepared.argv[-2:] == ["--", "ls"]
    assert prepared.inside.tmp == dirs.tmp
