"""Per-hunk review: apply a chosen subset, revert applied hunks later, rebase onto user edits.

All three work on `diff.Hunk`s whose lines keep their terminators, so results are exact
byte for byte. A hunk that cannot be placed comes back as a `HunkConflict` naming it, and
the text is left as it was at that hunk.

- `apply_hunks(old, hunks, indexes)`: the old text with exactly the chosen hunks applied
  (readOnly mode's "accept some hunks").
- `revert_hunks(current, hunks, indexes, applied=, applied_text=)`: undo applied hunks on
  the file as it is now, which may have changed elsewhere (`change/revert`). Given the text
  as it was right after the change was written, this is an exact 3-way merge; without it,
  each hunk is searched for by its own lines (see `locate`).
- `rebase_change(base, hunks, current, indexes)`: the model diffed against `base`, but the
  user has since turned the file into `current`; a 3-way merge applies every hunk whose
  changes do not touch the user's (re-applying an edit on a file changed under it).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from server.edits.diff import Hunk
from server.edits.locate import locate_applied, nearest
from server.edits.merge import Region, merge_hunks
from server.edits.text import split_lines, strip_eol


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
    applied_text: str | None = None,
) -> HunkResult:
    """Undo the chosen hunks (all applied ones when `indexes` is None) on `current`.

    `hunks` are all the hunks of the change, `applied` the indexes of those in effect (all
    when None). `applied_text`, the file right after the change was written, makes this an
    exact 3-way merge in which a hunk conflicts only where the user changed its own lines;
    without it, hunks are searched for (see `locate`). Conflicting hunks stay as they are.
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
    chosen = _chosen(hunks, indexes)
    inverted = None
    if applied_text is not None:
        inverted = _inverted_in(applied_text, hunks, chosen, applied_set)
    if applied_text is None or inverted is None:
        return _revert_by_search(current, hunks, chosen, applied_set)
    text, done, clashes = merge_hunks(applied_text, inverted, current, _revert_clash)
    conflicts = tuple(HunkConflict(i, reason) for i, reason in clashes)
    return HunkResult(text, tuple(sorted(done)), conflicts)


def _inverted_in(
    applied_text: str, hunks: Sequence[Hunk], chosen: list[Hunk], applied: set[int]
) -> list[Hunk] | None:
    """The hunks undoing `chosen`, positioned where each sits in `applied_text`; None if one
    is not there intact (a change merged onto user edits may have their context lines)."""
    lines = split_lines(applied_text)
    inverted: list[Hunk] = []
    offset = 0  # nonzero only when the change was merged onto edits made before it
    for hunk in sorted(chosen, key=_new_pos):
        expected = _expected_pos(hunk, hunks, applied)
        new_side = hunk.new_side()
        at = nearest(lines, new_side, expected + offset) if new_side else expected
        if at is None:
            return None
        offset = at - expected
        inverted.append(_inverted(hunk, at))
    return inverted


def _inverted(hunk: Hunk, at: int) -> Hunk:
    """The hunk that undoes `hunk`, whose new side starts at line `at` (0-based)."""
    swap = {" ": " ", "-": "+", "+": "-"}
    lines = tuple(swap[line[0]] + line[1:] for line in hunk.lines)
    start = at + 1 if hunk.new_lines else at
    return Hunk(hunk.index, start, hunk.new_lines, hunk.old_start, hunk.old_lines, lines)


def _revert_by_search(
    current: str, hunks: Sequence[Hunk], chosen: list[Hunk], applied: set[int]
) -> HunkResult:
    lines = split_lines(current)
    placed: list[tuple[int, int, list[str], Hunk]] = []
    conflicts: list[HunkConflict] = []
    offset = 0
    for hunk in sorted(chosen, key=_new_pos):
        expected = _expected_pos(hunk, hunks, applied)
        found = locate_applied(lines, hunk, expected + offset)
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


def rebase_change(
    base: str, hunks: Sequence[Hunk], current: str, indexes: Iterable[int] | None = None
) -> HunkResult:
    """3-way merge: apply the chosen hunks (diffed against `base`) to `current`, which the
    user derived from `base`. A hunk whose changes touch a user change is a conflict."""
    text, done, clashes = merge_hunks(base, _chosen(hunks, indexes), current, _rebase_clash)
    conflicts = tuple(HunkConflict(i, reason) for i, reason in clashes)
    return HunkResult(text, tuple(done), conflicts)


def _describe(user: Region) -> str:
    sample = strip_eol(user[2][0]) if user[2] else "(lines deleted)"
    return f"line {user[0] + 1} ('{sample}')"


def _rebase_clash(hunk: Hunk, user: Region) -> str:
    return (
        f"hunk {hunk.index} ({hunk.header()}): the file was edited at {_describe(user)} "
        "since the model read it, where this hunk changes it; re-read the file and make the "
        "change again."
    )


def _revert_clash(hunk: Hunk, user: Region) -> str:
    return (
        f"hunk {hunk.index}: the file was edited at {_describe(user)} after the hunk was "
        "applied, where undoing it would change it; edit the file by hand or revert the "
        "whole turn."
    )
