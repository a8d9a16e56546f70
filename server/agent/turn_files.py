"""What one turn changed on disk, by its edits and by its commands.

A git-independent checkpoint per turn (`server.edits.checkpoints`): before the turn's first
write to a path its content is stored; each command runs between two snapshots of the roots,
so what it created, changed or deleted is recorded too. `turn/revert` restores all of it, and
`diff()` is the turn's aggregated diff (`turn/diff/updated`) against those originals.
"""

from __future__ import annotations

import logging
from pathlib import Path

from server.agent.files import EditorFiles
from server.agent.stream import TurnStream
from server.edits.checkpoints import Checkpoint, CheckpointStore
from server.edits.diff import diff_file
from server.edits.snapshot import Manifest

log = logging.getLogger(__name__)

DIFF_FILE_CAP = 2_000_000
"""Files larger than this (or binary) appear in the turn diff as a one-line note."""


class TurnFiles:
    def __init__(
        self, files: EditorFiles, store: CheckpointStore, turn_id: str, roots: list[Path]
    ) -> None:
        self._files = files
        self._store = store
        self._roots = roots
        self.checkpoint: Checkpoint = store.open(turn_id)
        self._before_command: list[Manifest] = []

    def before_write(self, path: Path) -> None:
        """Remember the file as it was before the turn's first write to it."""
        self.checkpoint.record_before(path)

    def after_write(self, path: Path) -> None:
        self.checkpoint.record_after(path)

    def keep_text(self, text: str) -> str:
        """Store a text Tether wrote; its digest lets undo merge exactly later."""
        return self._store.blobs.put(text.encode("utf-8", errors="surrogateescape"))

    def before_command(self) -> None:
        self._before_command = [self._store.snapshot(root) for root in self._roots]

    def after_command(self, stream: TurnStream) -> None:
        """Record what the command changed; tell the client when it changed anything. Runs in
        the command's `finally`, interrupts included, so it must never raise: a failed
        snapshot costs the undo of that command's changes, not the turn."""
        changed: list[str] = []
        try:
            for before in self._before_command:
                after = self._store.snapshot(before.root)
                changed += self.checkpoint.record_command(before, after)
        except OSError as exc:
            log.warning("could not record what a command changed: %s", exc)
            stream.warn(
                f"What the last command changed could not be recorded ({exc}); "
                "turn/revert may miss it."
            )
        self._before_command = []
        if changed:
            stream.diff_updated(self.diff())

    def diff(self) -> str:
        """One unified diff of every file the turn changed, original against now."""
        diffs = []
        for path, _kind in self.checkpoint.changes().items():
            entry = self.checkpoint.data.entries[path]
            before = self._text_of(entry.before.digest) if entry.before.exists else None
            now = self._files.read(Path(path))
            if before is None and entry.before.exists:
                diffs.append(f"Binary or large file {path} changed\n")
                continue
            if now is not None and (len(now) > DIFF_FILE_CAP or "\x00" in now[:8192]):
                diffs.append(f"Binary or large file {path} changed\n")
                continue
            if before == now:
                continue
            diffs.append(diff_file(path, before, now).diff)
        return "".join(diffs)

    def _text_of(self, digest: str | None) -> str | None:
        if digest is None:
            return None
        data = self._store.blobs.get(digest)
        if len(data) > DIFF_FILE_CAP or b"\x00" in data[:8192]:
            return None
        return data.decode("utf-8", errors="surrogateescape")
