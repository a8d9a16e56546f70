"""Private directories and cgroups left behind by a killed server are swept by the next one."""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

import pytest

from sandbox import cgroup, layout
from sandbox.layout import PrivateDirs


def dead_pid() -> int:
    done = subprocess.Popen(["true"])
    done.wait()
    return done.pid


def test_stale_private_dirs_are_swept_live_ones_kept() -> None:
    stale = Path(tempfile.mkdtemp(prefix=f"{layout.PREFIX}{dead_pid()}-"))
    (stale / "tmp").mkdir()
    live = PrivateDirs.create()
    try:
        layout.sweep_stale_dirs.cache_clear()
        layout.sweep_stale_dirs()
        assert not stale.exists()
        assert live.tmp.is_dir()
    finally:
        live.cleanup()


def test_private_dirs_are_removed_with_their_contents() -> None:
    dirs = PrivateDirs.create()
    assert dirs.base.name.startswith(f"{layout.PREFIX}{os.getpid()}-")
    (dirs.tmp / "deep" / "er").mkdir(parents=True)
    (dirs.tmp / "deep" / "er" / "f").write_text("x")
    dirs.cleanup()
    assert not dirs.base.exists()


def test_stale_empty_cgroups_are_swept() -> None:
    probe = cgroup.CommandCgroup.create(4)
    if probe is None:
        pytest.skip("no writable pids cgroup here")
    parent = probe.path.parent
    probe.remove()
    stale = parent / f"tether-{dead_pid()}-deadbeef"
    stale.mkdir()
    cgroup._sweep_stale.cache_clear()  # pyright: ignore[reportPrivateUsage]
    fresh = cgroup.CommandCgroup.create(4)
    assert fresh is not None
    fresh.remove()
    assert not stale.exists()
