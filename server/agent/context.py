"""Turns the user's input (text, attached files, selections) into the text the model reads.

Attached files are read through the open editor buffers first, so the model sees what the user
sees, unsaved edits included.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from protocol.item import FileInput, SelectionInput, TextInput, UserInput

ATTACHMENT_CAP = 64_000


def render_user_input(content: list[UserInput], read: Callable[[Path], str]) -> str:
    """`read` is `EditorFiles.read_for_model`: open buffer first, then the disk."""
    parts: list[str] = []
    for item in content:
        if isinstance(item, TextInput):
            parts.append(item.text)
        elif isinstance(item, FileInput):
            parts.append(_attachment(Path(item.path), None, read))
        elif isinstance(item, SelectionInput):
            parts.append(_attachment(Path(item.path), item, read))
    return "\n\n".join(parts)


def _attachment(path: Path, selection: SelectionInput | None, read: Callable[[Path], str]) -> str:
    try:
        text = read(path)
    except OSError as exc:
        return f"<file path={str(path)!r}>(could not be read: {exc.strerror})</file>"
    if selection is None:
        body = text if len(text) <= ATTACHMENT_CAP else text[:ATTACHMENT_CAP] + "\n[... cut ...]"
        return f"<file path={str(path)!r}>\n{body}\n</file>"
    lines = text.splitlines(keepends=True)
    start, end = selection.range.start, selection.range.end
    chosen = lines[start.line : end.line + 1]
    if chosen:
        chosen[-1] = chosen[-1][: end.character]  # end first: on one line, both cuts apply
        chosen[0] = chosen[0][start.character :]
    return (
        f'<selection path={str(path)!r} lines="{start.line + 1}-{end.line + 1}">\n'
        f"{''.join(chosen)}\n</selection>"
    )
