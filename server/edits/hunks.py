"""Per-hunk review: apply a chosen subset, revert applied hunks later, rebase onto user edits.

All three work on `diff.Hunk`s whose lines keep their terminators, so results are exact
byte for byte. They never guess: a hunk that cannot be placed with certainty comes back as
a `HunkConflict` naming it, and the text is left as it was at that hunk.

- `apply_hunks(old, hunks, indexes)`: the old text with exactly the chosen hunks applied
  (readOnly mode's "accept some hunks").
- `revert_hunks(current, hunks, indexes)`: undo applied hunks on the file as it is now,
  which may have changed elsewhere (`change/revert`). Each hunk is found by its own lines
  near where it should be; up to two context lines at each end may have been edited.
- `rebase_change(base, hunks, current, indexes)`: the model diffed against `base`, but the
  user has since turned the file into `current`; a 3-way merge applies every hunk whose
  changes do not touch the user's (re-applying an edit on a file changed under it).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from server.edits.diff import Hunk, changed_regions
from server.edits.text import split_lines, strip_eol

MAX_FUZZ = 2
"""Context lines per end that may differ when reverting, as `patch`'s default fuzz."""


class HunkMismatchError(ValueError):
    """The hunks were not computed from the text they are being applied to."""


@dataclass(frozen=True)
class HunkConflict:
    index: int
    reason: str


@dataclass(frozen=True)
class HunkResult:
    """The resulting text, the hunks that took effect, and those that could not."""

    text: str
    done: tuple[int, ...]
    conflicts: tuple[HunkConflict, ...]


def _chosen(hunks: Sequence[Hunk], indexes: Iterable[int] | None) -> list[Hunk]:
    if indexes is None:
        return list(hunks)
    by_index = {hunk.index: hunk for hunk in hunks}
    wanted = set(indexes)
    unknown = sorted(wanted - by_index.keys())
    if unknown:
        raise ValueError(f"no hunk with index {unknown[0]}; valid indexes: {sorted(by_index)}")
    return [by_index[i] for i in sorted(wanted)]


def _old_pos(hunk: Hunk) -> int:
    return hunk.old_start - 1 if hunk.old_lines else hunk.old_start


def _new_pos(hunk: Hunk) -> int:
    return hunk.new_start - 1 if hunk.new_lines else hunk.new_start


def apply_hunks(old: str, hunks: Sequence[Hunk], indexes: Iterable[int] | None = None) -> str:
    """`old` with the chosen hunks (all when `indexes` is None) applied, the rest left out.

    The hunks must come from `compute_hunks(old, ...)`; otherwise `HunkMismatchError`.
    """
    lines = split_lines(old)
    for hunk in sorted(_chosen(hunks, indexes), key=_old_pos, reverse=True):
        at, expected = _old_pos(hunk), hunk.old_side()
        if lines[at : at + len(expected)] != expected:
            raise HunkMismatchError(
                f"hunk {hunk.index} ({hunk.header()}) does not match the text it is applied "
                "to; diff the file again and retry."
            )
        lines[at : at + len(expected)] = hunk.new_side()
    return "".join(lines)


