"""Run `python -m server.cli <subcommand>` as a user's shell or a CI job would: a clean
environment (no OPENAI_* or TETHER_* leaking in from the developer's), its own TETHER_HOME."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def run_tether(
    subcommand: str,
    args: list[str],
    env: dict[str, str],
    cwd: Path,
    home: Path,
    stdin: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """The finished process; `stdin` is its whole input (none: /dev/null)."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "TETHER_"))}
    return subprocess.run(
        [sys.executable, "-m", "server.cli", subcommand, *args],
        cwd=cwd,
        text=True,
        capture_output=True,
        timeout=60,
        input=stdin,
        stdin=None if stdin is not None else subprocess.DEVNULL,
        env={**base, "TETHER_HOME": str(home), **env},
    )
