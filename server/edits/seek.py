"""Find where a block of lines sits in a file, tolerating what models get wrong.

Models copy context lines imperfectly: trailing spaces dropped, indentation retyped, ASCII
quotes and dashes where the file has typographic ones. Like Codex's apply_patch, a block is
looked for with exact lines first, then ignoring trailing whitespace, then ignoring all
surrounding whitespace, then also folding unicode punctuation to ASCII. Stricter passes
run over the whole range first, so a loose match never wins over an exact one.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Sequence

_PUNCTUATION = str.maketrans(
    {
        **dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212", "-"),
        **dict.fromkeys("\u2018\u2019\u201a\u201b", "'"),
        **dict.fromkeys("\u201c\u201d\u201e\u201f", '"'),
        **dict.fromkeys("\u00a0\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009", " "),
        **dict.fromkeys("\u200a\u202f\u205f\u3000", " "),
    }
)


def normalise_loose(line: str) -> str:
    """The loosest comparison key: no surrounding whitespace, ASCII punctuation."""
    return line.translate(_PUNCTUATION).strip()


_PASSES: tuple[Callable[[str], str], ...] = (
    lambda s: s,
    str.rstrip,
    str.strip,
    normalise_loose,
)


def seek_sequence(
    lines: Sequence[str], pattern: Sequence[str], start: int, at_end: bool = False
) -> int | None:
    """Index of the first occurrence of `pattern` in `lines` at or after `start`, or None.

    Lines carry no terminators. With `at_end`, a match that ends at the last line is
    preferred, as the patch marked the hunk with "*** End of File".
    """
    if not pattern:
        return start
    last = len(lines) - len(pattern)
    if last < start:
        return None
    n = len(pattern)
    for number, key in enumerate(_PASSES):
        want = [key(p) for p in pattern]
        # Only the lines that can be part of a match are keyed, and the exact pass (the one
        # that almost always succeeds) compares the lines themselves.
        window = lines[start:] if number else lines
        keyed = window if number == 0 else [key(line) for line in window]
        offset = 0 if number == 0 else start
        if at_end and list(keyed[last - offset :]) == want:
            return last
        first = want[0]
        for i in range(start - offset, last - offset + 1):
            if keyed[i] == first and list(keyed[i : i + n]) == want:
                return i + offset
    return None


def closest_line(lines: Sequence[str], target: str) -> tuple[int, str] | None:
    """The 0-based index and text of the line most like `target`, if any is close."""
    keys = [normalise_loose(line) for line in lines]
    best = difflib.get_close_matches(normalise_loose(target), keys, n=1, cutoff=0.6)
    if not best:
        return None
    index = keys.index(best[0])
    return index, lines[index]