def revert_hunks(
    current: str,
    hunks: Sequence[Hunk],
    indexes: Iterable[int] | None = None,
    *,
    applied: Iterable[int] | None = None,
) -> HunkResult:
    """Undo the chosen hunks (all applied ones when `indexes` is None) on `current`.

    `hunks` are all the hunks of the change, `applied` the indexes of those in effect
    (all when None); they tell where each hunk should be. Hunks whose lines changed since
    are conflicts and stay as they are.
    """
    applied_set = {h.index for h in hunks} if applied is None else set(applied)
    if indexes is None:
        indexes = sorted(applied_set)
    not_applied = sorted(set(indexes) - applied_set)
    if not_applied:
        raise ValueError(
            f"hunk {not_applied[0]} is not applied, so there is nothing to revert; "
            f"applied hunks: {sorted(applied_set)}"
        )
    lines = split_lines(current)
    placed: list[tuple[int, int, list[str], Hunk]] = []
    conflicts: list[HunkConflict] = []
    offset = 0
    for hunk in sorted(_chosen(hunks, indexes), key=_new_pos):
        expected = _expected_pos(hunk, hunks, applied_set)
        found = _locate_applied(lines, hunk, expected + offset)
        end_of_previous = placed[-1][0] + placed[-1][1] if placed else 0
        if found is None or found[0] < end_of_previous:
            conflicts.append(HunkConflict(hunk.index, _changed_reason(hunk)))
            continue
        start, length, replacement, cut_top = found
        offset = start - cut_top - expected
        placed.append((start, length, replacement, hunk))
    for start, length, replacement, _ in reversed(placed):
        lines[start : start + length] = replacement
    done = tuple(sorted(hunk.index for *_, hunk in placed))
    return HunkResult("".join(lines), done, tuple(conflicts))


def _expected_pos(hunk: Hunk, hunks: Sequence[Hunk], applied: set[int]) -> int:
    """Where the hunk's new side starts when exactly the `applied` hunks are in effect."""
    shift = sum(
        h.new_lines - h.old_lines
        for h in hunks
        if h.index not in applied and _new_pos(h) < _new_pos(hunk)
    )
    return _new_pos(hunk) - shift


def _changed_reason(hunk: Hunk) -> str:
    return (
        f"hunk {hunk.index} ({hunk.header()}): its lines were changed after it was applied, "
        "so it cannot be undone safely; edit the file by hand or revert the whole turn."
    )


def _locate_applied(
    lines: list[str], hunk: Hunk, expected: int
) -> tuple[int, int, list[str], int] | None:
    """Where the hunk's new side is in `lines`: (start, length, lines to put back, number
    of leading context lines left out because they may have been edited)."""
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
        at = _nearest(lines, new_side, expected + cut_top)
        if at is not None:
            return at, len(new_side), old_side, cut_top
    return None


def _nearest(lines: list[str], block: list[str], expected: int) -> int | None:
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


Region = tuple[int, int, list[str]]
"""A change in base coordinates: base lines [i1, i2) are replaced by the given lines."""


def rebase_change(
    base: str, hunks: Sequence[Hunk], current: str, indexes: Iterable[int] | None = None
) -> HunkResult:
    """3-way merge: apply the chosen hunks (diffed against `base`) to `current`, which the
    user derived from `base`. A hunk whose changes touch a user change is a conflict."""
    base_lines, current_lines = split_lines(base), split_lines(current)
    user: list[Region] = [
        (i1, i2, current_lines[j1:j2])
        for i1, i2, j1, j2 in changed_regions(base_lines, current_lines)
    ]
    merged: list[Region] = list(user)
    done: list[int] = []
    conflicts: list[HunkConflict] = []
    for hunk in _chosen(hunks, indexes):
        regions = _hunk_regions(hunk)
        clash = next((u for r in regions for u in user if r[0] <= u[1] and u[0] <= r[1]), None)
        if clash is not None:
            conflicts.append(HunkConflict(hunk.index, _clash_reason(hunk, clash)))
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
    return HunkResult("".join(out), tuple(done), tuple(conflicts))


def _hunk_regions(hunk: Hunk) -> list[Region]:
    """The hunk's changes without context, in the coordinates of the text it was diffed from."""
    regions: list[Region] = []
    pos = _old_pos(hunk)
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


def _clash_reason(hunk: Hunk, user: Region) -> str:
    line = user[0] + 1
    sample = strip_eol(user[2][0]) if user[2] else "(lines deleted)"
    return (
        f"hunk {hunk.index} ({hunk.header()}): the file was edited at line {line} "
        f"('{sample}') since the model read it, where this hunk changes it; re-read the file "
        "and make the change again."
    )
