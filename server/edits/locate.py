"""Find an applied hunk in a file that may have changed since, when no record of the text
right after the change exists (the fallback of `revert_hunks`).

The hunk's new side (context and added lines) is searched for outwards from where it
should be, so edits elsewhere that shifted it are fine. If it is not intact, up to
`MAX_FUZZ` context lines at each end may differ, as with `patch`'s default fuzz; a match
with fewer context lines is accepted only where it is the sole occurrence in the file,
since a short block can coincide with another place. This is a search: with repetitive
text and an edit inside the hunk, it can still pick an identical copy elsewhere, which is
why `revert_hunks` prefers an exact 3-way merge when given the applied text.
"""

from __future__ import annotations

from server.edits.diff import Hunk

MAX_FUZZ = 2

Located = tuple[int, int, list[str], int]
"""(start in the file, lines matched, lines to put back, leading context lines left out)."""


def locate_applied(lines: list[str], hunk: Hunk, expected: int) -> Located | None:
    """Where the hunk's new side is in `lines` (lines keep their terminators)."""
    body = list(hunk.lines)
    lead = next((i for i, line in enumerate(body) if line[0] != " "), len(body))
    trail = next((i for i, line in enumerate(reversed(body)) if line[0] != " "), len(body))
    for fuzz in range(MAX_FUZZ + 1):
        cut_top, cut_bottom = min(fuzz, lead), min(fuzz, trail)
        if fuzz and not (cut_top or cut_bottom):
            break
        core = body[cut_top : len(body) - cut_bottom]
        new_side = [line[1:] for line in core if line[0] in " +"]
        old_side = [line[1:] for line in core if line[0] in " -"]
        if not new_side:
            # Nothing to anchor on: only an empty file is certainly the hunk's result.
            return (0, 0, old_side, 0) if not lines else None
        at = nearest(lines, new_side, expected + cut_top)
        if at is not None and (fuzz == 0 or _only_occurrence(lines, new_side, at)):
            return at, len(new_side), old_side, cut_top
    return None


def nearest(lines: list[str], block: list[str], expected: int) -> int | None:
    """The start of the occurrence of `block` closest to `expected`, searching outwards."""
    last = len(lines) - len(block)
    if last < 0:
        return None
    expected = min(max(expected, 0), last)
    first = block[0]
    for distance in range(max(expected, last - expected) + 1):
        for at in (expected - distance, expected + distance):
            if 0 <= at <= last and lines[at] == first and lines[at : at + len(block)] == block:
                return at
    return None


def _only_occurrence(lines: list[str], block: list[str], at: int) -> bool:
    n = len(block)
    return not any(
        lines[i : i + n] == block
        for i in range(len(lines) - n + 1)
        if i != at and lines[i] == block[0]
    )
