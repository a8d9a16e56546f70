"""Exact string replacement, the editing tool for models not trained on `apply_patch`.

`old_string` must occur exactly once (or `replace_all`). The only leniency is line endings:
a model writes "\\n" even when the file uses "\\r\\n", and that is the same text, so both
strings are converted to the file's convention. When the match count is wrong, the error
tells the model where the nearest candidate is or which lines matched, so it can retry
without re-reading the whole file.
"""

from __future__ import annotations

from dataclasses import dataclass

from server.edits.seek import closest_line, normalise_loose
from server.edits.text import split_lines, strip_eol


class ReplaceError(ValueError):
    """An `edit_file` call that cannot be applied; the message is written for the model."""


@dataclass(frozen=True)
class Replacement:
    """The new text and how many occurrences of `old_string` were replaced."""

    text: str
    count: int


def replace_exact(
    path: str, text: str, old_string: str, new_string: str, replace_all: bool = False
) -> Replacement:
    """Replace `old_string` with `new_string` in `text` (the content of `path`)."""
    if not old_string:
        raise ReplaceError(
            f"old_string is empty, but {path} already exists. Give the exact text to replace, "
            "copied from the file with its indentation."
        )
    if old_string == new_string:
        raise ReplaceError(f"old_string and new_string are identical for {path}; nothing to do.")
    old, new = old_string, new_string
    count = text.count(old)
    if count == 0 and "\r\n" in text and "\r\n" not in old:
        old, new = old.replace("\n", "\r\n"), new.replace("\n", "\r\n")
        count = text.count(old)
    if count == 0:
        raise ReplaceError(_not_found(path, text, old_string))
    if count > 1 and not replace_all:
        raise ReplaceError(_ambiguous(path, text, old, count))
    return Replacement(text.replace(old, new), count)


def _not_found(path: str, text: str, old: str) -> str:
    message = f"old_string was not found in {path}."
    keys = [strip_eol(line) for line in split_lines(text)]
    wanted = [line for line in old.split("\n") if line.strip()]
    if not wanted:
        return message + " It is only whitespace; include the surrounding text."
    loose_text = " ".join(normalise_loose(k) for k in keys if k.strip())
    if " ".join(normalise_loose(w) for w in wanted) in loose_text:
        return message + (
            " The same text exists with different whitespace, indentation or quote "
            "characters; copy it exactly as the file has it (read the file again)."
        )
    closest = closest_line(keys, wanted[0])
    if closest is None:
        return message + " No similar line exists; read the file again before editing."
    index, line = closest
    return message + (
        f" The line most like its first line is line {index + 1}: '{line}'. Read the file "
        "around there and copy old_string exactly, including indentation."
    )


def _ambiguous(path: str, text: str, old: str, count: int) -> str:
    starts: list[int] = []
    at = text.find(old)
    while at != -1 and len(starts) < 5:
        starts.append(text.count("\n", 0, at) + 1)
        at = text.find(old, at + 1)
    lines = ", ".join(str(n) for n in starts) + (", ..." if count > len(starts) else "")
    return (
        f"old_string occurs {count} times in {path} (at lines {lines}). Include more of the "
        "surrounding lines to make it unique, or set replace_all to change every occurrence."
    )
