"""The 3-way merge under `rebase_change` and exact `revert_hunks`.

Both ask the same question: hunks were computed against a `base` text, the file is now
`current` (the user changed it since), which of the hunks can still go in? The user's
changes are the diff from base to current; a hunk goes in when none of its changed lines
touches a user change (adjacent counts as touching, as in git), and both sets of changes
are laid over the base in order. Positions are exact, so nothing is guessed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from server.edits.diff import Hunk, changed_regions
from server.edits.text import split_lines

Region = tuple[int, int, list[str]]
"""A change in base coordinates: base lines [i1, i2) are replaced by the given lines."""

Clash = Callable[[Hunk, Region], str]
"""Builds the conflict message for a hunk and the user change it touches."""


def merge_hunks(
    base: str, hunks: Sequence[Hunk], current: str, clash: Clash
) -> tuple[str, list[int], list[tuple[int, str]]]:
    """(merged text, indexes merged, (index, reason) of hunks that clash)."""
    base_lines, current_lines = split_lines(base), split_lines(current)
    user: list[Region] = [
        (i1, i2, current_lines[j1:j2])
        for i1, i2, j1, j2 in changed_regions(base_lines, current_lines)
    ]
    merged: list[Region] = list(user)
    done: list[int] = []
    conflicts: list[tuple[int, str]] = []
    for hunk in hunks:
        regions = hunk_regions(hunk)
        touching = next((u for r in regions for u in user if r[0] <= u[1] and u[0] <= r[1]), None)
        if touching is not None:
            conflicts.append((hunk.index, clash(hunk, touching)))
        else:
            merged.extend(regions)
            done.append(hunk.index)
    out: list[str] = []
    pos = 0
    for i1, i2, replacement in sorted(merged, key=lambda r: (r[0], r[1])):
        out.extend(base_lines[pos:i1])
        out.extend(replacement)
        pos = i2
    out.extend(base_lines[pos:])
    return "".join(out), done, conflicts


def hunk_regions(hunk: Hunk) -> list[Region]:
    """The hunk's changes without context, in the coordinates of the text it was diffed from."""
    regions: list[Region] = []
    pos = hunk.old_start - 1 if hunk.old_lines else hunk.old_start
    current: Region | None = None
    for line in hunk.lines:
        tag, body = line[0], line[1:]
        if tag == " ":
            if current is not None:
                regions.append(current)
                current = None
            pos += 1
            continue
        if current is None:
            current = (pos, pos, [])
        if tag == "-":
            pos += 1
            current = (current[0], pos, current[2])
        else:
            current[2].append(body)
    if current is not None:
        regions.append(current)
    return regions
