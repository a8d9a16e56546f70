"""Reading and writing workspace files the way the user sees them.

Reads prefer the editor's open buffer; a client that keeps its buffers to itself (an ACP
editor) answers read_file and the edit tools' reads (`prefetch`) through a `DocumentSource`,
asked once the gate cleared the path.
Writes to a file whose buffer has unsaved changes go through the editor (`workspace/applyEdit`),
so they land in that buffer and its undo stack; everything else is written atomically on disk,
keeping the file's mode. Disk reads go through `server.edits.safe_read`: bounded, never a FIFO
or a device, never through a final symlink (callers pass the gate's resolved path).
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from pathlib import Path

from protocol.base import Position, Range
from protocol.lsp import ApplyWorkspaceEditParams, TextEdit, WorkspaceEdit
from sandbox.paths import PathDenied, resolve_for_read
from sandbox.policy import Policy
from server.agent.client import Notifier
from server.agent.executor_files import ExecutorFiles
from server.edits.atomic import atomic_delete, atomic_write
from server.edits.safe_read import NotReadable, human_size, read_bounded, read_head

EDIT_READ_CAP = 32 * 1024 * 1024
"""Largest file the edit tools and undo read whole; a larger one is refused with its size."""
MODEL_READ_CAP = 1024 * 1024
"""Bytes of a file given to the model at once (attachments); the attachment cut is smaller."""


DocumentSource = Callable[[str, Path], Awaitable[str | None]]
"""(thread id, resolved path) -> the client's text of that file, None to read the disk. It
decides itself which paths it asks the client about (`server.acp`: inside the roots, no secret)."""


class EditorFiles:
    def __init__(
        self,
        read_buffer: Callable[[Path], str | None],
        client: Notifier,
        documents: Callable[[Path], Awaitable[str | None]] | None = None,
        remote: ExecutorFiles | None = None,
    ) -> None:
        self.remote = remote
        """The executor's files, when its workspace is not this host's tree
        (`server.agent.executor_files`); the host's buffers and disk are then not used."""
        self._read_buffer = read_buffer if remote is None else _no_buffer
        self._client = client
        self._documents = documents if remote is None else None
        self._fetched: dict[Path, str] = {}
        """The client's text of files an edit is about to read (`prefetch`)."""
        self._written: set[Path] = set()
        """Files this turn wrote on disk: the client's buffer of them is behind from then on."""

    def read(self, path: Path) -> str | None:
        """The text the user sees, or None when there is no such file; undecodable bytes
        survive a round trip (surrogateescape), for edits."""
        if self.remote is not None:
            return self.remote.seen(path)
        buffered = self._read_buffer(path)
        if buffered is None:
            buffered = self._fetched.get(path)
        return buffered if buffered is not None else self.disk(path)

    async def prefetch(self, path: Path) -> None:
        """Before an edit reads `path` (cleared by the gate): the client's text of it, when it
        keeps its buffers (`DocumentSource`), so the edit applies to what the user sees,
        unsaved changes included. The write still happens here, on disk; after it the file is
        read from the disk, since the client's buffer no longer has it. With a remote executor
        this reads the file from it (an error is kept for `read`)."""
        if self.remote is not None:
            with contextlib.suppress(OSError):
                await self.remote.fetch(path)
            return
        if self._read_buffer(path) is None and (text := await self.client_text(path)):
            self._fetched[path] = text

    async def client_text(self, path: Path) -> str | None:
        """The editor's text of `path` (cleared by the gate): its open buffer, else what the
        client's `DocumentSource` answers; None when neither has it, or once this turn wrote
        the file (the client's buffer is then behind the disk)."""
        if path in self._written:
            return None
        buffered = self._read_buffer(path)
        if buffered is None and self._documents is not None:
            buffered = self._fetched.get(path) or await self._documents(path)
        return buffered

    def open_buffer(self, path: Path) -> str | None:
        """The editor's buffer of `path`, None when it is not open."""
        return self._read_buffer(path)

    async def fetch_buffer(self, path: Path) -> str | None:
        """`open_buffer`, else what the client's `DocumentSource` answers (for read_file; the
        gate has cleared `path`)."""
        buffered = self._read_buffer(path)
        if buffered is None and self._documents is not None:
            return await self._documents(path)
        return buffered

    def read_for_model(self, path: Path) -> str:
        """The text the user sees, for the model to read (undecodable bytes replaced; at most
        `MODEL_READ_CAP` bytes of a disk file); raises OSError when the file cannot be read,
        with a message saying why (`safe_read.NotReadable`)."""
        buffered = self._read_buffer(path)
        if buffered is not None:
            return buffered
        # The user attached this path: follow its links as the editor does, but never into a
        # credential (a `leak.txt -> ~/.ssh/id_rsa` a command left).
        try:
            verdict = resolve_for_read(path, cwd=path.parent, policy=Policy("fullAccess"))
        except PathDenied as exc:
            raise NotReadable(str(exc)) from None
        if verdict.secret:
            raise NotReadable(f"{path} leads to a secret file (credentials); not read.")
        head, size = read_head(verdict.path, MODEL_READ_CAP)
        if b"\x00" in head[:8192]:
            raise NotReadable(f"{path} is a binary file ({human_size(size)}); not read.")
        return head.decode("utf-8", errors="replace")

    def disk(self, path: Path) -> str | None:
        """The file's text on disk, None when it does not exist; OSError when it is not a
        regular file or is larger than `EDIT_READ_CAP`."""
        try:
            data = read_bounded(path, EDIT_READ_CAP)
        except (FileNotFoundError, NotADirectoryError):
            return None
        return data.decode("utf-8", errors="surrogateescape")

    def disk_or_none(self, path: Path) -> str | None:
        """`disk`, None as well when the file cannot be read whole."""
        try:
            return self.disk(path)
        except OSError:
            return None

    def has_unsaved_changes(self, path: Path) -> bool:
        buffered = self._read_buffer(path)
        return buffered is not None and buffered != self.disk(path)

    async def write(self, path: Path, text: str, *, beneath: Path) -> None:
        """Write `path`, resolved below `beneath` (its workspace root) without following any
        symlink; see `server.edits.atomic`."""
        if self.remote is not None:
            await self.remote.write(path, text)
            self._written.add(path)
            return
        if self.has_unsaved_changes(path):
            await self._apply_in_editor(path, text)
            return
        atomic_write(path, text.encode("utf-8", errors="surrogateescape"), beneath=beneath)
        self._fetched.pop(path, None)
        self._written.add(path)

    def delete(self, path: Path, *, beneath: Path) -> None:
        if self.remote is not None:
            raise OSError(
                f"{self.remote.executor.kind} executor: deleting {path} is not supported by the "
                "file tools; delete it with a shell command"
            )
        atomic_delete(path, missing_ok=True, beneath=beneath)
        self._fetched.pop(path, None)
        self._written.add(path)

    async def _apply_in_editor(self, path: Path, text: str) -> None:
        # A range past the end is clamped to the document's end by the editor, which avoids
        # counting UTF-16 code units for the last line.
        line_count = (self._read_buffer(path) or "").count("\n") + 1
        whole = Range(Position(0, 0), Position(line_count, 0))
        edit = WorkspaceEdit({path.as_uri(): [TextEdit(whole, text)]})
        answer = await self._client.request(ApplyWorkspaceEditParams(edit, label="Tether"))
        if not answer.applied:
            reason = answer.failure_reason or "the editor refused the edit"
            raise OSError(f"could not apply the edit in the open editor: {reason}")


def _no_buffer(_path: Path) -> str | None:
    """The host editor's buffers are not the remote executor's files."""
    return None
