"""Kills what a server's commands left running when the server itself dies, even by kill -9.

Sandboxed commands die with the server (bwrap's --die-with-parent, the Landlock helper's
parent-death signal), but an unsandboxed (fullAccess) command has nothing tying it to the
server. The watchdog is one small process per server: it holds the read end of a pipe whose
write end only the server has, so it sees end-of-file the moment the server is gone, however
it died; it then kills every member of the server's command cgroups and removes them.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import IO

# Runs with `python -I -c`: no site packages, no imports of ours, so it starts in milliseconds.
_WATCH = r"""
import os, signal, sys, time
from pathlib import Path
while os.read(0, 4096):
    pass
server = sys.argv[1]
for parent in sys.argv[2:]:
    for group in Path(parent).glob(f"tether-{server}-*"):
        try:
            (group / "cgroup.kill").write_text("1")
        except OSError:
            pass
        for _ in range(100):
            try:
                pids = [int(p) for p in (group / "cgroup.procs").read_text().split()]
            except OSError:
                break
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            try:
                group.rmdir()
                break
            except OSError:
                time.sleep(0.01)
"""

_pipe: IO[bytes] | None = None


def ensure_watchdog(cgroup_parents: list[Path]) -> None:
    """Start this process's watchdog once, for commands created under `cgroup_parents`."""
    global _pipe
    if _pipe is not None or not cgroup_parents:
        return
    process = subprocess.Popen(
        [sys.executable, "-I", "-c", _WATCH, str(os.getpid()), *map(str, cgroup_parents)],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # a terminal's Ctrl-C must not take the watchdog first
    )
    _pipe = process.stdin  # kept open, never written: its closing is the signal
