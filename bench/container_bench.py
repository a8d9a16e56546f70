"""Median cost of running `true` through the podman executor against bwrap (issue 24).

Usage: `.venv/bin/python bench/container_bench.py [--runs N] [--image IMAGE]`, as root with
Podman set up (scripts/setup-podman.sh). Prints figures; asserts nothing. Every cell goes through
an `Executor.run` under the same workspaceWrite policy:

- "local, bwrap": `LocalExecutor` (today's path: `sandbox.run.run_command` under bwrap);
- "podman exec, warm": `PodmanExecutor` with the thread's container already running, so each
  command costs `podman exec` plus the kill sweep after it;
- "podman, first command": a new executor each time, so the container is made first (what the
  first command of a thread pays), and removed after.

Without --image the test image is built from this host's packages (`tests.containers.image`).

Measured 2026-12-04 on the 2-core CI-class VM (root, runc, cgroupfs, busy neighbours), 15 runs:
local bwrap 114 ms median; podman exec into the warm container 420 ms (3.7x); a thread's first
command, container made and removed, 662 ms (5.8x). Before the command and its leftover sweep
shared one `podman exec`, the warm cell was 1240 ms: each `podman exec` costs ~300-500 ms here
(the CLI's start, conmon and `runc exec`), which is the floor of this executor.
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
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sandbox.containers import ContainerConfig, podman_global_argv
from sandbox.executor import CommandRequest, Executor, LocalExecutor
from sandbox.podman import PodmanExecutor
from sandbox.policy import Policy


async def once(executor: Executor, request: CommandRequest) -> float:
    started = time.perf_counter()
    result = await executor.run(request)
    if result.exit_code != 0:
        raise SystemExit(f"`true` failed in {executor.kind}: {result.output}")
    return (time.perf_counter() - started) * 1000


async def bench(image: str, runs: int) -> list[tuple[str, float, float]]:
    with tempfile.TemporaryDirectory(prefix="tether-bench-") as scratch:
        workspace = Path(scratch)
        subprocess.run(["git", "init", "-q", scratch], check=True)
        policy = Policy(kind="workspaceWrite", roots=(workspace,))
        request = CommandRequest("true", workspace, policy, dict(os.environ), 60, 10_000)
        config = ContainerConfig(kind="podman", image=image)
        rows: list[tuple[str, list[float]]] = []
        local = LocalExecutor()
        await once(local, request)  # warm-up
        rows.append(("local, bwrap", [await once(local, request) for _ in range(runs)]))
        warm = PodmanExecutor(config, f"thr_bench_{uuid.uuid4().hex[:8]}")
        await once(warm, request)  # makes the container
        rows.append(("podman exec, warm", [await once(warm, request) for _ in range(runs)]))
        await warm.close()
        cold: list[float] = []
        for _ in range(max(3, runs // 4)):
            fresh = PodmanExecutor(config, f"thr_bench_{uuid.uuid4().hex[:8]}")
            cold.append(await once(fresh, request))
            await fresh.close()
        rows.append(("podman, first command", cold))
    return [(name, statistics.median(s), min(s)) for name, s in rows]


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--image", default=None)
    args = parser.parse_args()
    image = args.image
    if image is None:
        from tests.containers.image import ensure_image

        image = ensure_image(podman_global_argv(ContainerConfig()))
    rows = asyncio.run(bench(image, args.runs))
    base = rows[0][1]
    print(f"`true` through an Executor, {args.runs} runs (image {image})")
    print(f"{'cell':<24}{'median ms':>10}{'min ms':>9}{'x bwrap':>9}")
    for name, median, least in rows:
        print(f"{name:<24}{median:>10.1f}{least:>9.1f}{median / base:>9.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
