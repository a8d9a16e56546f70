"""Row 5, edits: the same inputs as bench/edits_bench.py (whose generators this reuses).

- A 50-hunk `apply_patch` to a 10,000-line file on disk. Tether: read, parse, apply, diff
  (the hunks and unified text a fileChange item carries) and write, in process, as the server
  does it. Codex: its own apply_patch engine, `codex --codex-run-as-apply-patch PATCH` (the
  entry its agent uses), on an identical file; that is a process, so its figure has the
  binary's start-up subtracted (the median of the same call applying a 1-line patch to a
  1-line file), and says so.
- Diff and apply 50 hunks in memory (compute_hunks + apply_hunks), Tether only.
- The aggregated unified diff of 200 changed files (what `turn/diff/updated` carries).
  Codex computes its turn diff inside the app-server with no entry point to call alone.
"""

from __future__ import annotations

import random
import subprocess
import tempfile
import time
from pathlib import Path

from bench.edits_bench import code_lines, median_ms, patch_for, scatter_edits
from bench.report import Row, median, paired_ratio, spread
from bench.servers import SCRATCH, clean_env, codex_binary
from server.edits.diff import aggregate_diff, compute_hunks, diff_file
from server.edits.hunks import apply_hunks
from server.edits.patch import apply_patch, parse_patch


def _tether_apply(path: Path, patch: str) -> None:
    old = path.read_text()
    (edit,) = apply_patch(parse_patch(patch), {"big.py": old}.get)
    assert edit.new_text is not None
    diff_file(str(path), old, edit.new_text)
    path.write_text(edit.new_text)


def _codex_apply(binary: Path, cwd: Path, patch: str) -> float:
    started = time.perf_counter()
    subprocess.run(
        [str(binary), "--codex-run-as-apply-patch", patch],
        cwd=cwd,
        env=clean_env(),
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return (time.perf_counter() - started) * 1000


def edits(runs: int) -> list[Row]:
    rng = random.Random(7)
    old_lines = code_lines(rng, 10_000)
    new_lines = scatter_edits(rng, old_lines, 50)
    old, new = "\n".join(old_lines) + "\n", "\n".join(new_lines) + "\n"
    hunks = compute_hunks(old, new)
    patch = patch_for([h.wire_lines() for h in hunks])
    tiny = "*** Begin Patch\n*** Update File: big.py\n@@\n-a\n+b\n*** End Patch\n"
    binary = codex_binary()

    ours: list[float] = []
    theirs: list[float] = []
    spawn: list[float] = []
    with tempfile.TemporaryDirectory(dir=SCRATCH) as tmp:
        ours_dir, theirs_dir, tiny_dir = (Path(tmp) / n for n in ("ours", "theirs", "tiny"))
        for d in (ours_dir, theirs_dir, tiny_dir):
            d.mkdir()
        for i in range(runs + 2):
            (ours_dir / "big.py").write_text(old)
            (theirs_dir / "big.py").write_text(old)
            (tiny_dir / "big.py").write_text("a\n")
            started = time.perf_counter()
            _tether_apply(ours_dir / "big.py", patch)
            o = (time.perf_counter() - started) * 1000
            t = s = 0.0
            if binary is not None:
                t = _codex_apply(binary, theirs_dir, patch)
                s = _codex_apply(binary, tiny_dir, tiny)
            if i < 2:
                continue
            ours.append(o)
            if binary is not None:
                theirs.append(t)
                spawn.append(s)
        if binary is not None and (theirs_dir / "big.py").read_text() != new:
            raise RuntimeError("codex apply_patch produced a different file than expected")
        if (ours_dir / "big.py").read_text() != new:
            raise RuntimeError("tether apply_patch produced a different file than expected")

    theirs_net = [t - median(spawn) for t in theirs]
    in_memory = median_ms(lambda: apply_hunks(old, compute_hunks(old, new)), repeat=runs)

    files = []
    for i in range(200):
        small = code_lines(rng, 300)
        files.append(
            (
                f"/w/src/file{i}.py",
                "\n".join(small) + "\n",
                "\n".join(scatter_edits(rng, small, 3)) + "\n",
            )
        )
    aggregated = median_ms(
        lambda: aggregate_diff(diff_file(p, a, b) for p, a, b in files), repeat=max(3, runs // 2)
    )
    why = "" if binary else "codex: not installed (bench/setup.sh)"
    return [
        Row(
            "5 edits",
            "apply_patch, 50 hunks, 10,000-line file on disk",
            "ms",
            median(ours),
            median(theirs_net) if theirs else None,
            paired_ratio(ours, theirs_net) if theirs else None,
            "< 100 ms",
            None,
            (
                f"{runs} pairs; tether read+parse+apply+diff+write in process; codex "
                f"{median(theirs):.1f} ms as a process minus {median(spawn):.1f} ms start-up "
                f"(1-line patch); tether {spread(ours)}"
            )
            if theirs
            else why,
            goal_max_value=100.0,
        ),
        Row(
            "5 edits",
            "diff + apply 50 hunks in memory, 10,000 lines",
            "ms",
            in_memory,
            None,
            None,
            "< 100 ms",
            None,
            "codex: n/a, its diff engine has no entry point outside a turn",
            goal_max_value=100.0,
        ),
        Row(
            "5 edits",
            "aggregated turn diff, 200 changed files",
            "ms",
            aggregated,
            None,
            None,
            "",
            None,
            "300 lines, 3 hunks each; codex: n/a, its turn diff lives inside app-server",
        ),
    ]
