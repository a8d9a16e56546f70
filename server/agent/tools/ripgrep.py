"""Running the ripgrep binary that the `ripgrep` wheel installs next to our Python."""

from __future__ import annotations

import asyncio
import shutil
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from server.agent.tools.base import ToolFailed

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


async def run_rg(args: list[str], *, cwd: Path) -> RgResult:
    """Run rg; its process is killed when the turn is interrupted or it runs too long."""
    proc = await asyncio.create_subprocess_exec(
        rg_path(),
        *args,
        cwd=cwd,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), RG_TIMEOUT_S)
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
