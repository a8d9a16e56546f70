"""Rows 2, 3 and 6: turns against the scripted model server, which answers instantly.

Each server gets its own model server process (so one's script never feeds the other) and
one thread. Turns alternate Tether, Codex, Tether, Codex... after warm-up turns, so a pair is
taken back to back under the same load.

- first delta: `turn/start` written -> first `item/agentMessage/delta` parsed (short reply);
- streaming: a 2,000-delta reply, `turn/start` -> `turn/completed`, and the server process's
  CPU time (utime+stime, /proc/<pid>/stat) over the turn divided by the deltas received;
- memory: VmRSS idle after `initialize` (and a few seconds' settling: Tether imports its model
  client in the background after `initialize`), then after a 200-turn thread.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from bench.report import Row, median, paired_ratio, spread
from bench.rpc import cpu_seconds, tree_rss_kib
from bench.servers import SCRATCH, Session, TurnTiming, codex_binary, model_server, start_session

SHORT = {"text": "Sure, here is a short answer to that.", "deltas": 8}
WORDS_2000 = "".join(f"w{i % 1000} " for i in range(2000))
LONG = {"text": WORDS_2000, "deltas": 2000}
SETTLE_S = 3.0


def kinds() -> list[str]:
    return ["tether", "codex"] if codex_binary() is not None else ["tether"]


@contextmanager
def sessions(turns: list[dict[str, Any]]) -> Iterator[dict[str, tuple[Session, str]]]:
    """A started session and a thread for each server, each on its own model server."""
    ws = Path(tempfile.mkdtemp(prefix="bench-ws-", dir=SCRATCH))
    with ExitStack() as stack:
        out: dict[str, tuple[Session, str]] = {}
        for kind in kinds():
            url = stack.enter_context(model_server(turns))
            session = start_session(kind, url, ws)
            stack.callback(session.close)
            out[kind] = (session, session.start_thread(ws))
        yield out


def _check(kind: str, t: TurnTiming, want_deltas: int | None = None) -> TurnTiming:
    if t.status != "completed":
        raise RuntimeError(f"{kind}: turn ended {t.status}: {t.turn.get('error')}")
    if want_deltas is not None and t.deltas != want_deltas:
        raise RuntimeError(f"{kind}: {t.deltas} deltas arrived, {want_deltas} sent")
    return t


def alternate(
    live: dict[str, tuple[Session, str]],
    warmup: int,
    runs: int,
    measure: Callable[[str, Session, str], float],
) -> dict[str, list[float]]:
    for _ in range(warmup):
        for kind, (session, thread) in live.items():
            measure(kind, session, thread)
    got: dict[str, list[float]] = {k: [] for k in live}
    for _ in range(runs):
        for kind, (session, thread) in live.items():
            got[kind].append(measure(kind, session, thread))
            session.rpc.trim()
    return got


def _codex_note(got: dict[str, list[float]]) -> str:
    return "" if "codex" in got else "; codex: not installed (bench/setup.sh)"


def first_delta(runs: int) -> Row:
    def measure(kind: str, session: Session, thread: str) -> float:
        t = _check(kind, session.run_turn(thread, "Say something short."), SHORT["deltas"])
        assert t.first_delta is not None
        return (t.first_delta - t.sent) * 1000

    with sessions([SHORT] * (runs + 10)) as live:
        got = alternate(live, 2, runs, measure)
    ours, theirs = got["tether"], got.get("codex", [])
    return Row(
        "2 first delta",
        "turn/start -> first agentMessage delta",
        "ms",
        median(ours),
        median(theirs) if theirs else None,
        paired_ratio(ours, theirs),
        "<= 1.0x",
        1.0,
        f"{runs} pairs after 2 warm-up turns; tether {spread(ours)}, codex {spread(theirs)}"
        + _codex_note(got),
    )


def streaming(runs: int) -> list[Row]:
    cpu_per_delta: dict[str, list[float]] = {}

    def measure(kind: str, session: Session, thread: str) -> float:
        before = cpu_seconds(session.rpc.pid)
        t = _check(kind, session.run_turn(thread, "Write a long answer."), LONG["deltas"])
        cpu = cpu_seconds(session.rpc.pid) - before
        cpu_per_delta.setdefault(kind, []).append(cpu / t.deltas * 1e6)
        return (t.completed - t.sent) * 1000

    with sessions([LONG] * (runs + 5)) as live:
        got = alternate(live, 1, runs, measure)
    ours, theirs = got["tether"], got.get("codex", [])
    # the warm-up turn's CPU sample is the first one of each kind
    c_ours = cpu_per_delta["tether"][1:]
    c_theirs = cpu_per_delta.get("codex", [])[1:]
    return [
        Row(
            "3 streaming",
            "2,000-delta reply: turn/start -> turn/completed",
            "ms",
            median(ours),
            median(theirs) if theirs else None,
            paired_ratio(ours, theirs),
            "<= 1.0x",
            1.0,
            f"{runs} pairs after 1 warm-up; tether {spread(ours)}, codex {spread(theirs)}"
            + _codex_note(got),
        ),
        Row(
            "3 streaming",
            "server CPU per delta",
            "us",
            median(c_ours),
            median(c_theirs) if c_theirs else None,
            paired_ratio(c_ours, c_theirs),
            "",
            None,
            "utime+stime of the server process over the turn / deltas; 10 ms clock ticks",
        ),
    ]


def memory(turns: int) -> list[Row]:
    idle: dict[str, tuple[int, int]] = {}
    after: dict[str, tuple[int, int]] = {}
    elapsed: dict[str, float] = {}
    per_turn: dict[str, list[float]] = {}
    with sessions([SHORT] * (turns + 5)) as live:
        time.sleep(SETTLE_S)
        for kind, (session, _thread) in live.items():
            idle[kind] = tree_rss_kib(session.rpc.pid)
        for kind, (session, thread) in live.items():
            started = time.perf_counter()
            for _ in range(turns):
                t = _check(kind, session.run_turn(thread, "Another short question, please."))
                per_turn.setdefault(kind, []).append((t.completed - t.sent) * 1000)
                session.rpc.trim()
            elapsed[kind] = time.perf_counter() - started
        time.sleep(1.0)
        for kind, (session, _thread) in live.items():
            after[kind] = tree_rss_kib(session.rpc.pid)

    def row(what: str, figures: dict[str, tuple[int, int]], note: str) -> Row:
        ours = figures["tether"][0] / 1024
        theirs = figures["codex"][0] / 1024 if "codex" in figures else None
        trees = ", ".join(f"{k} tree {v[1] / 1024:.0f} MiB" for k, v in figures.items())
        return Row(
            "6 memory",
            what,
            "MiB",
            ours,
            theirs,
            ours / theirs if theirs else None,
            "<= 1.0x",
            1.0,
            f"VmRSS of the server process, one sample; {trees}; {note}"
            + ("" if theirs else "; codex: not installed"),
        )

    took = ", ".join(f"{k} {v:.1f} s" for k, v in elapsed.items())
    ten = min(10, turns)
    first = {k: median(v[:ten]) for k, v in per_turn.items()}
    last = {k: median(v[-ten:]) for k, v in per_turn.items()}
    return [
        row("RSS idle after initialize", idle, f"after {SETTLE_S:.0f} s settling"),
        row(f"RSS after a {turns}-turn thread", after, f"{turns} turns took {took}"),
        Row(
            "6 memory",
            f"turn time at the end of that thread (last {ten} turns)",
            "ms",
            last["tether"],
            last.get("codex"),
            paired_ratio(per_turn["tether"][-ten:], per_turn.get("codex", [])[-ten:]),
            "",
            None,
            "turn/start -> turn/completed, 8-delta reply; first "
            + f"{ten} turns: "
            + ", ".join(f"{k} {v:.0f} ms" for k, v in first.items()),
        ),
    ]
