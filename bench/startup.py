"""Row 1, cold start: process spawn to the `initialize` result, and where Tether's time goes.

Runs alternate Tether, Codex, Tether, Codex... so each pair sees the same load. Besides wall
time, the server's own CPU time at the moment `initialize` answers (utime+stime from /proc)
is kept: on a loaded 2-core machine it is the steadier figure. `-X importtime` is then run
once to list the imports that cost the most.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from bench.report import Row, median, paired_ratio, spread
from bench.rpc import cpu_seconds
from bench.servers import SCRATCH, CodexSession, Session, TetherSession, codex_binary


@dataclass
class StartSample:
    wall_s: float
    cpu_s: float


def _sample(session: Session) -> StartSample:
    cpu = cpu_seconds(session.rpc.pid)
    wall = session.startup_s
    session.close()
    return StartSample(wall, cpu)


def cold_start(base_url: str, runs: int) -> list[Row]:
    ws = Path(tempfile.mkdtemp(prefix="bench-ws-", dir=SCRATCH))
    has_codex = codex_binary() is not None
    # Warm-up: page cache and .pyc files for both, not counted.
    _sample(TetherSession.start(base_url, ws))
    if has_codex:
        _sample(CodexSession.start(base_url, ws))
    ours: list[StartSample] = []
    theirs: list[StartSample] = []
    for _ in range(runs):
        ours.append(_sample(TetherSession.start(base_url, ws)))
        if has_codex:
            theirs.append(_sample(CodexSession.start(base_url, ws)))
    walls = [s.wall_s * 1000 for s in ours]
    cpus = [s.cpu_s * 1000 for s in ours]
    c_walls = [s.wall_s * 1000 for s in theirs]
    c_cpus = [s.cpu_s * 1000 for s in theirs]
    why = "" if has_codex else "; codex: not installed (bench/setup.sh)"
    return [
        Row(
            "1 cold start",
            "spawn -> initialize result (wall)",
            "ms",
            median(walls),
            median(c_walls) if theirs else None,
            paired_ratio(walls, c_walls),
            "<= 1.0x",
            1.0,
            f"{runs} pairs; tether {spread(walls)}, codex {spread(c_walls)}{why}",
        ),
        Row(
            "1 cold start",
            "server CPU until initialize result",
            "ms",
            median(cpus),
            median(c_cpus) if theirs else None,
            paired_ratio(cpus, c_cpus),
            "(load-proof view)",
            None,
            "utime+stime of the server process (all threads) when the result arrives",
        ),
    ]


IMPORT_LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)")


def import_costs(base_url: str, top: int = 15) -> list[str]:
    """Run Tether once under `-X importtime`; the costliest imports up to `initialize`."""
    ws = Path(tempfile.mkdtemp(prefix="bench-ws-", dir=SCRATCH))
    session = TetherSession.start(base_url, ws, python_flags=["-X", "importtime"])
    wall = session.startup_s
    log = session.home / "stderr.log"
    # Read before closing: imports after the result (the warm-up thread) come later.
    text = log.read_text(errors="replace")
    session.close()
    entries: list[tuple[int, int, int, str]] = []
    for line in text.splitlines():
        m = IMPORT_LINE.match(line)
        if m:
            depth = len(m.group(3)) // 2
            entries.append((int(m.group(1)), int(m.group(2)), depth, m.group(4)))
    total = sum(e[0] for e in entries) / 1000
    lines = [
        f"Tether imports under -X importtime (this run: initialize after {wall * 1000:.0f} ms, "
        f"{len(entries)} modules, {total:.0f} ms of import time in all, "
        "which -X importtime itself inflates):",
        "  top-level packages by cumulative ms:",
    ]
    roots: dict[str, int] = {}
    for own, _cum, _depth, name in entries:
        root = name.split(".")[0]
        roots[root] = roots.get(root, 0) + own
    for name, us in sorted(roots.items(), key=lambda kv: -kv[1])[:top]:
        lines.append(f"    {us / 1000:8.1f} ms  {name}")
    lines.append("  single modules by self ms:")
    for own, cum, _depth, name in sorted(entries, key=lambda e: -e[0])[:top]:
        lines.append(f"    {own / 1000:8.1f} ms self  {cum / 1000:8.1f} ms cumulative  {name}")
    return lines
