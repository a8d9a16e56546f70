"""Median overhead of running `true` under each sandbox launcher, against running it bare.

Usage: `.venv/bin/python bench/sandbox_bench.py [--runs N]`. Prints figures; asserts nothing.
"bare" is `bash -c true` through run_command with fullAccess (same process handling, no
sandbox), so the differences are the launchers' own cost; "raw spawn" is a plain subprocess.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from protocol.base import LauncherKind
from sandbox.launchers import available_launchers
from sandbox.policy import Policy
from sandbox.run import run_command


async def time_run(policy: Policy, launcher: LauncherKind | None, cwd: Path, runs: int) -> float:
    samples: list[float] = []
    for _ in range(runs):
        started = time.perf_counter()
        result = await run_command(
            "true",
            cwd=cwd,
            policy=policy,
            env=dict(os.environ),
            timeout_s=30,
            output_cap_bytes=10_000,
            on_output=None,
            launcher=launcher,
        )
        samples.append((time.perf_counter() - started) * 1000)
        if result.exit_code != 0:
            raise SystemExit(f"`true` failed under {launcher}: {result.output}")
    return statistics.median(samples)


def time_raw(runs: int) -> float:
    samples: list[float] = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(["bash", "-c", "true"], check=True)
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


async def main(runs: int) -> None:
    with tempfile.TemporaryDirectory(dir="/var/tmp") as tmp:
        root = Path(tmp)
        (root / ".git").mkdir()
        print(f"runs per row: {runs}; median wall time of `true` in ms")
        print(f"{'raw spawn (subprocess.run)':<34} {time_raw(runs):8.1f}")
        bare = await time_run(Policy("fullAccess", roots=(root,)), None, root, runs)
        print(f"{'bare (run_command, fullAccess)':<34} {bare:8.1f}")
        for launcher in available_launchers():
            for kind in ("readOnly", "workspaceWrite"):
                policy = Policy(kind, roots=(root,))
                median = await time_run(policy, launcher, root, runs)
                label = f"{launcher} {kind}"
                print(f"{label:<34} {median:8.1f}   overhead {median - bare:+7.1f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=30)
    asyncio.run(main(parser.parse_args().runs))
