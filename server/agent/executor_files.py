"""The workspace's files through the thread's executor, when its workspace is not this host's.

With an executor whose `shares_host_files` is false (Kubernetes: the workspace is in the Pod)
the file tools read, write and list through `Executor.read_file` / `write_file` / `list_dir`
instead of the host tree. Only the file access moves: the gate still clears every path, the
mode's approvals and per-hunk review still happen here, and protected paths are refused before
the executor is asked. The turn's diff is built from what the executor gave before the turn's
first write to a file and what Tether wrote to it since (`diff`): a command's changes in the
Pod are not seen by it, and the editor's buffers (of host files) are not consulted.
"""

from __future__ import annotations

from collections.abc import Awaitable
from pathlib import Path
from typing import TypeVar

from sandbox.errors import SandboxError
from sandbox.executor import Executor
from server.edits.diff import diff_file

T = TypeVar("T")

READ_CAP = 32 * 1024 * 1024
"""Largest file read through the executor for an edit or the model (as `files.EDIT_READ_CAP`)."""


class ExecutorFiles:
    """One turn's view of the executor's files: what was read, and what the turn changed."""

    def __init__(self, executor: Executor) -> None:
        self.executor = executor
        self._seen: dict[Path, str | OSError | None] = {}
        """Each file as last read or written through the executor: its text, None when absent,
        or why it could not be read."""
        self._original: dict[Path, str | None] = {}
        """Each file the turn wrote, as it was before the first write."""

    async def fetch(self, path: Path) -> str | None:
        """The file's text in the executor's workspace, None when there is none; OSError when
        it is not a regular file or is too large (`READ_CAP`). Kept for `seen`."""
        try:
            data = await _reached(self.executor.read_file(path))
            if len(data) > READ_CAP:
                raise OSError(f"{path} is {len(data)} bytes, more than Tether edits at once")
        except (FileNotFoundError, NotADirectoryError):
            self._seen[path] = None
            return None
        except OSError as exc:
            self._seen[path] = exc
            raise
        text = data.decode("utf-8", errors="surrogateescape")
        self._seen[path] = text
        return text

    def seen(self, path: Path) -> str | None:
        """What `fetch` last gave (or `write` wrote); OSError when it failed or never ran."""
        found = self._seen.get(path, OSError(f"{path} was not read from the executor"))
        if isinstance(found, OSError):
            raise found
        return found

    async def write(self, path: Path, text: str) -> None:
        """Write `path`; OSError, writing nothing, when it changed in the executor's workspace
        since it was read (during the review, by a command), so no one's work is clobbered."""
        known = self._seen.get(path)
        before = await self.fetch(path)
        if path in self._seen and not isinstance(known, OSError) and before != known:
            raise OSError(f"{path} changed in the {self.executor.kind} workspace after it was read")
        self._original.setdefault(path, before)
        await _reached(self.executor.write_file(path, text.encode("utf-8", "surrogateescape")))
        self._seen[path] = text

    async def list_dir(self, path: Path) -> list[str]:
        return await _reached(self.executor.list_dir(path))

    def diff(self) -> str:
        """The turn's diff of the files it wrote: before the first write against now."""
        return "".join(
            diff_file(str(path), before, now).diff
            for path, before in sorted(self._original.items())
            if not isinstance(now := self._seen.get(path), OSError)
        )


async def _reached(call: Awaitable[T]) -> T:
    """`call`, with the executor's own failure (no Pod yet, no cluster) as an OSError, which the
    file tools turn into a message for the model."""
    try:
        return await call
    except SandboxError as exc:
        raise OSError(f"the executor could not reach its workspace: {exc}") from None
