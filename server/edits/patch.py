"""Parse and apply the Codex `apply_patch` format, the one OpenAI models are trained to write.

    *** Begin Patch
    *** Add File: path            then the file's lines, each prefixed "+"
    *** Delete File: path
    *** Update File: path
    *** Move to: new/path         (optional, right after Update File)
    @@ optional context line      one or more hunks of " ", "-", "+" lines; several "@@"
                                  lines in a row narrow down (class, then method)
    *** End of File               (optional, the hunk ends at the end of the file)
    *** End Patch

Parsing yields operations; applying computes new contents from old ones without touching
the disk: the caller passes a function that returns a path's current text (or None when
there is no such file) and gets back one `FileEdit` per file. Paths are passed to that
function exactly as the patch wrote them; resolving them is the caller's business.

Tolerances, as Codex's: text around the Begin/End markers (heredoc, code fences) is ignored;
the first hunk may omit its "@@"; an empty line inside a hunk is an empty context line;
"@@ -12,5 +12,6 @@" unified headers are accepted; context is matched exactly, then ignoring
trailing whitespace, then surrounding whitespace and unicode punctuation (see `seek`).
Every error names the file, the patch line and what to do, because its reader is the model.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from server.edits.diff import FileKind
from server.edits.patch_apply import PatchError, UpdateChunk, apply_update

__all__ = [
    "AddFile",
    "DeleteFile",
    "FileEdit",
    "PatchError",
    "PatchOp",
    "UpdateChunk",
    "UpdateFile",
    "apply_patch",
    "parse_patch",
]

BEGIN = "*** Begin Patch"
END = "*** End Patch"
ADD = "*** Add File: "
DELETE = "*** Delete File: "
UPDATE = "*** Update File: "
MOVE = "*** Move to: "
END_OF_FILE = "*** End of File"
_UNIFIED_HEADER = re.compile(r"^-\d+(?:,\d+)? \+\d+(?:,\d+)? @@")


@dataclass(frozen=True)
class AddFile:
    path: str
    contents: str


@dataclass(frozen=True)
class DeleteFile:
    path: str


@dataclass(frozen=True)
class UpdateFile:
    path: str
    move_to: str | None
    chunks: tuple[UpdateChunk, ...]


PatchOp = AddFile | DeleteFile | UpdateFile


@dataclass(frozen=True)
class FileEdit:
    """The net effect of a patch on one file. `old_text is None` for a file the patch adds,
    `new_text is None` for one it deletes; `old_path` is set when it moved the file there."""

    path: str
    old_text: str | None
    new_text: str | None
    old_path: str | None = None

    @property
    def kind(self) -> FileKind:
        return "add" if self.old_text is None else "delete" if self.new_text is None else "update"


def parse_patch(text: str) -> list[PatchOp]:
    """Parse a patch into operations, or raise `PatchError` saying what is wrong where."""
    lines = [line.rstrip("\r") for line in text.split("\n")]
    begin = next((i for i, line in enumerate(lines) if line.strip() == BEGIN), None)
    if begin is None:
        looks_unified = any(line.startswith(("--- ", "+++ ", "diff --git")) for line in lines)
        hint = (
            f" This looks like a unified diff; write '{BEGIN}', then '{UPDATE}<path>' and its "
            f"'@@' hunks, then '{END}'."
            if looks_unified
            else ""
        )
        raise PatchError(f"The patch must start with a line '{BEGIN}'.{hint}")
    end = next((i for i in range(len(lines) - 1, begin, -1) if lines[i].strip() == END), None)
    if end is None:
        raise PatchError(
            f"The patch must end with a line '{END}'; it may have been cut off. "
            "Send the whole patch again."
        )
    parser = _Parser(lines, begin + 1, end)
    ops = parser.parse()
    if not ops:
        raise PatchError("The patch contains no file operations; nothing was changed.")
    return ops


class _Parser:
    def __init__(self, lines: list[str], start: int, end: int) -> None:
        self.lines = lines
        self.i = start
        self.end = end

    def parse(self) -> list[PatchOp]:
        ops: list[PatchOp] = []
        while self.i < self.end:
            header = self.lines[self.i].strip()
            if not header:
                self.i += 1
            elif header.startswith(ADD.strip()):
                ops.append(self._add(self._path(header, ADD)))
            elif header.startswith(DELETE.strip()):
                ops.append(DeleteFile(self._path(header, DELETE)))
                self.i += 1
            elif header.startswith(UPDATE.strip()):
                ops.append(self._update(self._path(header, UPDATE)))
            else:
                hint = (
                    " Every line of an added file starts with '+'."
                    if ops and isinstance(ops[-1], AddFile)
                    else ""
                )
                raise PatchError(
                    f"Patch line {self.i + 1}: '{header}' is not a file header. Each file "
                    f"section starts with '{ADD}<path>', '{DELETE}<path>' or '{UPDATE}<path>'."
                    + hint
                )
        return ops

    def _path(self, header: str, marker: str) -> str:
        path = header[len(marker.strip()) :].strip()
        if not path:
            raise PatchError(f"Patch line {self.i + 1}: '{marker.strip()}' needs a path after it.")
        return path

    def _add(self, path: str) -> AddFile:
        self.i += 1
        body: list[str] = []
        while self.i < self.end:
            line = self.lines[self.i]
            # A bare empty line between "+" lines is a blank line the model forgot to prefix.
            blank = line == "" and self.i + 1 < self.end and self.lines[self.i + 1].startswith("+")
            if not (line.startswith("+") or blank):
                break
            body.append(line[1:] + "\n")
            self.i += 1
        return AddFile(path, "".join(body))

    def _update(self, path: str) -> UpdateFile:
        self.i += 1
        move_to = None
        if self.i < self.end and self.lines[self.i].strip().startswith(MOVE.strip()):
            move_to = self._path(self.lines[self.i].strip(), MOVE)
            self.i += 1
        chunks: list[UpdateChunk] = []
        while self.i < self.end:
            line = self.lines[self.i]
            if line.startswith("***") and line.strip() != END_OF_FILE:
                break
            if not line.strip() and not chunks:
                self.i += 1
                continue
            chunks.append(self._chunk(path, first=not chunks))
        if not chunks and move_to is None:
            raise PatchError(
                f"Patch line {self.i}: the update of {path} has no hunks. Add '@@' hunks of "
                "' ' context, '-' removed and '+' added lines, or leave the file out."
            )
        return UpdateFile(path, move_to, tuple(chunks))

    def _chunk(self, path: str, first: bool) -> UpdateChunk:
        start = self.i
        line = self.lines[self.i]
        contexts: list[str] = []
        if line.startswith("@@"):
            # Several "@@" lines in a row narrow down step by step: "@@ class A", "@@ def f".
            while self.i < self.end and self.lines[self.i].startswith("@@"):
                header = self.lines[self.i][2:].strip()
                if header and not _UNIFIED_HEADER.match(header):
                    contexts.append(header)
                self.i += 1
        elif not first or line.strip() == END_OF_FILE:
            raise PatchError(
                f"Patch line {self.i + 1} (update of {path}): expected a hunk starting with "
                f"'@@', found '{line}'."
            )
        body: list[str] = []
        at_end = False
        while self.i < self.end:
            line = self.lines[self.i]
            if line.strip() == END_OF_FILE:
                at_end = True
                self.i += 1
                break
            if line.startswith(("***", "@@")):
                break
            if line.startswith("\\ No newline"):
                self.i += 1  # copied from a unified diff; the file's own ending is kept
                continue
            if line and line[0] not in " +-":
                raise PatchError(
                    f"Patch line {self.i + 1} (update of {path}): '{line}' is not a hunk "
                    "line. Every hunk line starts with ' ' (context), '-' (removed) or "
                    "'+' (added)."
                )
            body.append(line or " ")
            self.i += 1
        if not body:
            raise PatchError(
                f"Patch line {start + 1} (update of {path}): the hunk has no lines. Give its "
                "' ' context, '-' removed and '+' added lines."
            )
        return UpdateChunk(tuple(contexts), tuple(body), at_end, start + 1)


ReadText = Callable[[str], str | None]


def apply_patch(ops: Sequence[PatchOp], read: ReadText) -> list[FileEdit]:
    """Apply operations in order over the texts `read` returns; one `FileEdit` per file,
    in the order the patch first touched them. Raises `PatchError`; nothing is written."""
    view = _View(read)
    for op in ops:
        if isinstance(op, AddFile):
            if view.get(op.path) is not None:
                raise PatchError(
                    f"Cannot add {op.path}: it already exists. Use '{UPDATE}{op.path}' to "
                    "change it, or delete it earlier in the same patch to replace it."
                )
            view.set(op.path, op.contents)
        elif isinstance(op, DeleteFile):
            if view.get(op.path) is None:
                raise PatchError(f"Cannot delete {op.path}: there is no such file.")
            view.set(op.path, None)
        else:
            _apply_update_op(view, op)
    return view.edits()


def _apply_update_op(view: _View, op: UpdateFile) -> None:
    text = view.get(op.path)
    if text is None:
        raise PatchError(
            f"Cannot update {op.path}: there is no such file. Check the path, or use "
            f"'{ADD}{op.path}' to create it."
        )
    new_text = apply_update(op.path, text, op.chunks)
    if op.move_to is None or op.move_to == op.path:
        view.set(op.path, new_text)
        return
    if view.get(op.move_to) is not None:
        raise PatchError(
            f"Cannot move {op.path} to {op.move_to}: that file already exists. Delete it "
            "first in the same patch, or choose another name."
        )
    view.set(op.path, None)
    view.set(op.move_to, new_text)
    view.moved[op.move_to] = op.path


class _View:
    """The files as the patch has left them so far, over what `read` returns."""

    def __init__(self, read: ReadText) -> None:
        self.read = read
        self.original: dict[str, str | None] = {}
        self.current: dict[str, str | None] = {}
        self.moved: dict[str, str] = {}

    def get(self, path: str) -> str | None:
        if path not in self.current:
            self.original[path] = self.current[path] = self.read(path)
        return self.current[path]

    def set(self, path: str, text: str | None) -> None:
        self.get(path)
        self.current[path] = text

    def edits(self) -> list[FileEdit]:
        edits: list[FileEdit] = []
        consumed: set[str] = set()
        sources: dict[str, str] = {}
        for dst in self.moved:
            src = self._first_source(dst)
            moved_whole = self.original[dst] is None and self.current[src] is None
            if moved_whole and self.current[dst] is not None:
                sources[dst] = src
                consumed.update((src, dst))
        for path, before in self.original.items():
            after = self.current[path]
            if path in consumed:
                if path in sources:
                    src = sources[path]
                    edits.append(FileEdit(path, self.original[src], after, old_path=src))
            elif before is not None or after is not None:
                edits.append(FileEdit(path, before, after))
        return edits

    def _first_source(self, dst: str) -> str:
        """Follow a chain of moves (a to b, then b to c) back to the file that existed."""
        src = self.moved[dst]
        while src in self.moved and self.original[src] is None:
            src = self.moved[src]
        return src
