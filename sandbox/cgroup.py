"""A pids cgroup per command: caps its process count and lets us kill every process in it.

RLIMIT_NPROC does not bind root, and a process that calls setsid() leaves its process group, so
neither contains a fork bomb here. A cgroup does both: `pids.max` refuses forks past the cap, and
`cgroup.procs` lists every member to kill. The command joins the cgroup itself, before it execs
anything, through `join_prefix` (so nothing forks before it is counted). Works with the cgroup v1
pids controller and with cgroup v2 where the pids controller is delegated; None otherwise.
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


@dataclass(frozen=True)
class PidsCgroup:
    path: Path

    @classmethod
    def create(cls, max_pids: int) -> PidsCgroup | None:
        parent = _parent_dir()
        if parent is None:
            return None
        path = parent / f"tether-{uuid.uuid4().hex[:12]}"
        try:
            path.mkdir()
        except OSError:
            return None
        try:
            (path / "pids.max").write_text(str(max_pids))
        except OSError:
            path.rmdir()
            return None
        return cls(path)

    def join_prefix(self) -> list[str]:
        """argv prefix that moves the process into this cgroup, then execs the rest."""
        script = 'echo $$ > "$0" && exec "$@"'
        return ["/bin/sh", "-c", script, str(self.path / "cgroup.procs")]

    def pids(self) -> list[int]:
        try:
            text = (self.path / "cgroup.procs").read_text()
        except OSError:
            return []
        return [int(line) for line in text.split()]

    def peak(self) -> int | None:
        try:
            return int((self.path / "pids.peak").read_text())
        except (OSError, ValueError):
            return None

    def kill_all(self, deadline_s: float = 2.0) -> bool:
        """SIGKILL every member until none is left; True when the cgroup emptied in time."""
        with contextlib.suppress(OSError):
            (self.path / "pids.max").write_text("0")  # no new forks while we sweep
        _try_cgroup_kill(self.path)
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
        for _ in range(200):
            try:
                self.path.rmdir()
                return
            except FileNotFoundError:
                return
            except OSError:
                time.sleep(0.005)  # dying members still count for a moment


def _try_cgroup_kill(path: Path) -> bool:
    try:
        (path / "cgroup.kill").write_text("1")
    except OSError:
        return False
    return True


@cache
def _parent_dir() -> Path | None:
    """Our own pids cgroup directory, when we may create children in it."""
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        hierarchy, controllers, relative = line.split(":", 2)
        if "pids" in controllers.split(","):
            candidate = Path("/sys/fs/cgroup/pids") / relative.lstrip("/")
            return candidate if os.access(candidate, os.W_OK) else None
        if hierarchy == "0" and controllers == "":
            candidate = Path("/sys/fs/cgroup") / relative.lstrip("/")
            if "pids" in _read_words(candidate / "cgroup.subtree_control"):
                return candidate if os.access(candidate, os.W_OK) else None
    return None


def _read_words(path: Path) -> list[str]:
    try:
        return path.read_text().split()
    except OSError:
        return []
