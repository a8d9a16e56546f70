"""Commands running at once in one repository share the placeholders bwrap stands over missing
protected entries (`.git/commondir`, `.git/config.worktree`): each one starts, and the last to
end removes them. Eight at once once failed seven of eight with "Can't mkdir
.git/config.worktree: Not a directory" (an empty directory was mounted over the first command's
placeholder file)."""

from __future__ import annotations

import asyncio
import os
import subprocess
from pathlib import Path

from protocol.base import LauncherKind
from sandbox.policy import Policy
from sandbox.run import run_command


async def _eight_at_once(root: Path, launcher: LauncherKind) -> list[int]:
    policy = Policy("workspaceWrite", roots=(root,))
    results = await asyncio.gather(
        *[
            run_command(
                f"echo {i} > f{i}.txt && git status --short >/dev/null",
                cwd=root,
                policy=policy,
                env=dict(os.environ),
                timeout_s=120,
                output_cap_bytes=10_000,
                launcher=launcher,
            )
            for i in range(8)
        ]
    )
    return [r.exit_code for r in results]


def test_eight_commands_at_once_in_one_repository(workspace: Path, launcher: LauncherKind) -> None:
    subprocess.run(["git", "init", "-q", str(workspace)], check=True)
    before = sorted(p.name for p in (workspace / ".git").iterdir())
    for _ in range(3):
        assert asyncio.run(_eight_at_once(workspace, launcher)) == [0] * 8
    assert sorted(p.name for p in (workspace / ".git").iterdir()) == before  # no placeholder left
    assert sorted(p.name for p in workspace.glob("f*.txt")) == [f"f{i}.txt" for i in range(8)]
