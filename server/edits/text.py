"""Line splitting shared by the diff, hunk and patch code.

Lines are split on "\\n" only and keep their terminator ("\\n", "\\r\\n", or nothing for a
last line without one), so joining them gives back the text byte for byte. A lone "\\r"
stays inside its line, as git treats it.
"""

from __future__ import annotations


def split_lines(text: str) -> list[str]:
    """Split `text` into lines that keep their line terminators."""
    lines = text.split("\n")
    last = lines.pop()
    kept = [line + "\n" for line in lines]
    if last:
        kept.append(last)
    return kept


def strip_eol(line: str) -> str:
    """The line's content without its "\\n" or "\\r\\n" terminator."""
    if line.endswith("\r\n"):
        return line[:-2]
    if line.endswith("\n"):
        return line[:-1]
    return line


def eol_of(line: str) -> str:
    """The line's terminator: "\\r\\n", "\\n", or "" for a final line without one."""
    return line[len(strip_eol(line)) :]


def line_keys(text: str) -> list[str]:
    """The lines of `text` without terminators (`strip_eol` of each of `split_lines`)."""
    keys = text.split("\n")
    if not keys[-1]:
        keys.pop()
    if "\r" in text:
        keys = [key[:-1] if key.endswith("\r") else key for key in keys]
    return keys


def dominant_eol(text: str) -> str:
    """The terminator most lines use, so inserted lines match the file's convention."""
    crlf = text.count("\r\n")
    return "\r\n" if crlf > text.count("\n") - crlf else "\n"
