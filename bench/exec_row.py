"""Row 1, headless: `tether exec "hi"` against `codex exec "hi"`, process start to exit.

Both run one turn against the same scripted model server (a short reply) in a fresh home and
an empty workspace, and exit; the figure is the wall time of the whole process, as a user at a
terminal feels it. Runs alternate Tether, Codex, after one warm-up each.
"""

from __future__ import annotations

import subprocess
import tempfile
import time
from pathlib import Path

from bench.report import Row, median, paired_ratio, spread
from bench.servers import API_KEY, MODEL, PYTHON, ROOT, SCRATCH, clean_env, codex_binary


def _tether(base_url: str, ws: Path) -> float:
    home = tempfile.mkdtemp(prefix="tether-home-", dir=SCRATCH)
    env = {
        **clean_env(),
        "TETHER_HOME": home,
        "OPENAI_API_KEY": API_KEY,
        "OPENAI_BASE_URL": base_url,
        "TETHER_MODEL": MODEL,
        "TETHER_WIRE_API": "responses",
    }
    argv = [str(PYTHON), "-m", "server.cli", "exec", "--mode", "agent", "-C", str(ws), "hi"]
    return _timed(argv, env, ROOT)


def _codex(base_url: str, ws: Path, binary: Path) -> float:
    home = tempfile.mkdtemp(prefix="codex-home-", dir=SCRATCH)
    provider = (
        f'{{name="bench", base_url="{base_url}", wire_api="responses", env_key="BENCH_CODEX_KEY"}}'
    )
    argv = [
        str(binary), "exec", "--skip-git-repo-check", "-s", "workspace-write",
        "-c", 'model_provider="bench"',
        "-c", f"model_providers.bench={provider}",
        "-c", f'model="{MODEL}"',
        "hi",
    ]  # fmt: skip
    env = {**clean_env(), "CODEX_HOME": home, "BENCH_CODEX_KEY": API_KEY}
    return _timed(argv, env, ws)


def _timed(argv: list[str], env: dict[str, str], cwd: Path) -> float:
    start = time.perf_counter()
    proc = subprocess.run(
        argv, env=env, cwd=cwd, stdin=subprocess.DEVNULL, capture_output=True, timeout=120
    )
    took = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"{argv[0]} exec exited {proc.returncode}: {proc.stderr[-500:]!r}")
    return took


def exec_end_to_end(base_url: str, runs: int) -> Row:
    """`base_url`: a scripted model server with a short reply for each of 2 * (runs + 1)."""
    ws = Path(tempfile.mkdtemp(prefix="bench-ws-", dir=SCRATCH))
    binary = codex_binary()
    _tether(base_url, ws)
    if binary is not None:
        _codex(base_url, ws, binary)
    ours: list[float] = []
    theirs: list[float] = []
    for _ in range(runs):
        ours.append(_tether(base_url, ws) * 1000)
        if binary is not None:
            theirs.append(_codex(base_url, ws, binary) * 1000)
    why = "" if binary is not None else "; codex: not installed (bench/setup.sh)"
    return Row(
        "1 cold start",
        '`tether exec "hi"` end to end',
        "ms",
        median(ours),
        median(theirs) if theirs else None,
        paired_ratio(ours, theirs),
        "<= 1.0x",
        1.0,
        f"{runs} pairs, process start -> exit, vs `codex exec`; tether {spread(ours)}"
        + (f", codex {spread(theirs)}" if theirs else why),
    )
