"""Running the ripgrep binary that the `ripgrep` wheel installs next to our Python.

The binary is trusted only where no command can have written it. When it lies inside a
workspace root (Tether's own virtual environment inside the folder the user opened), a sandboxed
command may have replaced it; bwrap keeps it read-only, but Landlock grants the roots whole and
`sandbox.guard` cannot put back a 5 MB file. So there it runs like a command, under the read-only
sandbox: a replaced `rg` can then read what a search may read anyway, and nothing more.
"""

from __future__ import annotations

import asyncio
import os
import shlex
import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from protocol.base import LauncherKind
from sandbox.policy import Policy
from sandbox.run import SandboxError, run_command
from server.agent.errors import ToolFailed

RG_TIMEOUT_S = 30.0
RG_OUTPUT_CAP = 4_000_000


@cache
def rg_path() -> str:
    beside = Path(sys.executable).parent / "rg"
    found = str(beside) if beside.exists() else shutil.which("rg")
    if found is None:
        raise ToolFailed("ripgrep (rg) is not installed; reinstall Tether's Python package.")
    return found


@dataclass
class RgResult:
    returncode: int
    stdout: str
    stderr: str


def rg_inside(roots: Sequence[Path]) -> bool:
    """Whether the rg binary lies in a workspace root, where a command could have replaced it."""
    real = Path(os.path.realpath(rg_path()))
    return any(real.is_relative_to(os.path.realpath(root)) for root in roots)


async def run_rg(
    args: list[str],
    *,
    cwd: Path,
    confined: tuple[Policy, LauncherKind] | None = None,
    stdin: bytes | None = None,
) -> RgResult:
    """Run rg; its process is killed when the turn is interrupted or it runs too long.

    `confined` (a read-only policy and its launcher) runs it in the OS sandbox instead;
    `stdin`: text for rg to search as `-` (an editor's buffer; never confined)."""
    if confined is not None:
        return await _run_confined(args, cwd=cwd, policy=confined[0], launcher=confined[1])
    proc = await asyncio.create_subprocess_exec(
        rg_path(),
        *args,
        cwd=cwd,
        stdin=asyncio.subprocess.DEVNULL if stdin is None else asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(stdin), RG_TIMEOUT_S)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise ToolFailed(
            f"The search took longer than {RG_TIMEOUT_S:.0f} s; narrow the path or the pattern."
        ) from None
    except asyncio.CancelledError:
        proc.kill()
        await proc.wait()
        raise
    if proc.returncode not in (0, 1):
        raise ToolFailed(f"ripgrep failed: {err.decode(errors='replace').strip()[:500]}")
    return RgResult(
        proc.returncode or 0,
        out[:RG_OUTPUT_CAP].decode(errors="replace"),
        err.decode(errors="replace"),
    )


async def _run_confined(
    args: list[str], *, cwd: Path, policy: Policy, launcher: LauncherKind
) -> RgResult:
    # One output stream in the sandbox: --no-messages keeps rg's warnings out of the matches.
    command = shlex.join([rg_path(), "--no-messages", *args])
    try:
        result = await run_command(
            command,
            cwd=cwd,
            policy=policy,
            env=os.environ,
            timeout_s=RG_TIMEOUT_S,
            output_cap_bytes=RG_OUTPUT_CAP,
            launcher=launcher,
        )
    except SandboxError as exc:
        raise ToolFailed(f"The search could not start in the sandbox: {exc}") from None
    if result.timed_out:
        raise ToolFailed(
            f"The search took longer than {RG_TIMEOUT_S:.0f} s; narrow the path or the pattern."
        )
    if result.exit_code not in (0, 1):
        raise ToolFailed(f"ripgrep failed (exit {result.exit_code}): {result.output[-500:]}")
    return RgResult(result.exit_code, result.output, "")
