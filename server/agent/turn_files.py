"""What one turn changed on disk: each file's content before the turn first wrote it, and the
turn's aggregated diff (`turn/diff/updated`) computed against those originals."""

from __future__ import annotations

from pathlib import Path

from server.agent.files import EditorFiles
from server.edits.diff import aggregate_diff, diff_file


class TurnFiles:
    def __init__(self, files: EditorFiles) -> None:
        self._files = files
        self.originals: dict[Path, str | None] = {}

    def before_write(self, path: Path) -> None:
        """Remember the file as it was before the turn's first write to it."""
        if path not in self.originals:
            self.originals[path] = self._files.read(path)

    def diff(self) -> str:
        """One unified diff of every file the turn changed, original against now."""
        diffs = []
        for path, original in sorted(self.originals.items()):
            current = self._files.read(path)
            if original == current:
                continue
            diffs.append(diff_file(str(path), original, current))
        return aggregate_diff(diffs)
