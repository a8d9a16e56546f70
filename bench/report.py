"""Rows of the result table, their statistics, and printing them.

Every figure is a median over runs. A ratio is Tether / Codex computed pair by pair (run i of
one against run i of the other, the two taken back to back) and then the median of those
ratios, so a load spike that hits one pair does not tilt the whole comparison.
"""

from __future__ import annotations

import os
import platform
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Row:
    key: str  # issue 8's Must number and a short name, e.g. "1 cold start"
    what: str
    unit: str
    tether: float | None
    codex: float | None = None
    ratio: float | None = None
    goal: str = ""  # e.g. "<= 1.0x"; empty when the issue sets none
    goal_max_ratio: float | None = None  # the goal as a ratio to Codex
    note: str = ""  # how many runs, spread, or why Codex has no figure
    detail: list[str] = field(default_factory=list)  # extra lines printed under the table
    goal_max_value: float | None = None  # or the goal as a bound on Tether's own figure

    @property
    def verdict(self) -> str:
        if self.goal_max_value is not None and self.tether is not None:
            return "met" if self.tether <= self.goal_max_value else "MISSED"
        if self.goal_max_ratio is None or self.ratio is None:
            return ""
        return "met" if self.ratio <= self.goal_max_ratio else "MISSED"


def median(xs: Sequence[float]) -> float:
    return statistics.median(xs)


def paired_ratio(ours: Sequence[float], theirs: Sequence[float]) -> float | None:
    pairs = [a / b for a, b in zip(ours, theirs, strict=False) if b > 0]
    return statistics.median(pairs) if pairs else None


def spread(xs: Sequence[float]) -> str:
    """min..max, to show how noisy a median is."""
    return f"{min(xs):.3g}..{max(xs):.3g}" if xs else ""


def fmt(x: float | None, unit: str) -> str:
    if x is None:
        return "-"
    if unit == "ms":
        return f"{x:.1f} ms" if x < 100 else f"{x:.0f} ms"
    if unit == "MiB":
        return f"{x:.1f} MiB"
    if unit == "us":
        return f"{x:.1f} us"
    return f"{x:.3g} {unit}"


def machine() -> list[str]:
    cpu = "unknown cpu"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f", {kib / 1024 / 1024:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    return [
        f"machine: {platform.node()} {platform.system()} {platform.release()}, "
        f"{os.cpu_count()} cpus ({cpu}){mem}",
        f"python {platform.python_version()}",
    ]


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def print_table(rows: Sequence[Row]) -> None:
    headers = ["row", "what", "tether", "codex", "ratio", "goal", "verdict", "note"]
    cells = [
        [
            r.key,
            r.what,
            fmt(r.tether, r.unit),
            fmt(r.codex, r.unit),
            f"{r.ratio:.2f}x" if r.ratio is not None else "-",
            r.goal or "-",
            r.verdict or "-",
            r.note,
        ]
        for r in rows
    ]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(headers)]
    widths[-1] = len(headers[-1])  # the note runs free at the end of the line
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))
    print(line)
    print("  ".join("-" * w for w in widths))
    for c in cells:
        print("  ".join(x.ljust(w) for x, w in zip(c, widths, strict=True)).rstrip())
