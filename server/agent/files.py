"""Reading and writing workspace files the way the user sees them.

Reads prefer the editor's open buffer. Writes to a file whose buffer has unsaved changes go
through the editor (`workspace/applyEdit`), so they land in that buffer and its undo stack;
everything else is written atomically on disk, keeping the file's mode.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from server.agent.stream import Notifier
from server.edits.atomic import atomic_delete, atomic_write


class EditorFiles:
    def __init__(self, read_buffer: Callable[[Path], str | None], client: Notifier) -> None:
        self._read_buffer = read_buffer
        self._client = client

    def read(self, path: Path) -> str | None:
        """The text the user sees, or None when there is no such file; undecodable bytes
        survive a round trip (surrogateescape), for edits."""
        buffered = self._read_buffer(path)
        return buffered if buffered is not None else self.disk(path)

    def read_for_model(self, path: Path) -> str:
        """The text the user sees, for the model to read (undecodable bytes replaced); raises
        OSError when the file cannot be read."""
        buffered = self._read_buffer(path)
        if buffered is not None:
            return buffered
        return path.read_text(encoding="utf-8", errors="replace")

    def disk(self, path: Path) -> str | None:
        try:
            return path.read_bytes().decode("utf-8", errors="surrogateescape")
        except (FileNotFoundError, NotADirectoryError):
            return None

    def has_unsaved_changes(self, path: Path) -> bool:
        buffered = self._read_buffer(path)
        return buffered is not None and buffered != self.disk(path)

    async def write(self, path: Path, text: str) -> None:
        if self.has_unsaved_changes(path):
            await self._apply_in_editor(path, text)
            return
        atomic_write(path, text.encode("utf-8", errors="surrogateescape"))

    def delete(self, path: Path) -> None:
        atomic_delete(path, missing_ok=True)

    async def _apply_in_editor(self, path: Path, text: str) -> None:
        # A range past the end is clamped to the document's end by the editor, which avoids
        # counting UTF-16 code units for the last line.
        line_count = (self._read_buffer(path) or "").count("\n") + 1
        edit = {
            "changes": {
                path.as_uri(): [
                    {
                        "range": {
                            "start": {"line": 0, "character": 0},
                            "end": {"line": line_count, "character": 0},
                        },
                        "newText": text,
                    }
                ]
            }
        }
        answer = await self._client.request(
            "workspace/applyEdit", {"label": "Tether", "edit": edit}, dict
        )
        if not answer.get("applied"):
            reason = answer.get("failureReason") or "the editor refused the edit"
            raise OSError(f"could not apply the edit in the open editor: {reason}")
