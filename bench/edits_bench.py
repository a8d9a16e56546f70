"""Benchmark the edits engine: prints median milliseconds per operation.

    .venv/bin/python bench/edits_bench.py

Figures: diff and per-hunk apply/revert of a 10,000-line file with 50 scattered hunks, an
apply_patch of 50 hunks to it, the aggregated unified diff of 200 changed files, and
snapshots of a 2,000-file workspace (first, then with nothing changed). The issue's bar is
"well under 100 ms" for diffing and applying the 10,000-line case.
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from server.edits.checkpoints import CheckpointStore
from server.edits.diff import aggregate_diff, compute_hunks, diff_file
from server.edits.hunks import apply_hunks, revert_hunks
from server.edits.patch import apply_patch, parse_patch

WORDS = ["self", "value", "return", "if", "for", "item", "in", "total", "=", "+", "(", ")"]


def code_lines(rng: random.Random, count: int) -> list[str]:
    """Code-like lines with the repetition real code has (blank lines, closing brackets)."""
    lines: list[str] = []
    for i in range(count):
        roll = rng.random()
        if roll < 0.12:
            lines.append("")
        elif roll < 0.18:
            lines.append("    }")
        else:
            body = " ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 7)))
            lines.append("    " * rng.randint(0, 3) + f"{body}  # {i % 1500}")
    return lines


def scatter_edits(rng: random.Random, lines: list[str], hunks: int) -> list[str]:
    new = list(lines)
    span = len(lines) // hunks
    for k in reversed(range(hunks)):
        at = k * span + rng.randrange(5, span - 5)
        choice = k % 3
        if choice == 0:
            new[at] = new[at] + " changed"
        elif choice == 1:
            new[at:at] = ["inserted line one", "inserted line two"]
        else:
            del new[at : at + 2]
    return new


def median_ms(run: Callable[[], object], repeat: int = 15) -> float:
    times: list[float] = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def patch_for(new_hunks: list[list[str]]) -> str:
    body = ["*** Begin Patch", "*** Update File: big.py"]
    for hunk in new_hunks:
        body.append("@@")
        body.extend(hunk)
    body.append("*** End Patch")
    return "\n".join(body) + "\n"


def main() -> None:
    rng = random.Random(7)
    old_lines = code_lines(rng, 10_000)
    new_lines = scatter_edits(rng, old_lines, 50)
    old, new = "\n".join(old_lines) + "\n", "\n".join(new_lines) + "\n"
    hunks = compute_hunks(old, new)
    half = [h.index for h in hunks[::2]]
    partial = apply_hunks(old, hunks, half)
    patch = patch_for([h.wire_lines() for h in hunks])

    print(f"10,000-line file, {len(hunks)} hunks:")
    rows = {
        "compute hunks": lambda: compute_hunks(old, new),
        "diff_file (hunks + unified text)": lambda: diff_file("/w/big.py", old, new),
        "apply all hunks": lambda: apply_hunks(old, hunks),
        "diff + apply all hunks": lambda: apply_hunks(old, compute_hunks(old, new)),
        "apply every other hunk": lambda: apply_hunks(old, hunks, half),
        "revert them, searching": lambda: revert_hunks(partial, hunks, half, applied=half),
        "revert them, 3-way with applied text": lambda: revert_hunks(
            partial, hunks, half, applied=half, applied_text=partial
        ),
        "parse + apply a 50-hunk apply_patch": lambda: apply_patch(
            parse_patch(patch), {"big.py": old}.get
        ),
    }
    for name, run in rows.items():
        print(f"  {name:40s} {median_ms(run):8.2f} ms")

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
    ms = median_ms(lambda: aggregate_diff(diff_file(p, a, b) for p, a, b in files), repeat=7)
    print(f"aggregated unified diff of 200 changed files (300 lines, 3 hunks each): {ms:.2f} ms")

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "ws"
        for i in range(2000):
            path = root / f"pkg{i % 40}" / f"mod{i}.py"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("\n".join(code_lines(rng, 60)) + "\n")
        past = time.time_ns() - 60 * 1_000_000_000  # outside the racy-timestamp window
        for path in root.rglob("*.py"):
            os.utime(path, ns=(past, past))
        store = CheckpointStore(Path(tmp) / "state")
        first = median_ms(lambda: CheckpointStore(Path(tmp) / "fresh").snapshot(root), repeat=1)
        store.snapshot(root)
        again = median_ms(lambda: store.snapshot(root), repeat=5)
        print(f"snapshot of 2,000 files: first {first:.1f} ms, unchanged again {again:.1f} ms")


if __name__ == "__main__":
    main()
