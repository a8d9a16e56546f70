"""Row 10, commands in big workspaces (issue 25): does a command cost more with more files?

- per command: one agent-mode turn in which the scripted model runs `COMMAND` 8 times, one
  command per model call, then answers; the figure is (turn/start -> turn/completed) / 8.
  The command writes a file and removes it: it runs in the workspace-write sandbox, so Tether
  records it between two looks at the tree (`true` would run read-only, and Tether tracks no
  read-only command). Tether runs `shell`, Codex `exec_command` (its workspace-write
  sandbox). Each server gets a thread on a generated tree of 100, 20,000, 100,000 and 300,000
  files (50 per directory, three levels deep, made once under /var/tmp and kept), and one
  warm-up turn first (Tether's first snapshot of the tree, Codex's first turn), then the
  server's process tree is let settle (Tether's reading process reads the tree's contents
  after its first snapshot).
- first snapshot: in a fresh process, `CheckpointStore.snapshot` of the 300,000-file tree
  (what the first command of a thread waits for at most), the time until the background
  reading of its contents ends, the growth of the process's peak RSS over both, and the
  reading process's own peak (VmHWM).

    .venv/bin/python -m bench.scale_row [--runs 3] [--sizes 100,20000] [--trees /var/tmp/x-]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import subprocess
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from bench.report import Row, median, paired_ratio, print_table, spread
from bench.rpc import cpu_seconds, descendants
from bench.servers import CACHE, PYTHON, ROOT, Session, model_server, start_session
from bench.turns import kinds

SIZES = (100, 20_000, 100_000, 300_000)
COMMANDS = 8
COMMAND = "printf 'ok\\n' > bench-out.txt && rm bench-out.txt"
PER_DIR = 50
TREES = str(CACHE / "tether-bench-scale-")


def tree(files: int, prefix: str = TREES) -> Path:
    """`files` small Python files, 50 per directory, src/pkgNNN/subNN/ (made once)."""
    root = Path(f"{prefix}{files}")
    done = root / ".complete"
    if done.exists():
        return root
    root.mkdir(parents=True, exist_ok=True)
    for i in range(files):
        d = root / "src" / f"pkg{i // (PER_DIR * 20):03d}" / f"sub{(i // PER_DIR) % 20:02d}"
        if i % PER_DIR == 0:
            d.mkdir(parents=True, exist_ok=True)
        (d / f"mod{i}.py").write_text(f"def f{i}(x):\n    return x * {i % 97}\n")
    done.write_text("ok\n")
    return root


def _script(kind: str, turns: int) -> list[dict[str, Any]]:
    name, key = ("shell", "command") if kind == "tether" else ("exec_command", "cmd")
    one = [{"tool_calls": [{"name": name, "arguments": {key: COMMAND}}]}] * COMMANDS
    return [*one, {"text": "Done.", "deltas": 2}] * turns


def _tree_cpu(pid: int) -> float:
    total = 0.0
    for p in descendants(pid):
        with contextlib.suppress(OSError, ValueError):
            total += cpu_seconds(p)
    return total


def _settle(session: Session, quiet_s: float = 1.0, limit_s: float = 600.0) -> None:
    """Wait until the server and its children use no CPU for `quiet_s` (Tether's reading
    process done)."""
    pid = session.rpc.pid
    deadline = time.monotonic() + limit_s
    last = _tree_cpu(pid)
    while time.monotonic() < deadline:
        time.sleep(quiet_s)
        now = _tree_cpu(pid)
        if now - last < 0.05 * quiet_s:
            return
        last = now


def _commands_ok(session: Session, start: int, kind: str) -> None:
    done = [
        s.msg["params"]["item"]
        for s in session.rpc.since(start)
        if s.msg.get("method") == "item/completed"
        and s.msg["params"]["item"]["type"] == "commandExecution"
    ]
    if len(done) != COMMANDS or any(i.get("exitCode") != 0 for i in done):
        raise RuntimeError(f"{kind}: expected {COMMANDS} commands exiting 0: {str(done)[:400]}")


def per_command(files: int, runs: int, prefix: str = TREES) -> Row:
    root = tree(files, prefix)
    got: dict[str, list[float]] = {k: [] for k in kinds()}
    first: dict[str, float] = {}
    with ExitStack() as stack:
        live: dict[str, tuple[Session, str]] = {}
        for kind in kinds():
            url = stack.enter_context(model_server(_script(kind, runs + 1)))
            session = start_session(kind, url, root)
            stack.callback(session.close)
            live[kind] = (session, session.start_thread(root))
        for i in range(runs + 1):  # the first is the warm-up
            for kind, (session, thread) in live.items():
                start = session.rpc.mark()
                t = session.run_turn(thread, "Run true 8 times.", timeout=600)
                if t.status != "completed":
                    raise RuntimeError(f"{kind}: turn ended {t.status}: {t.turn.get('error')}")
                _commands_ok(session, start, kind)
                if i:
                    got[kind].append((t.completed - t.sent) * 1000 / COMMANDS)
                else:
                    first[kind] = (t.completed - t.sent) * 1000 / COMMANDS
                    _settle(session)
                session.rpc.trim()
    ours, theirs = got["tether"], got.get("codex", [])
    return Row(
        "10 scale",
        f"per command, {files:,} files ({COMMANDS} write+rm in one turn)",
        "ms",
        median(ours),
        median(theirs) if theirs else None,
        paired_ratio(ours, theirs),
        "<= 1.0x Codex; <= 1.2x at 100 files",
        1.0,
        f"{runs} turns each; tether {spread(ours)}, codex {spread(theirs)}; first turn "
        + ", ".join(f"{k} {v:.0f}" for k, v in first.items())
        + ("" if theirs else "; codex: not installed (bench/setup.sh)"),
    )


_FIRST = """
import json, resource, shutil, subprocess, sys, tempfile, threading, time
from pathlib import Path
from server.edits.checkpoints import CheckpointStore
root = Path(sys.argv[1])
store = CheckpointStore(Path(tempfile.mkdtemp(prefix="tether-bench-first-", dir="/var/tmp")))
rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
peak = [0]
def watch_reader():  # the reading process's VmHWM, last seen
    while True:
        pids = subprocess.run(["pgrep", "-f", "server.edits.hydrate " + str(root)],
                              capture_output=True, text=True).stdout.split()
        for pid in pids:
            try:
                for line in open(f"/proc/{pid}/status"):
                    if line.startswith("VmHWM:"):
                        peak[0] = max(peak[0], int(line.split()[1]))
            except OSError:
                pass
        time.sleep(0.5)
