"""Narrows the Landlock window: protected entries are put back while the command still runs.

Under Landlock a command can write .git/config and a program outside the sandbox (the editor's
`git status`) could read it before the command ends. `GuardWatch` watches the recorded protected
entries and their directories with inotify and, on any change, has the guard put them back at
once (after a few milliseconds, so a burst of writes costs one restore). What is left: the time
between the write and the restore, milliseconds; protected entries that did not exist (created
mid-command, e.g. by `git init`, they are removed only when it ends); and new nested repositories,
which only the final walk of `Guard.restore` finds. Linux only; without inotify it does nothing.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import select
import sys
import threading
from pathlib import Path

from sandbox.guard import Guard

_IN_NONBLOCK = os.O_NONBLOCK
_IN_CLOEXEC = os.O_CLOEXEC
# MODIFY, ATTRIB, CLOSE_WRITE, MOVED_FROM, MOVED_TO, CREATE, DELETE, DELETE_SELF, MOVE_SELF
_MASK = 0x002 | 0x004 | 0x008 | 0x040 | 0x080 | 0x100 | 0x200 | 0x400 | 0x800
_SETTLE_S = 0.005


class GuardWatch:
    def __init__(self, guard: Guard) -> None:
        self.guard = guard
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._fd = -1

    def start(self) -> None:
        if sys.platform != "linux" or not self.guard.points:
            return
        libc = ctypes.CDLL(None, use_errno=True)
        self._fd = libc.inotify_init1(_IN_NONBLOCK | _IN_CLOEXEC)
        if self._fd < 0:
            return
        for directory in self._watched():
            libc.inotify_add_watch(self._fd, os.fsencode(directory), _MASK)
        self._thread = threading.Thread(target=self._run, name="guard-watch", daemon=True)
        self._thread.start()

    def _watched(self) -> set[Path]:
        """Each protected entry's parent, and every directory recorded inside an entry."""
        found: set[Path] = set()
        for point, (_root, tree) in self.guard.points.items():
            found.add(point.parent)
            for relative, node in (tree or {}).items():
                if node.kind == "dir":
                    found.add(point / relative if relative else point)
        return {d for d in found if d.is_dir() and not d.is_symlink()}

    def _run(self) -> None:
        while not self._stop.is_set():
            ready, _, _ = select.select([self._fd], [], [], 0.1)
            if not ready:
                continue
            self._stop.wait(_SETTLE_S)
            with contextlib.suppress(BlockingIOError, OSError):
                while os.read(self._fd, 65536):
                    pass
            restored: list[str] = []
            with contextlib.suppress(OSError):
                self.guard.restore_points(restored, [], existing_only=True)
            self.guard.early += [f"{line} (while it ran)" for line in restored]

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if self._fd >= 0:
            os.close(self._fd)
