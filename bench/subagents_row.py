"""Row 12, sub-agents streaming (issue 23): does a turn whose three children stream at once cost
the server more CPU per delta than one thread streaming alone?

One Tether server, agent mode. Per run, alternating:
- single: a new thread, one turn whose reply is 6,000 deltas (as many as the three children
  send together, so both CPU figures span as many 10 ms clock ticks);
- three children: a new thread whose turn spawns three `explorer` children (one model call),
  then `wait_agents`; each child's reply is 2,000 deltas, streamed concurrently; then a short
  answer. 6,000+ deltas in all.

Figures: the server process's CPU (utime+stime) over the turn / deltas received (all threads),
for each, and their ratio; and both turns' wall time (turn/start -> turn/completed). The model
answers by what a request holds (a child's prompt, how many tool results the parent's has), as
children's requests arrive in no fixed order; it runs as its own process
(`bench/subagent_model.py`). Figures, never assertions.

    .venv/bin/python -m bench.subagents_row [--runs 5]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench.report import Row, median, print_table, spread
from bench.rpc import cpu_seconds
from bench.servers import DELTA, PYTHON, ROOT, SCRATCH, TetherSession, clean_env

CHILDREN = 3


@contextmanager
def subagent_model() -> Iterator[str]:
    proc = subprocess.Popen(
        [str(PYTHON), "-m", "bench.subagent_model"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env=clean_env(),
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        if not url.startswith("http://127.0.0.1"):
            raise RuntimeError(f"the sub-agent model server did not start (printed {url!r})")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _turn(session: TetherSession, workspace: Path, text: str) -> tuple[float, float, int]:
    """(CPU seconds, wall ms, deltas) of one turn on a new thread."""
    thread = session.start_thread(workspace)
    mark = session.rpc.mark()
    before = cpu_seconds(session.rpc.pid)
    t = session.run_turn(thread, text, timeout=300)
    cpu = cpu_seconds(session.rpc.pid) - before
    if t.status != "completed":
        raise RuntimeError(f"the {text} turn ended {t.status}: {t.turn.get('error')}")
    deltas = sum(1 for s in session.rpc.since(mark) if s.msg.get("method") == DELTA)
    session.rpc.trim()
    return cpu, (t.completed - t.sent) * 1000, deltas


def _streaming_us(
    session: TetherSession, workspace: Path, kind: str
) -> tuple[float, float, float, int]:
    """(CPU us per delta of the whole turn, CPU us per delta of the streaming alone, wall ms,
    deltas): the long turn, and the same turn with 8-delta replies subtracted."""
    cpu, ms, deltas = _turn(session, workspace, f"BENCH-{kind}")
    cpu_short, _ms, deltas_short = _turn(session, workspace, f"BENCH-{kind}-SHORT")
    marginal = (cpu - cpu_short) / max(deltas - deltas_short, 1) * 1e6
    return cpu / deltas * 1e6, marginal, ms, deltas


def subagents_streaming(runs: int) -> list[Row]:
    workspace = Path(SCRATCH) / "subagents-ws"
    workspace.mkdir(exist_ok=True)
    single_cpu: list[float] = []
    multi_cpu: list[float] = []
    single_stream: list[float] = []
    multi_stream: list[float] = []
    single_ms: list[float] = []
    multi_ms: list[float] = []
    counts: set[int] = set()
    with subagent_model() as url:
        session = TetherSession.start(url, workspace)
        try:
            _streaming_us(session, workspace, "SINGLE")  # warm-up: imports, first snapshot
            _streaming_us(session, workspace, "PARENT")
            for _ in range(runs):
                whole, stream, ms, _n = _streaming_us(session, workspace, "SINGLE")
                single_cpu.append(whole)
                single_stream.append(stream)
                single_ms.append(ms)
                whole, stream, ms, n = _streaming_us(session, workspace, "PARENT")
                multi_cpu.append(whole)
                multi_stream.append(stream)
                multi_ms.append(ms)
                counts.add(n)
        finally:
            session.close()
    ratios = [m / s for m, s in zip(multi_cpu, single_cpu, strict=True)]
    stream_ratios = [m / s for m, s in zip(multi_stream, single_stream, strict=True) if s > 0]
    note = f"{runs} pairs after 1 warm-up each; deltas per 3-child turn {sorted(counts)}"
    return [
        Row(
            "12 sub-agents",
            "server CPU per delta: 1 thread streaming",
            "us",
            median(single_cpu),
            note=f"{spread(single_cpu)}; 6,000 deltas; the streaming alone "
            f"{median(single_stream):.1f} us ({spread(single_stream)})",
        ),
        Row(
            "12 sub-agents",
            f"server CPU per delta: {CHILDREN} children streaming at once",
            "us",
            median(multi_cpu),
            goal="<= 1.2x one thread",
            goal_max_value=1.2 * median(single_cpu),
            note=f"{spread(multi_cpu)}; ratio to one thread per pair {median(ratios):.2f}x "
            f"({spread(ratios)}); the streaming alone (minus the same turn with 8-delta "
            f"replies: spawns, 6 model calls instead of 1) {median(multi_stream):.1f} us, "
            f"{median(stream_ratios) if stream_ratios else float('nan'):.2f}x; {note}",
        ),
        Row(
            "12 sub-agents",
            f"server CPU per delta, streaming alone: {CHILDREN} children / 1 thread",
            "x",
            median(stream_ratios) if stream_ratios else None,
            goal="<= 1.2x",
            goal_max_value=1.2,
            note=f"per pair ({spread(stream_ratios)}): each turn minus the same turn with "
            "8-delta replies, over the deltas in between",
        ),
        Row(
            "12 sub-agents",
            f"turn wall: 1 thread (6,000 deltas) vs {CHILDREN} children (2,000 each)",
            "ms",
            median(multi_ms),
            note=f"one thread {median(single_ms):.0f} ms ({spread(single_ms)}); "
            f"3 children {spread(multi_ms)}",
        ),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    print_table(subagents_streaming(args.runs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
