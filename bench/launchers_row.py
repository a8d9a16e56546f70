"""Row 8, launchers: `true` in workspace-write under each launcher that works here, as root or
as whoever runs the bench, against the same call unsandboxed.

Tether alone (Codex has no Landlock-only mode to set against it). Each sample is one
`sandbox.run.run_command` of `true`, runs alternate between the launchers and the bare call, and
the overhead is the median of the launcher's samples minus the bare median. The figure includes
`sandbox.guard` (recording and checking the protected entries of a small workspace) and, under
Landlock, the helper's confinement and its subreaper sweep.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from pathlib import Path

from bench.report import Row, median, spread
from bench.sandbox_bench import time_run
from bench.servers import SCRATCH
from protocol.base import LauncherKind
from sandbox.launchers import available_launchers
from sandbox.policy import Policy


def launcher_overhead(runs: int) -> list[Row]:
    launchers: list[LauncherKind] = available_launchers()
    who = "root" if os.geteuid() == 0 else "a normal user"
    with tempfile.TemporaryDirectory(dir=SCRATCH) as tmp:
        root = Path(tmp) / "ws"
        (root / ".git" / "hooks").mkdir(parents=True)
        (root / ".git" / "config").write_text("[core]\n\tbare = false\n")
        write = Policy("workspaceWrite", roots=(root,))
        bare = Policy("fullAccess", roots=(root,))
        samples: dict[str, list[float]] = {name: [] for name in [*launchers, "bare"]}
        for i in range(runs + 2):  # the first two are warm-up
            for name in launchers:
                ms = asyncio.run(time_run(write, name, root, 1))
                if i >= 2:
                    samples[name].append(ms)
            ms = asyncio.run(time_run(bare, None, root, 1))
            if i >= 2:
                samples["bare"].append(ms)
    base = median(samples["bare"])
    return [
        Row(
            "8 launchers",
            f"`true` overhead under {name} (workspace-write, as {who}) over fullAccess",
            "ms",
            median(samples[name]) - base,
            note=f"{runs} runs; {name} {spread(samples[name])}, bare {spread(samples['bare'])}",
        )
        for name in launchers
    ]
