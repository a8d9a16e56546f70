"""Apply the hunks of one `*** Update File:` section to a file's text.

Hunks are found in order, each at or after where the previous one ended, with the tolerant
matching of `seek`. Replaced and added lines take the file's dominant line terminator, and a
file that did not end with a newline still does not, so the diff shows only what the model
meant to change.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from server.edits.seek import closest_line, normalise_loose, seek_sequence
from server.edits.text import dominant_eol, line_keys, split_lines, strip_eol


@dataclass(frozen=True)
class UpdateChunk:
    """One "@@" hunk: `lines` keep their " ", "-", "+" prefix and carry no terminators.
    `contexts` are the texts after its "@@" lines, lines to find one after the other before
    the hunk; `line_number` is the 1-based patch line of the hunk, for error messages."""

    contexts: tuple[str, ...]
    lines: tuple[str, ...]
    is_end_of_file: bool
    line_number: int

    @property
    def old_lines(self) -> tuple[str, ...]:
        """What the hunk expects in the file: context and removed lines."""
        return tuple(line[1:] for line in self.lines if line[0] in " -")

    @property
    def new_lines(self) -> tuple[str, ...]:
        """What the hunk leaves: context and added lines."""
        return tuple(line[1:] for line in self.lines if line[0] in " +")


class PatchError(ValueError):
    """A patch that cannot be parsed or applied; the message is written for the model."""


Replacement = tuple[int, tuple[str, ...]]
"""(first line in the file, the hunk's prefixed lines that apply there)."""


def apply_update(path: str, text: str, chunks: Sequence[UpdateChunk]) -> str:
    """The text after applying `chunks`; raises `PatchError` naming the hunk that failed."""
    lines = split_lines(text)
    keys = line_keys(text)
    replacements: list[Replacement] = []
    cursor = 0
    for number, chunk in enumerate(chunks, 1):
        for context in chunk.contexts:
            found = seek_sequence(keys, [context], cursor)
            if found is None:
                raise PatchError(_context_error(path, number, chunk, context, keys, cursor))
            cursor = found + 1
        if not chunk.old_lines:
            at = cursor if chunk.contexts else len(keys)
            replacements.append((at, chunk.lines))
            continue
        start, body = _find_chunk(keys, chunk, cursor)
        if start is None:
            raise PatchError(_lines_error(path, number, chunk, keys, cursor))
        replacements.append((start, body))
        cursor = start + sum(1 for line in body if line[0] in " -")
    return _splice(lines, replacements, dominant_eol(text))


def _find_chunk(
    keys: list[str], chunk: UpdateChunk, cursor: int
) -> tuple[int | None, tuple[str, ...]]:
    body = chunk.lines
    found = seek_sequence(keys, _old(body), cursor, chunk.is_end_of_file)
    # A blank line models add after a hunk's last context line often stands for the end
    # of the file (the text after the final newline), not a real empty line.
    while found is None and len(body) > 1 and body[-1] == " " and _old(body[:-1]):
        body = body[:-1]
        found = seek_sequence(keys, _old(body), cursor, chunk.is_end_of_file)
    return found, body


def _old(body: tuple[str, ...]) -> list[str]:
    return [line[1:] for line in body if line[0] in " -"]


def _splice(lines: list[str], replacements: list[Replacement], eol: str) -> str:
    lacked_final_newline = bool(lines) and not lines[-1].endswith("\n")
    result = list(lines)
    if lacked_final_newline:
        # Terminated for now, in case lines get added after it; stripped again at the end.
        result[-1] += eol
    for start, body in sorted(replacements, key=lambda r: r[0], reverse=True):
        # Context lines keep the file's own text, which loose matching may have let differ
        # from what the model wrote.
        new: list[str] = []
        pos = start
        for line in body:
            if line[0] == " ":
                new.append(result[pos])
            elif line[0] == "+":
                new.append(line[1:] + eol)
            pos += line[0] != "+"
        result[start:pos] = new
    if result and lacked_final_newline:
        result[-1] = strip_eol(result[-1])
    return "".join(result)


def _context_error(
    path: str, number: int, chunk: UpdateChunk, context: str, keys: list[str], cursor: int
) -> str:
    where = f" after line {cursor}" if cursor else ""
    message = (
        f"Failed to apply hunk {number} of {path} (patch line {chunk.line_number}): its "
        f"'@@ {context}' line was not found in the file{where}."
    )
    return message + _hint(keys, context, cursor)


def _lines_error(path: str, number: int, chunk: UpdateChunk, keys: list[str], cursor: int) -> str:
    where = f" after line {cursor}" if cursor else ""
    shown = "\n".join(chunk.old_lines)
    message = (
        f"Failed to apply hunk {number} of {path} (patch line {chunk.line_number}): these "
        f"context and removed lines were not found together in the file{where}:\n{shown}\n"
    )
    present = {normalise_loose(key) for key in keys}
    missing = next((line for line in chunk.old_lines if normalise_loose(line) not in present), None)
    if missing is None:
        earlier = seek_sequence(keys, chunk.old_lines, 0)
        if earlier is not None and earlier < cursor:
            return message + (
                f"They occur at line {earlier + 1}, before the previous hunk: list hunks in "
                "the order they appear in the file."
            )
        return message + (
            "Each line exists in the file but not in this order: a line is missing or extra. "
            "Re-read the file and copy the lines exactly."
        )
    return message + f"The line '{missing}' is not in the file." + _hint(keys, missing, cursor)


def _hint(keys: list[str], target: str, cursor: int) -> str:
    closest = closest_line(keys, target) if target.strip() else None
    advice = " Re-read the file and copy context lines exactly."
    if closest is None:
        return advice
    index, text = closest
    return f" The closest line is {index + 1}: '{text}'." + advice
