"""What one turn changed on disk, by its edits and by its commands.

A git-independent checkpoint per turn (`server.edits.checkpoints`): before the turn's first
write to a path its content is stored; what each command created, changed or deleted in the
roots is recorded too. `turn/revert` restores all of it, and
`diff()` is the turn's aggregated diff (`turn/diff/updated`) against those originals.

Around each command the store's `RootTracker` (`server.edits.tracked`) finds what changed
from the root's inotify watch, at a cost that does not grow with the workspace; it walks the
root only when the watch cannot be trusted, and says so in the command's trackingNote. It runs in
a worker thread (the first snapshot of a big workspace takes seconds; the loop keeps answering).
A change that leaves a file holding exactly the editor's buffer of it is marked as maybe the
user's save (`CheckpointEntry.shared`): revert leaves it alone unless forced.

The diff never reads through a symlink: a symlink appears as one (its target
text, as git shows it), a path below a root is opened component by component without
following links (`safe_read.open_beneath`), secret paths and special files are never read,
and the whole diff is capped in files and bytes.
"""

from __future__ import annotations

import asyncio
import logging
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from sandbox.paths import PathDenied, resolve_for_read
from sandbox.policy import Policy, homes_of, secret_paths_for
from server.agent.files import EditorFiles
from server.agent.stream import TurnStream
from server.edits.blobs import BlobError
from server.edits.checkpoints import Checkpoint, CheckpointStore, FileState
from server.edits.diff import diff_file
from server.edits.safe_read import NotReadable, human_size, kind_of, open_beneath, read_fd
from server.edits.tracked import Mark

log = logging.getLogger(__name__)

DIFF_FILE_CAP = 2_000_000
"""Files larger than this (or binary) appear in the turn diff as a one-line note."""
DIFF_FILES_CAP = 300
"""Files shown in the turn diff; the rest are counted in a last line."""
DIFF_BYTES_CAP = 8_000_000
"""Bytes the turn diff reads from disk at most (it is rebuilt after every change)."""
SYMLINK_MODE = "120000"


@dataclass(frozen=True)
class _Side:
    """One side of a file's diff: its text (None: absent), or why it cannot be shown."""

    text: str | None
    link: bool = False
    note: str | None = None


_ABSENT = _Side(None)


def _text_side(data: bytes) -> _Side:
    """A file's bytes as diff text; bytes that are not UTF-8 text (a NUL, or an invalid
    sequence: compressed data often has no NUL early on) are a note, not text that the wire
    could not carry."""
    if b"\x00" in data[:8192]:
        return _Side(None, note="Binary or large file")
    try:
        return _Side(data.decode("utf-8"))
    except UnicodeDecodeError:
        return _Side(None, note="Binary or non-UTF-8 file")


