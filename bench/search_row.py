"""Row 7, search over a large tree: 50,000 small generated files (made once, kept in /var/tmp).

- raw rg: the `rg` our wheel installs (.venv/bin/rg), with the exact flags the `search` tool
  passes, on the same tree: the floor.
- Tether: a turn in which the scripted model calls `search` for a pattern found in 20 files,
  then answers; the figure is the toolCall item, `item/started` -> `item/completed` as the
  client sees them, and the whole turn is kept too.
- Codex has no search tool: its model runs `rg` through `exec_command` (in its
  workspace-write sandbox, as it would); the figure is its commandExecution item, started ->
  completed, with Codex's own bundled rg.
"""

from __future__ import annotations

import subprocess
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from bench.report import Row, median, paired_ratio, spread
from bench.servers import CACHE, ROOT, Session, model_server, start_session
from bench.turns import kinds
from server.agent.tools.search import RG_FLAGS

FILES = 50_000
PER_DIR = 100
NEEDLE = "needle_marker_7"
TREE = CACHE / f"tether-bench-tree-{FILES}-v1"


def tree() -> Path:
    """The generated tree, made on first use (a marker file says it is complete)."""
    done = TREE / ".complete"
    if done.exists():
        return TREE
    TREE.mkdir(parents=True, exist_ok=True)
    for i in range(FILES):
        d = TREE / f"pkg{i // PER_DIR:03d}"
        if i % PER_DIR == 0:
            d.mkdir(exist_ok=True)
        needle = f"    marker = '{NEEDLE}'\n" if i % (FILES // 20) == 7 else ""
        (d / f"mod{i}.py").write_text(
            f'"""Module {i}."""\n\n\ndef f{i}(x):\n    y = x * {i % 97}\n{needle}'
            f"    return y + {i % 13}\n\n\nclass C{i}:\n    value = {i}\n"
        )
    done.write_text("ok\n")
    return TREE


def raw_rg(root: Path, runs: int) -> list[float]:
    rg = ROOT / ".venv" / "bin" / "rg"
    out: list[float] = []
    for _ in range(runs):
        started = time.perf_counter()
        proc = subprocess.run(
            [str(rg), *RG_FLAGS, "-e", NEEDLE, "--", str(root)],
            cwd=root,
            capture_output=True,
            check=False,
        )
        took = (time.perf_counter() - started) * 1000
        found = proc.stdout.count(b"\n")
        if found != 20:
            raise RuntimeError(f"raw rg found {found} lines, expected 20")
        out.append(took)
    return out


def _script(kind: str, turns: int) -> list[dict[str, Any]]:
    if kind == "tether":
        call = {"name": "search", "arguments": {"pattern": NEEDLE}}
    else:
        call = {"name": "exec_command", "arguments": {"cmd": f"rg -n {NEEDLE} ."}}
    return [{"tool_calls": [call]}, {"text": "Found them.", "deltas": 3}] * turns


def _tool_item_ms(session: Session, start: int, kind: str) -> float:
    item_type = "toolCall" if kind == "tether" else "commandExecution"
    started: dict[str, float] = {}
    for s in session.rpc.since(start):
        method = s.msg.get("method")
        if method not in ("item/started", "item/completed"):
            continue
        item = s.msg["params"]["item"]
        if item["type"] != item_type:
            continue
        if method == "item/started":
            started[item["id"]] = s.at
        elif item["id"] in started:
            ok = item.get("status") == "completed"
            if kind == "codex":  # its output carries the matches: 20 lines, plus the command
                ok = ok and item.get("exitCode") == 0 and str(item).count(NEEDLE) > 20
            if not ok:
                raise RuntimeError(f"{kind}: the search item did not succeed: {str(item)[:500]}")
            return (s.at - started[item["id"]]) * 1000
    raise RuntimeError(f"{kind}: no {item_type} item in the turn")


def search(runs: int) -> list[Row]:
    root = tree()
    rg: list[float] = []
    item_ms: dict[str, list[float]] = {k: [] for k in kinds()}
    turn_ms: dict[str, list[float]] = {k: [] for k in kinds()}
    with ExitStack() as stack:
        live: dict[str, tuple[Session, str]] = {}
        for kind in kinds():
            url = stack.enter_context(model_server(_script(kind, runs + 3)))
            session = start_session(kind, url, root)
            stack.callback(session.close)
            live[kind] = (session, session.start_thread(root))
        for i in range(runs + 1):  # the first is warm-up (page cache, rg's first start)
            took = raw_rg(root, 1)  # in the same round as the turns, so under the same load
            if i:
                rg.extend(took)
            for kind, (session, thread) in live.items():
                start = session.rpc.mark()
                t = session.run_turn(thread, f"Where is {NEEDLE} set?")
                if t.status != "completed":
                    raise RuntimeError(f"{kind}: search turn ended {t.status}")
                if i:
                    item_ms[kind].append(_tool_item_ms(session, start, kind))
                    turn_ms[kind].append((t.completed - t.sent) * 1000)
                session.rpc.trim()
    ours, theirs = item_ms["tether"], item_ms.get("codex", [])
    t_ours, t_theirs = turn_ms["tether"], turn_ms.get("codex", [])
    why = "" if theirs else "; codex: not installed (bench/setup.sh)"
    return [
        Row(
            "7 search",
            f"search tool over {FILES:,} files (item started -> completed)",
            "ms",
            median(ours),
            median(theirs) if theirs else None,
            paired_ratio(ours, theirs),
            "",
            None,
            f"{runs} pairs; vs raw rg {paired_ratio(ours, rg) or 0:.2f}x (paired); "
            f"tether {spread(ours)}, "
            f"codex (exec_command `rg`, sandboxed) {spread(theirs)}{why}",
        ),
        Row(
            "7 search",
            "raw rg, same flags, same tree (the floor)",
            "ms",
            median(rg),
            None,
            None,
            "",
            None,
            f"{runs} runs of .venv/bin/rg, one per round of turns; {spread(rg)}",
        ),
        Row(
            "7 search",
            "whole turn: search call + 3-delta answer",
            "ms",
            median(t_ours),
            median(t_theirs) if t_theirs else None,
            paired_ratio(t_ours, t_theirs),
            "",
            None,
            "turn/start -> turn/completed, two model requests",
        ),
    ]
