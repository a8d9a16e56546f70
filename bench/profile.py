"""Profile Tether's server in one benchmark scenario, to find where a missed goal goes.

    .venv/bin/python -m bench.profile start      # spawn -> initialize
    .venv/bin/python -m bench.profile first      # spawn -> initialize -> a turn sent at once
    .venv/bin/python -m bench.profile stream     # one 2,000-delta turn (after a warm-up turn)
    .venv/bin/python -m bench.profile thread     # 200 short turns on one thread
    .venv/bin/python -m bench.profile sandbox    # run_command("true") bare and under bwrap
    .venv/bin/python -m bench.profile edits      # apply_patch + diff of 50 hunks, 10k lines

The server scenarios run `python -m bench.profiled_server FILE` (the server under cProfile,
which sees the main thread: the event loop and the agent, not the warm-up import thread; for turn
scenarios only after the warm-up turns, started by SIGUSR1),
end it cleanly with shutdown/exit so the profile is written, and print the top
functions by own time and by cumulative time. The in-process ones (sandbox, edits) profile
the library calls directly. `--top N` and `--save FILE` (pstats file, e.g. for snakeviz).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import os
import pstats
import random
import signal
import tempfile
import time
from pathlib import Path

from bench.servers import CACHE, SCRATCH, TetherSession, model_server
from bench.turns import LONG, SHORT


def _server(prof: Path, turns: list[dict[str, object]], count: int, warmup: int) -> None:
    ws = Path(tempfile.mkdtemp(prefix="bench-ws-", dir=SCRATCH))
    with model_server(turns) as url:
        module = ["-m", "bench.profiled_server", str(prof), "--on-signal"]
        session = TetherSession.start(url, ws, module=module)
        thread = session.start_thread(ws)
        for i in range(warmup + count):
            if i == warmup:
                time.sleep(1.0)  # let the background warm-up import finish first
                os.kill(session.rpc.pid, signal.SIGUSR1)
                time.sleep(0.1)
            t = session.run_turn(thread, f"turn {i}")
            if t.status != "completed":
                raise RuntimeError(f"turn ended {t.status}: {t.turn.get('error')}")
            session.rpc.trim()
        session.close()


def _start(prof: Path, turn: bool) -> None:
    """Spawn -> initialize (and with `turn`, one turn sent at once, as in row 1)."""
    ws = Path(tempfile.mkdtemp(prefix="bench-ws-", dir=SCRATCH))
    with model_server([SHORT]) as url:
        session = TetherSession.start(url, ws, module=["-m", "bench.profiled_server", str(prof)])
        if turn:
            session.run_turn(session.start_thread(ws), "Say something short.")
        session.close()


def _sandbox(prof: Path) -> None:
    from sandbox.launchers import detect_launcher
    from sandbox.policy import Policy
    from sandbox.run import run_command

    with tempfile.TemporaryDirectory(dir=SCRATCH) as tmp:
        root = Path(tmp)
        (root / ".git").mkdir()

        async def many() -> None:
            for policy, launcher in [
                (Policy("fullAccess", roots=(root,)), None),
                (Policy("workspaceWrite", roots=(root,)), detect_launcher()),
            ]:
                for _ in range(20):
                    await run_command(
                        "true",
                        cwd=root,
                        policy=policy,
                        env=dict(os.environ),
                        timeout_s=30,
                        output_cap_bytes=10_000,
                        launcher=launcher,
                    )

        profiler = cProfile.Profile()
        profiler.enable()
        asyncio.run(many())
        profiler.disable()
        profiler.dump_stats(prof)


def _edits(prof: Path) -> None:
    from bench.edits_bench import code_lines, patch_for, scatter_edits
    from server.edits.diff import compute_hunks, diff_file
    from server.edits.patch import apply_patch, parse_patch

    rng = random.Random(7)
    old_lines = code_lines(rng, 10_000)
    old = "\n".join(old_lines) + "\n"
    new = "\n".join(scatter_edits(rng, old_lines, 50)) + "\n"
    patch = patch_for([h.wire_lines() for h in compute_hunks(old, new)])
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(10):
        (edit,) = apply_patch(parse_patch(patch), {"big.py": old}.get)
        assert edit.new_text is not None
        diff_file("/w/big.py", old, edit.new_text)
    profiler.disable()
    profiler.dump_stats(prof)


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.profile",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "scenario", choices=["start", "first", "stream", "thread", "sandbox", "edits"]
    )
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--save", type=Path)
    args = parser.parse_args()
    prof = args.save or Path(tempfile.mktemp(prefix="tether-profile-", suffix=".prof", dir=CACHE))
    if args.scenario in ("start", "first"):
        _start(prof, turn=args.scenario == "first")
    elif args.scenario == "stream":
        _server(prof, [LONG] * 3, 1, 1)
    elif args.scenario == "thread":
        _server(prof, [SHORT] * 205, 200, 0)
    elif args.scenario == "sandbox":
        _sandbox(prof)
    else:
        _edits(prof)
    for key in ("tottime", "cumulative"):
        out = io.StringIO()
        stats = pstats.Stats(str(prof), stream=out)
        stats.strip_dirs().sort_stats(key).print_stats(args.top)
        text = out.getvalue()
        print(f"=== by {key} ===")
        print(text[text.find("   ncalls") :])
    print(f"profile saved: {prof}")


if __name__ == "__main__":
    main()
