"""Cgroups per command: cap its process count (and, if asked, its memory) and find every member.

RLIMIT_NPROC does not bind root, and a process that calls setsid() leaves its process group, so
neither contains a fork bomb here. A pids cgroup does both: `pids.max` refuses forks past the
cap, and `cgroup.procs` lists every member to kill. A memory cgroup, when the policy sets a
limit, makes the kernel kill the command rather than let it exhaust the machine. The command
joins the cgroups itself, before it execs anything, through `join_prefix` (so nothing forks
before it is counted). Works with cgroup v1 controllers and with cgroup v2 where the controller
is delegated to us; `create` returns None when no pids cgroup can be made.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
import uuid
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from sandbox.layout import pid_alive
from sandbox.watchdog import ensure_watchdog

# controller -> (v1 limit file, v2 limit file)
_LIMIT_FILES = {"pids": ("pids.max", "pids.max"), "memory": ("memory.limit_in_bytes", "memory.max")}


@dataclass(frozen=True)
class CommandCgroup:
    path: Path  # the pids cgroup: membership, counting and killing go through it
    memory: Path | None = None

    @classmethod
    def create(cls, max_pids: int, max_memory_bytes: int | None = None) -> CommandCgroup | None:
        path = _make_child("pids", max_pids)
        if path is None:
            return None
        memory = _make_child("memory", max_memory_bytes) if max_memory_bytes else None
        ensure_watchdog([p.parent for p in (path, memory) if p is not None])
        return cls(path, memory)

    def join_prefix(self) -> list[str]:
        """argv prefix that moves the process into these cgroups, then execs the rest."""
        files = [str(d / "cgroup.procs") for d in (self.path, self.memory) if d is not None]
        joins = " && ".join(f'echo $$ > "${index}"' for index in range(len(files)))
        script = f'{joins} && shift {len(files) - 1} && exec "$@"'
        return ["/bin/sh", "-c", script, *files]

    def pids(self) -> list[int]:
        try:
            text = (self.path / "cgroup.procs").read_text()
        except OSError:
            return []
        return [int(line) for line in text.split()]

    def kill_all(self, deadline_s: float = 2.0) -> bool:
        """SIGKILL every member until none is left; True when the cgroup emptied in time."""
        with contextlib.suppress(OSError):
            (self.path / "pids.max").write_text("0")  # no new forks while we sweep
        with contextlib.suppress(OSError):
            (self.path / "cgroup.kill").write_text("1")  # v2 only: the kernel does it at once
        end = time.monotonic() + deadline_s
        while True:
            members = self.pids()
            if not members:
                return True
            for pid in members:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            if time.monotonic() > end:
                return False
            time.sleep(0.005)

    def remove(self) -> None:
        for path in (self.path, self.memory):
            if path is not None:
                _remove(path)


def _make_child(controller: str, limit: int) -> Path | None:
    parent = _parent_dir(controller)
    if parent is None:
        return None
    _sweep_stale(parent)
    path = parent / f"tether-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    try:
        path.mkdir()
    except OSError:
        return None
    v1_file, v2_file = _LIMIT_FILES[controller]
    limit_file = path / v1_file if (path / v1_file).exists() else path / v2_file
    try:
        limit_file.write_text(str(limit))
    except OSError:
        path.rmdir()
        return None
    if controller == "memory":
        # v1 counts swap separately; without this the command could swap instead of dying.
        with contextlib.suppress(OSError):
            (path / "memory.memsw.limit_in_bytes").write_text(str(limit))
    return path


@cache
def _sweep_stale(parent: Path) -> None:
    """Remove empty cgroups a killed server left behind (once per process and controller)."""
    for entry in parent.glob("tether-*-*"):
        owner = entry.name.split("-")[1]
        if owner.isdigit() and not pid_alive(int(owner)):
            with contextlib.suppress(OSError):
                entry.rmdir()  # fails while members remain: then they are still running


def _remove(path: Path) -> None:
    for _ in range(200):
        try:
            path.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError:
            time.sleep(0.005)  # dying members still count for a moment


@cache
def _parent_dir(controller: str) -> Path | None:
    """Our own cgroup directory for `controller`, when we may create children in it."""
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        hierarchy, controllers, relative = line.split(":", 2)
        if controller in controllers.split(","):
            candidate = Path("/sys/fs/cgroup") / controller / relative.lstrip("/")
            return candidate if os.access(candidate, os.W_OK) else None
        if hierarchy == "0" and controllers == "":
            candidate = Path("/sys/fs/cgroup") / relative.lstrip("/")
            if controller in _read_words(candidate / "cgroup.subtree_control"):
                return candidate if os.access(candidate, os.W_OK) else None
    return None


def _read_words(path: Path) -> list[str]:
    try:
        return path.read_text().split()
    except OSError:
        return []
