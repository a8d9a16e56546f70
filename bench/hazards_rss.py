"""Row 9, memory through the hazard battery (issue 14): the server's peak RSS (VmHWM) while one
Tether process meets, in one thread, everything tests/robustness/test_workspace_hazards.py
throws at it one test at a time:

- `read_file` on a FIFO, a Unix socket, a 2 GB sparse file of zeros and a 2 GB file with
  10,000 lines of text before its hole (the first 2,000 lines, then a window near the end);
- a command that leaves a FIFO, symlinks to it and to /dev/zero, a 10 GB sparse file, a name
  that is not UTF-8 and a symlink loop;
- a command that leaves 100,000 empty files (both snapshots, the checkpoint, the turn diff).

Figures, not assertions: the goal (< 300 MiB) is printed as met or MISSED.
"""

from __future__ import annotations

import os
import socket
import tempfile
from pathlib import Path
from typing import Any

from bench.report import Row
from bench.servers import SCRATCH, TetherSession, model_server

GB = 1 << 30
GOAL_MIB = 300.0
MANY_FILES = 100_000
LEFTOVERS = (
    "mkfifo p && ln -s p lp && ln -s /dev/zero z && truncate -s 10G huge.bin"
    " && touch \"$(printf 'bad\\377name')\" && mkdir -p d/e && ln -s ../.. d/e/up"
)
MANY = (
    "python3 -c \"import os; os.mkdir('many'); "
    f"[os.close(os.open(f'many/f{{i}}', os.O_CREAT | os.O_WRONLY)) for i in range({MANY_FILES})]\""
)


def _workspace() -> tuple[Path, socket.socket]:
    ws = Path(tempfile.mkdtemp(prefix="hazards-", dir=SCRATCH))
    os.mkfifo(ws / "pipe")
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(ws / "sock"))
    with (ws / "zeros.bin").open("wb") as f:
        f.truncate(2 * GB)
    with (ws / "big.log").open("wb") as f:
        f.write("".join(f"line {n}\n" for n in range(1, 10_001)).encode())
        f.truncate(2 * GB)
    return ws, listener


def _script() -> list[dict[str, Any]]:
    reads = [
        {"name": "read_file", "arguments": {"path": name}}
        for name in ("pipe", "sock", "zeros.bin", "big.log")
    ]
    reads.append({"name": "read_file", "arguments": {"path": "big.log", "start_line": 9990}})
    done = {"text": "Done.", "deltas": 2}
    return [
        {"tool_calls": reads},
        done,
        {"tool_calls": [{"name": "shell", "arguments": {"command": LEFTOVERS}}]},
        done,
        {"tool_calls": [{"name": "shell", "arguments": {"command": MANY}}]},
        done,
    ]


def _kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} for process {pid}")


def hazards_rss() -> list[Row]:
    ws, listener = _workspace()
    steps: list[str] = []
    try:
        with model_server(_script()) as url:
            session = TetherSession.start(url, ws)
            try:
                thread = session.start_thread(ws)
                for step in ("special and huge reads", "command leftovers", "100,000 files"):
                    timing = session.run_turn(thread, step, timeout=600)
                    if timing.status != "completed":
                        raise RuntimeError(f"the {step} turn ended {timing.status}")
                    rss = _kib(session.rpc.pid, "VmRSS") / 1024
                    took = timing.completed - timing.sent
                    steps.append(f"{step}: {took:.1f} s, RSS after {rss:.0f} MiB")
                peak = _kib(session.rpc.pid, "VmHWM") / 1024
            finally:
                session.close()
    finally:
        listener.close()
    return [
        Row(
            key="9 hazards RSS",
            what="peak RSS through FIFO/socket/sparse reads, command leftovers, 100k files",
            unit="MiB",
            tether=round(peak, 1),
            goal=f"< {GOAL_MIB:.0f} MiB",
            goal_max_value=GOAL_MIB,
            note="; ".join(steps),
        )
    ]


if __name__ == "__main__":
    for row in hazards_rss():
        print(row.key, row.tether, row.unit, row.verdict, "-", row.note)