threading.Thread(target=watch_reader, daemon=True).start()
t0 = time.perf_counter()
store.snapshot(root)
t1 = time.perf_counter()
rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
store.wait_read(root, 3600)
t2 = time.perf_counter()
rss2 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
files = len(store.snapshot(root).entries)
store.close()
shutil.rmtree(store.state_dir, ignore_errors=True)  # its pack holds the whole tree
print(json.dumps({"snapshot_s": t1 - t0, "read_s": t2 - t0, "files": files,
                  "rss_snapshot_mib": (rss1 - rss0) / 1024, "rss_read_mib": (rss2 - rss0) / 1024,
                  "reader_hwm_mib": peak[0] / 1024}))
"""


def first_snapshot(files: int, prefix: str = TREES) -> list[Row]:
    root = tree(files, prefix)
    out = subprocess.run(
        [str(PYTHON), "-c", _FIRST, str(root)], cwd=ROOT, capture_output=True, text=True
    )
    if out.returncode:
        raise RuntimeError(f"first snapshot failed: {out.stderr[-2000:]}")
    got = json.loads(out.stdout.strip().splitlines()[-1])
    return [
        Row(
            "10 scale",
            f"first snapshot of {files:,} files (stat only; the first command waits at most this)",
            "ms",
            got["snapshot_s"] * 1000,
            None,
            None,
            "does not delay the first turn",
            None,
            f"{got['files']:,} files; contents then read in the background: "
            f"{got['read_s']:.1f} s in all",
        ),
        Row(
            "10 scale",
            f"first snapshot of {files:,} files: peak RSS growth",
            "MiB",
            got["rss_read_mib"],
            None,
            None,
            "<= 100 MiB",
            None,
            f"after the stat walk {got['rss_snapshot_mib']:.0f} MiB; after reading contents "
            f"{got['rss_read_mib']:.0f} MiB; the reading process's own peak "
            f"{got['reader_hwm_mib']:.0f} MiB",
            goal_max_value=100.0,
        ),
    ]


def scale(runs: int, sizes: tuple[int, ...] = SIZES, prefix: str = TREES) -> list[Row]:
    rows = [per_command(files, runs, prefix) for files in sizes]
    return rows + first_snapshot(max(sizes), prefix)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.scale_row", description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)))
    parser.add_argument("--trees", default=TREES, help="path prefix of the generated trees")
    args = parser.parse_args()
    sizes = tuple(int(s) for s in args.sizes.split(","))
    print_table(scale(args.runs, sizes, args.trees))


if __name__ == "__main__":
    main()
