"""Row 4, sandbox overhead per command: `true` under each product's workspace-write sandbox.

Tether: `sandbox.run.run_command` with the launcher the server would pick (`detect_launcher`),
exactly as bench/sandbox_bench.py times it; its "bare" is the same call with fullAccess (no
launcher), so the difference is the launcher's own cost. Codex: `codex sandbox -c
sandbox_mode="workspace-write" -- true` (the CLI runs bwrap, which runs its own binary again
as `codex-linux-sandbox` to apply seccomp/Landlock, which runs the command); its "bare" is a
plain spawn of `true`. So Codex's figure also carries one start of its (native, ~static)
binary that its app-server would not pay per command: treat its overhead as an upper bound.
Runs alternate Tether, Codex, and each sample is one command.
"""

from __future__ import annotations

import asyncio
import subprocess
import tempfile
import time
from pathlib import Path

from bench.report import Row, median, paired_ratio, spread
from bench.sandbox_bench import time_run
from bench.servers import SCRATCH, clean_env, codex_binary
from sandbox.launchers import detect_launcher
from sandbox.policy import Policy


def _spawn_ms(argv: list[str], env: dict[str, str], cwd: Path) -> float:
    started = time.perf_counter()
    subprocess.run(argv, check=True, env=env, cwd=cwd, stdout=subprocess.DEVNULL)
    return (time.perf_counter() - started) * 1000


def sandbox_overhead(runs: int) -> list[Row]:
    launcher = detect_launcher()
    binary = codex_binary()
    with tempfile.TemporaryDirectory(dir=SCRATCH) as tmp:
        root = Path(tmp) / "ws"
        (root / ".git").mkdir(parents=True)
        codex_home = Path(tmp) / "codex-home"
        codex_home.mkdir()
        env = {**clean_env(), "CODEX_HOME": str(codex_home)}
        write = Policy("workspaceWrite", roots=(root,))
        bare = Policy("fullAccess", roots=(root,))
        codex_argv = [
            str(binary),
            "sandbox",
            "-c",
            'sandbox_mode="workspace-write"',
            "--",
            "true",
        ]

        async def once_ours(policy: Policy, name: str | None) -> float:
            return await time_run(policy, name, root, 1)  # type: ignore[arg-type]

        ours, ours_bare, theirs, theirs_bare = [], [], [], []
        for i in range(runs + 2):  # the first two are warm-up
            o = asyncio.run(once_ours(write, None if launcher == "none" else launcher))
            ob = asyncio.run(once_ours(bare, None))
            t = tb = 0.0
            if binary is not None:
                t = _spawn_ms(codex_argv, env, root)
                tb = _spawn_ms(["true"], env, root)
            if i < 2:
                continue
            ours.append(o)
            ours_bare.append(ob)
            if binary is not None:
                theirs.append(t)
                theirs_bare.append(tb)

    over_ours = [a - b for a, b in zip(ours, ours_bare, strict=True)]
    over_theirs = [a - b for a, b in zip(theirs, theirs_bare, strict=True)]
    why = "" if binary else "; codex: not installed (bench/setup.sh)"
    return [
        Row(
            "4 sandbox",
            f"`true` in workspace-write sandbox (tether: {launcher})",
            "ms",
            median(ours),
            median(theirs) if theirs else None,
            paired_ratio(ours, theirs),
            "",
            None,
            f"{runs} pairs; tether {spread(ours)}, codex {spread(theirs)} "
            "(codex: whole `codex sandbox` CLI process)" + why,
        ),
        Row(
            "4 sandbox",
            "overhead over bare (tether: run_command fullAccess; codex: spawn `true`)",
            "ms",
            median(over_ours),
            median(over_theirs) if over_theirs else None,
            (median(over_ours) / median(over_theirs))
            if over_theirs and median(over_theirs) > 0
            else None,
            "",
            None,
            f"bare medians: tether {median(ours_bare):.1f} ms, "
            + (f"codex {median(theirs_bare):.1f} ms" if theirs_bare else "codex -")
            + "; ratio of medians (differences of noisy pairs are not paired)",
        ),
    ]
