"""`python -m bench`: Tether against Codex app-server, side by side, one table.

    bench/setup.sh                 # once: installs @openai/codex into bench/node_modules
    .venv/bin/python -m bench      # about 5-10 minutes on 2 loaded cores
    .venv/bin/python -m bench --quick
    .venv/bin/python -m bench --only 1,3 --json out.json

Rows follow issue 8's Must list; bench/README.md says what each one measures. Figures are
medians over runs, ratios are Tether / Codex computed pair by pair; nothing here asserts.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from bench import (
    edits_row,
    exec_row,
    hazards_rss,
    launchers_row,
    mcp_row,
    sandbox_row,
    scale_row,
    search_row,
    startup,
    subagents_row,
    turns,
)
from bench.report import Row, load, machine, print_table
from bench.servers import codex_binary, codex_version, model_server, tether_revision


@dataclasses.dataclass(frozen=True)
class Plan:
    starts: int
    turns: int
    streams: int
    sandbox: int
    edits: int
    memory_turns: int
    searches: int


FULL = Plan(starts=9, turns=20, streams=7, sandbox=30, edits=15, memory_turns=200, searches=7)
QUICK = Plan(starts=3, turns=6, streams=3, sandbox=8, edits=5, memory_turns=200, searches=3)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="fewer runs per row (~3 minutes)")
    parser.add_argument("--only", default="", help="comma-separated row numbers, e.g. 1,2")
    parser.add_argument(
        "--json",
        type=Path,
        default=Path(__file__).resolve().parent / "results" / "latest.json",
        help="also write the rows as JSON here (default bench/results/latest.json, git-ignored)",
    )
    parser.add_argument("--no-imports", action="store_true", help="skip the -X importtime run")
    args = parser.parse_args(argv)
    plan = QUICK if args.quick else FULL
    only = {int(x) for x in args.only.split(",") if x.strip()} or set(range(1, 13))

    started = time.perf_counter()
    header = [
        "Tether vs Codex app-server (issue 8)",
        *machine(),
        f"codex: {codex_version()}"
        + ("" if codex_binary() else " (run bench/setup.sh to compare)"),
        f"tether: {tether_revision()}",
        f"load average at start: {load()}",
        f"plan: {'quick' if args.quick else 'full'} {dataclasses.asdict(plan)}",
    ]
    print("\n".join(header), flush=True)

    rows: list[Row] = []
    details: list[str] = []
    failures: list[str] = []

    def run(number: int, label: str, step: Callable[[], list[Row]]) -> None:
        if number not in only:
            return
        t0 = time.perf_counter()
        print(f"... row {number}: {label}", file=sys.stderr, flush=True)
        try:
            got = step()
        except Exception as error:  # a broken row is reported, the others still run
            traceback.print_exc()
            failures.append(f"row {number} ({label}) failed: {error!r}")
            return
        rows.extend(got)
        print(f"    {time.perf_counter() - t0:.0f} s, load {load()}", file=sys.stderr, flush=True)

    def cold() -> list[Row]:
        with model_server([turns.SHORT] * (4 * plan.starts + 12)) as url:
            got = startup.cold_start(url, plan.starts)
            got.append(exec_row.exec_end_to_end(url, plan.starts))
            if not args.no_imports:
                details.extend(startup.import_costs(url))
        return got

    run(1, "cold start", cold)
    run(2, "first delta", lambda: [turns.first_delta(plan.turns)])
    run(3, "streaming", lambda: turns.streaming(plan.streams))
    run(4, "sandbox", lambda: sandbox_row.sandbox_overhead(plan.sandbox))
    run(5, "edits", lambda: edits_row.edits(plan.edits))
    run(6, "memory", lambda: turns.memory(plan.memory_turns))
    run(7, "search", lambda: search_row.search(plan.searches))
    run(8, "launchers", lambda: launchers_row.launcher_overhead(plan.sandbox))
    run(9, "hazards RSS", hazards_rss.hazards_rss)
    run(10, "scale", lambda: scale_row.scale(plan.searches))

    def mcp() -> list[Row]:
        got = mcp_row.mcp_startup(plan.starts)
        details.extend(line for r in got for line in r.detail)
        return got

    run(11, "MCP start", mcp)
    run(12, "sub-agents", lambda: subagents_row.subagents_streaming(plan.streams))

    print()
    print_table(rows)
    for line in details:
        print(line)
    for line in failures:
        print(line)
    print(f"load average at end: {load()}; took {time.perf_counter() - started:.0f} s")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(
            json.dumps(
                {
                    "header": header,
                    "rows": [dataclasses.asdict(r) for r in rows],
                    "details": details,
                    "failures": failures,
                },
                indent=2,
            )
        )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
