"""Row 11, MCP start-up (issue 18): does `thread/start` wait for MCP servers?

Each server under test gets a fresh home whose config.toml has either no MCP server or three
(the same `[mcp_servers.<name>]` text for Tether and Codex, whose keys Tether reads): two real
stdio servers that answer (`mcp-server-time` from PyPI and the test suite's `basic.py`, both on
the repository's Python) and one that never answers its `initialize`
(`bench/hung_mcp_server.py`), each with `startup_timeout_sec = 10`. Per run and server: spawn,
`initialize`, then the figures:

- `thread/start` written -> its result parsed (the first thread of the process, so it pays any
  MCP work done when a thread opens);
- then one short turn, `turn/start` -> `turn/completed` (with the hung server still starting);
- `thread/start` -> both answering servers `ready` (Tether's `mcpServer/statusChanged`, Codex's
  `mcpServer/startupStatus/updated`); a run where one failed (Codex: its start-up timeout) has
  no figure, and the note says in how many runs both got ready.

Runs alternate none/three and Tether/Codex. Tether sandboxes the stdio servers (its default
workspace-write launcher); Codex runs them unsandboxed. Figures, never assertions.

    .venv/bin/python -m bench.mcp_row [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.report import Row, median, paired_ratio, print_table, spread
from bench.servers import BENCH, PYTHON, ROOT, SCRATCH, Session, model_server, start_session
from bench.turns import SHORT, kinds

ANSWERING = ("time", "basic")
STARTUP_TIMEOUT_S = 10


def three_servers() -> str:
    """config.toml text with the two answering servers and the hung one."""
    servers = {
        "time": [str(PYTHON), "-m", "mcp_server_time"],
        "basic": [str(PYTHON), str(ROOT / "tests" / "mcp" / "servers" / "basic.py")],
        "hung": [str(PYTHON), str(BENCH / "hung_mcp_server.py")],
    }
    blocks = [
        f"[mcp_servers.{name}]\ncommand = {json.dumps(argv[0])}\nargs = {json.dumps(argv[1:])}\n"
        f"startup_timeout_sec = {STARTUP_TIMEOUT_S}\n"
        for name, argv in servers.items()
    ]
    return "\n".join(blocks)


def _server_status(kind: str, msg: dict[str, Any]) -> tuple[str, str] | None:
    """(name, status) from a server's MCP status notification: Tether's
    `mcpServer/statusChanged {server}`, Codex's `mcpServer/startupStatus/updated {name, status}`."""
    method, params = msg.get("method"), msg.get("params") or {}
    if kind == "tether" and method == "mcpServer/statusChanged":
        return params["server"]["name"], params["server"]["status"]
    if kind == "codex" and method == "mcpServer/startupStatus/updated":
        return params["name"], params["status"]
    return None


def _ready_s(
    kind: str, session: Session, sent_at: float, mark: int, timeout_s: float = 60.0
) -> float | None:
    """Seconds from thread/start until every answering server said `ready`; None when one
    failed (Codex: its start-up timeout) or the wait ran out."""
    ready: set[str] = set()
    deadline = time.monotonic() + timeout_s
    last = sent_at
    while ready != set(ANSWERING) and time.monotonic() < deadline:
        for s in session.rpc.since(mark):
            got = _server_status(kind, s.msg)
            if got is None or got[0] not in ANSWERING:
                continue
            if got[1] == "failed":
                return None
            if got[1] == "ready" and got[0] not in ready:
                ready.add(got[0])
                last = s.at
        time.sleep(0.02)
    return last - sent_at if ready == set(ANSWERING) else None


def _sample(kind: str, url: str, ws: Path, config: str) -> tuple[float, float, float | None]:
    session = start_session(kind, url, ws, config)
    try:
        mark = session.rpc.mark()
        params: dict[str, str] = {"cwd": str(ws), "mode": "agent"}
        if kind == "codex":  # as CodexSession.start_thread
            params = {"cwd": str(ws), "approvalPolicy": "never", "sandbox": "workspace-write"}
        rid, sent = session.rpc.request("thread/start", params)
        got = session.rpc.result_of(rid, timeout=120)
        thread_id = got.msg["result"]["thread"]["id"]
        start_s = got.at - sent
        turn = session.run_turn(thread_id, "Say something short.")
        if turn.status != "completed":
            raise RuntimeError(f"{kind}: the turn ended {turn.status}")
        ready = _ready_s(kind, session, sent, mark) if config else None
        return start_s, turn.completed - turn.sent, ready
    finally:
        session.close()


def mcp_startup(runs: int) -> list[Row]:
    ws = Path(tempfile.mkdtemp(prefix="bench-mcp-ws-", dir=SCRATCH))
    configs = {"none": "", "three": three_servers()}
    names = kinds()
    starts: dict[tuple[str, str], list[float]] = {(k, c): [] for k in names for c in configs}
    turns: dict[tuple[str, str], list[float]] = {(k, c): [] for k in names for c in configs}
    ready: dict[str, list[float]] = {k: [] for k in names}
    with model_server([SHORT] * (len(names) * len(configs) * (runs + 1) + 4)) as url:
        for i in range(runs + 1):  # the first round warms the page cache and .pyc files
            for kind in names:
                for config, text in configs.items():
                    start_s, turn_s, ready_s = _sample(kind, url, ws, text)
                    if i == 0:
                        continue
                    starts[kind, config].append(start_s * 1000)
                    turns[kind, config].append(turn_s * 1000)
                    if ready_s is not None:
                        ready[kind].append(ready_s * 1000)
    has_codex = "codex" in names
    why = "" if has_codex else "; codex: not installed (bench/setup.sh)"

    def row(what: str, data: dict[tuple[str, str], list[float]], config: str) -> Row:
        ours, theirs = data["tether", config], data.get(("codex", config), [])
        return Row(
            "11 MCP start",
            what,
            "ms",
            median(ours),
            median(theirs) if theirs else None,
            paired_ratio(ours, theirs),
            note=f"{runs} runs; tether {spread(ours)}, codex {spread(theirs)}{why}",
        )

    def versus(kind: str) -> str:
        ratio = paired_ratio(starts[kind, "three"], starts[kind, "none"])
        shown = f"{ratio:.2f}x" if ratio is not None else "-"
        return f"11 MCP start: {kind} thread/start with 3 servers (1 hung) / without: {shown}"

    detail = [versus(kind) for kind in names]
    for kind in names:
        got = ready[kind]
        shown = f"{median(got):.0f} ms ({spread(got)})" if got else "-"
        detail.append(
            f"11 MCP start: {kind}, thread/start -> both answering servers ready: {shown}, "
            f"in {len(got)} of {runs} runs (the others: one failed or timed out)"
        )
    rows = [
        row("thread/start, no MCP server", starts, "none"),
        row("thread/start, 3 MCP servers (1 hung)", starts, "three"),
        row("first turn, no MCP server", turns, "none"),
        row("first turn, 3 MCP servers (1 hung)", turns, "three"),
    ]
    rows[-1].detail = detail
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.mcp_row",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    rows = mcp_startup(args.runs)
    print_table(rows)
    for r in rows:
        for line in r.detail:
            print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
