"""Row 1, cold start: process spawn to the `initialize` result, and where Tether's time goes.

Each started server then runs one turn at once (thread/start, turn/start) and the time to its
first delta is kept: the first turn of a fresh process pays whatever start-up work was
deferred past `initialize`.

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
    first_delta_s: float  # of a turn started right after initialize and thread/start
    accepted_s: float  # that turn/start's result
    spawn_to_delta_s: float  # process spawn -> that turn's first delta: the cold first turn
    turn_cpu_s: float  # the server's CPU time when that turn has completed


def _sample(session: Session, ws: Path) -> StartSample:
    cpu = cpu_seconds(session.rpc.pid)
    wall = session.startup_s
    spawned = session.rpc.spawned_at
    try:
        turn = session.run_turn(session.start_thread(ws), "Say something short.")
        if turn.status != "completed" or turn.first_delta is None:
            raise RuntimeError(f"{session.name}: first turn ended {turn.status}")
        turn_cpu = cpu_seconds(session.rpc.pid)
    finally:
        session.close()
    return StartSample(
        wall,
        cpu,
        turn.first_delta - turn.sent,
        turn.accepted - turn.sent,
        turn.first_delta - spawned,
        turn_cpu,
    )


def cold_start(base_url: str, runs: int) -> list[Row]:
    """`base_url`: a scripted model server with a short reply for each of 2 * (runs + 1)."""
    ws = Path(tempfile.mkdtemp(prefix="bench-ws-", dir=SCRATCH))
    has_codex = codex_binary() is not None
    # Warm-up: page cache and .pyc files for both, not counted.
    _sample(TetherSession.start(base_url, ws), ws)
    if has_codex:
        _sample(CodexSession.start(base_url, ws), ws)
    ours: list[StartSample] = []
    theirs: list[StartSample] = []
    for _ in range(runs):
        ours.append(_sample(TetherSession.start(base_url, ws), ws))
        if has_codex:
            theirs.append(_sample(CodexSession.start(base_url, ws), ws))
    walls = [s.wall_s * 1000 for s in ours]
    cpus = [s.cpu_s * 1000 for s in ours]
    c_walls = [s.wall_s * 1000 for s in theirs]
    c_cpus = [s.cpu_s * 1000 for s in theirs]
    firsts = [s.first_delta_s * 1000 for s in ours]
    c_firsts = [s.first_delta_s * 1000 for s in theirs]
    colds = [s.spawn_to_delta_s * 1000 for s in ours]
    turn_cpus = [s.turn_cpu_s * 1000 for s in ours]
    c_turn_cpus = [s.turn_cpu_s * 1000 for s in theirs]
    c_colds = [s.spawn_to_delta_s * 1000 for s in theirs]
    accepted = median([s.accepted_s * 1000 for s in ours])
    c_accepted = median([s.accepted_s * 1000 for s in theirs]) if theirs else 0.0
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
        Row(
            "1 cold start",
            "first delta of a turn sent right after start",
            "ms",
            median(firsts),
            median(c_firsts) if theirs else None,
            paired_ratio(firsts, c_firsts),
            "(what a user typing at once feels)",
            None,
            f"thread/start + turn/start as soon as initialize answers; the turn/start result "
            f"itself took {accepted:.0f} ms"
            + (f" (codex {c_accepted:.0f} ms)" if theirs else "")
            + f"; tether {spread(firsts)}"
            + (f", codex {spread(c_firsts)}" if theirs else why),
        ),
        Row(
            "1 cold start",
            "cold first turn: spawn -> first delta",
            "ms",
            median(colds),
            median(c_colds) if theirs else None,
            paired_ratio(colds, c_colds),
            "<= 1.0x",
            1.0,
            "spawn, initialize, thread/start, turn/start, first item/agentMessage/delta; "
            f"tether {spread(colds)}" + (f", codex {spread(c_colds)}" if theirs else why),
        ),
        Row(
            "1 cold start",
            "server CPU by the end of that first turn",
            "ms",
            median(turn_cpus),
            median(c_turn_cpus) if theirs else None,
            paired_ratio(turn_cpus, c_turn_cpus),
            "(load-proof view)",
            None,
            "utime+stime of the server process (all threads) once turn/completed arrives",
        ),
    ]


IMPORT_LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)")


def _parse(text: str) -> list[tuple[int, int, str]]:
    entries: list[tuple[int, int, str]] = []
    for line in text.splitlines():
        m = IMPORT_LINE.match(line)
        if m:
            entries.append((int(m.group(1)), int(m.group(2)), m.group(4)))
    return entries


def _summary(title: str, entries: list[tuple[int, int, str]], top: int) -> list[str]:
    total = sum(e[0] for e in entries) / 1000
    lines = [f"  {title}: {len(entries)} modules, {total:.0f} ms self time in all"]
    roots: dict[str, int] = {}
    for own, _cum, name in entries:
        roots[name.split(".")[0]] = roots.get(name.split(".")[0], 0) + own
    packages = sorted(roots.items(), key=lambda kv: -kv[1])[:top]
    lines.append(
        "    by top-level package: " + ", ".join(f"{n} {us / 1000:.0f}" for n, us in packages)
    )
    lines.append("    single modules, self ms (cumulative ms):")
    for own, cum, name in sorted(entries, key=lambda e: -e[0])[:top]:
        lines.append(f"      {own / 1000:7.1f} ({cum / 1000:7.1f})  {name}")
    return lines


def import_costs(base_url: str, top: int = 12) -> list[str]:
    """Run Tether once under `-X importtime`: the costliest imports before `initialize`
    answered, and those after it until the first turn completed (deferred work)."""
    ws = Path(tempfile.mkdtemp(prefix="bench-ws-", dir=SCRATCH))
    session = TetherSession.start(base_url, ws, python_flags=["-X", "importtime"])
    wall = session.startup_s
    log = session.home / "stderr.log"
    before = _parse(log.read_text(errors="replace"))  # the result has just arrived
    try:
        turn = session.run_turn(session.start_thread(ws), "Say something short.")
        first = (turn.first_delta or turn.completed) - turn.sent
    finally:
        session.close()
    after = _parse(log.read_text(errors="replace"))[len(before) :]
    return [
        f"Tether under -X importtime (which inflates import time): initialize answered after "
        f"{wall * 1000:.0f} ms; a turn started then had its first delta "
        f"{first * 1000:.0f} ms later",
        *_summary("imported before the initialize result", before, top),
        *_summary("imported after it, by the end of the first turn", after, top),
    ]