class TurnFiles:
    def __init__(
        self,
        files: EditorFiles,
        store: CheckpointStore,
        turn_id: str,
        roots: list[Path],
        policy: Policy | None = None,
    ) -> None:
        self._files = files
        self._store = store
        self._roots = roots
        self._policy = policy or Policy("workspaceWrite", roots=tuple(roots))
        self._secrets = secret_paths_for(self._policy, homes_of())
        self.checkpoint: Checkpoint = store.open(turn_id)
        self.also: list[TurnFiles] = []
        """The turns of the sub-agents this turn spawned (`server.agent.subagents`): what they
        changed is part of this turn's diff."""
        self._before_command: list[Mark] = []

    def before_write(self, path: Path) -> None:
        """Remember the file as it was before the turn's first write to it. With a remote
        executor `EditorFiles.remote` keeps that (what the executor read), not the host."""
        if self._files.remote is None:
            self.checkpoint.record_before(path)

    def after_write(self, path: Path) -> None:
        if self._files.remote is None:
            self.checkpoint.record_after(path)

    def keep_text(self, text: str) -> str:
        """Store a text Tether wrote; its digest lets undo merge exactly later."""
        return self._store.blobs.put(text.encode("utf-8", errors="surrogateescape"))

    async def before_command(self, stream: TurnStream) -> None:
        """Snapshot the roots before a command. A root that cannot be walked is left out (its
        changes go unrecorded) and the user is told; the command still runs."""
        self._before_command = []
        for root in self._roots:
            try:
                mark = await asyncio.to_thread(self._store.begin_command, root, self._secrets)
            except Exception as exc:  # the command still runs; only its record is lost
                log.warning("could not snapshot %s before a command: %s", root, exc)
                stream.warn(f"What the next command changes cannot be recorded: {exc}.")
                continue
            self._before_command.append(mark)

    async def after_command(self, stream: TurnStream) -> str | None:
        """Record what the command changed; tell the client when it changed anything. Runs in
        the command's `finally`, interrupts included, so it must never raise: a failed
        snapshot costs the undo of that command's changes, not the turn. Returns what the
        snapshots gave up, in words for the command item (None when they saw everything)."""
        befores, self._before_command = self._before_command, []
        notes: list[str] = []
        try:
            changed = await asyncio.to_thread(self._record_command, befores, notes)
            if changed:
                stream.diff_updated(await asyncio.to_thread(self.diff))
        except Exception as exc:  # a bug or an odd file must cost the record, not the turn
            log.exception("could not record what a command changed")
            message = str(exc) or type(exc).__name__
            notes.append(f"What this command changed could not be recorded ({message}).")
            stream.warn(f"{notes[-1]} turn/revert may miss it.")
        return " ".join(notes) or None

    def _record_command(self, marks: list[Mark], notes: list[str]) -> list[str]:
        changed: list[str] = []
        for mark in marks:
            try:
                command = self._store.end_command(mark)
            except OSError as exc:
                notes.append(f"What this command changed could not be recorded: {exc}.")
                continue
            changed += self.checkpoint.record_command(command, self._editor_holds)
            if command.note and command.note not in notes:
                notes.append(command.note)
        return changed

    def _editor_holds(self, path: str, after: FileState) -> bool:
        """Whether the editor's buffer of `path` is exactly what the command left there."""
        buffered = self._files.open_buffer(Path(path))
        if buffered is None or after.digest is None:
            return False
        try:
            data = self._store.blobs.get(after.digest)
        except BlobError:
            return False
        return data == buffered.encode("utf-8", errors="surrogateescape")

    def diff(self) -> str:
        """One unified diff of every file the turn changed, original against now; a file
        that cannot be read or shown becomes a one-line note. Never raises on what is on
        disk."""
        if self._files.remote is not None:  # the executor's files, as read and written
            return "".join([self._files.remote.diff(), *(child.diff() for child in self.also)])
        diffs: list[str] = []
        budget = [DIFF_BYTES_CAP]
        changes = self.checkpoint.changes()
        for shown, path in enumerate(changes):
            if shown == DIFF_FILES_CAP:
                diffs.append(f"[... {len(changes) - shown} more changed files not shown ...]\n")
                break
            entry = self.checkpoint.data.entries[path]
            diffs.append(self._file_diff(path, self._before(entry.before), self._now(path, budget)))
        return "".join([*diffs, *(child.diff() for child in self.also)])

    def _file_diff(self, path: str, before: _Side, now: _Side) -> str:
        note = before.note or now.note
        if note is not None:
            return f"{note} ({path} changed)\n"
        if before == now:
            return ""
        text = diff_file(path, before.text, now.text).diff
        if not (before.link or now.link):
            return text
        if before.text is None:
            modes = f"new file mode {SYMLINK_MODE}\n"
        elif now.text is None:
            modes = f"deleted file mode {SYMLINK_MODE}\n"
        elif before.link != now.link:
            old, new = (SYMLINK_MODE, "100644") if before.link else ("100644", SYMLINK_MODE)
            modes = f"old mode {old}\nnew mode {new}\n"
        else:
            modes = ""
        rel = path.lstrip("/")
        return f"diff --git a/{rel} b/{rel}\n{modes}{text}"

    def _before(self, state: FileState) -> _Side:
        if not state.exists:
            return _ABSENT
        if state.link is not None:
            return _Side(state.link, link=True)
        if state.digest is None:
            return _Side(None, note="Binary or large file")
        data = self._store.blobs.get(state.digest)
        if len(data) > DIFF_FILE_CAP:
            return _Side(None, note="Binary or large file")
        return _text_side(data)

    def _now(self, path: str, budget: list[int]) -> _Side:
        """The file as it is now, read without following any symlink below its root."""
        try:
            info = os.lstat(path)
        except (FileNotFoundError, NotADirectoryError):
            return _ABSENT
        except OSError as exc:
            return _Side(None, note=f"Unreadable file ({exc.strerror})")
        if stat.S_ISLNK(info.st_mode):
            try:
                return _Side(os.readlink(path), link=True)
            except OSError as exc:
                return _Side(None, note=f"Unreadable symlink ({exc.strerror})")
        if not stat.S_ISREG(info.st_mode):
            return _Side(None, note=f"Now {kind_of(info.st_mode)}, not shown:")
        if info.st_size > min(DIFF_FILE_CAP, budget[0]):
            return _Side(None, note=f"Binary or large file ({human_size(info.st_size)})")
        # Runs in a worker thread: looking up a buffer only reads the editor's current text.
        buffered = self._files.open_buffer(Path(path))
        if buffered is not None:
            return _Side(buffered)
        try:
            data = self._read_below_root(path)
        except (FileNotFoundError, NotADirectoryError):
            return _ABSENT
        except OSError as exc:
            return _Side(None, note=f"Not shown: {exc}")
        budget[0] -= len(data)
        return _text_side(data)

    def _read_below_root(self, path: str) -> bytes:
        try:
            verdict = resolve_for_read(path, cwd=Path(path).parent, policy=self._policy)
        except PathDenied as exc:
            raise NotReadable(str(exc)) from None
        if verdict.secret:
            raise NotReadable(f"{path} is a secret path (credentials)")
        root = next((r for r in self._roots if Path(path).is_relative_to(r)), None)
        if root is None:  # an approved edit outside the roots: its own path, no final link
            root = Path(path).parent
        fd, info = open_beneath(root, os.path.relpath(path, root))
        try:
            return read_fd(fd, DIFF_FILE_CAP, path, info.st_size)
        finally:
            os.close(fd)
