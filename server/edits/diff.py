"""Structured hunks and unified diff text from an old and a new text.

Conventions (those of `diff -u` and git, so the text round-trips through standard tools):
- `old_start`/`new_start` are 1-based line numbers as in `@@ -a,b +c,d @@`; when a side has
  no lines (`old_lines == 0`, a pure insertion), its start is the number of the line *after
  which* the change goes, 0 at the top of the file.
- Hunks carry 3 lines of context by default; changes closer than twice the context share a
  hunk, so the context of two hunks never overlaps.
- `Hunk.lines` keep their " ", "-", "+" prefix *and* their own line terminator, so hunks can
  be applied and reverted byte for byte (CRLF files, a last line without a newline).
  `Hunk.wire_lines()` gives the terminator-free form for the protocol. The unified text keeps
  each line's own terminator as git does (so CRLF survives `git apply`), and marks a last
  line without a newline with "\\ No newline at end of file".
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from server.edits.linediff import matching_blocks
from server.edits.text import split_lines, strip_eol

FileKind = Literal["add", "delete", "update"]
NO_NEWLINE_MARKER = "\\ No newline at end of file"
DEFAULT_CONTEXT = 3


@dataclass(frozen=True)
class Hunk:
    """One hunk of a file's diff; `lines` keep prefixes and terminators (see module doc)."""

    index: int
    old_start: int
    old_lines: int
    new_start: int
    new_lines: int
    lines: tuple[str, ...]

    def old_side(self) -> list[str]:
        """The lines this hunk expects before it is applied (context and removed)."""
        return [line[1:] for line in self.lines if line[0] in " -"]

    def new_side(self) -> list[str]:
        """The lines this hunk leaves once applied (context and added)."""
        return [line[1:] for line in self.lines if line[0] in " +"]

    def wire_lines(self) -> list[str]:
        """Prefixed lines without terminators, as the protocol's `Hunk.lines`."""
        return [line[0] + strip_eol(line[1:]) for line in self.lines]

    def header(self) -> str:
        old = _range(self.old_start, self.old_lines)
        new = _range(self.new_start, self.new_lines)
        return f"@@ -{old} +{new} @@"


@dataclass(frozen=True)
class FileDiff:
    """The diff of one file: `path` is where the file is after the change (or was, if deleted);
    `old_path` is set when the change moved the file."""

    path: str
    kind: FileKind
    hunks: tuple[Hunk, ...]
    diff: str
    old_path: str | None = None


Change = tuple[int, int, int, int]
"""A changed region: old lines [i1, i2) became new lines [j1, j2) (0-based)."""


def changed_regions(old_lines: list[str], new_lines: list[str]) -> list[Change]:
    """The regions where the two line lists differ, in order, with no context."""
    changes: list[Change] = []
    i = j = 0
    for bi, bj, n in [*matching_blocks(old_lines, new_lines), (len(old_lines), len(new_lines), 0)]:
        if i < bi or j < bj:
            changes.append((i, bi, j, bj))
        i, j = bi + n, bj + n
    return changes


def compute_hunks(old: str, new: str, context: int = DEFAULT_CONTEXT) -> list[Hunk]:
    """The hunks turning `old` into `new`, indexed from 0 in file order."""
    a, b = split_lines(old), split_lines(new)
    groups: list[list[Change]] = []
    for change in changed_regions(a, b):
        if groups and change[0] - groups[-1][-1][1] <= 2 * context:
            groups[-1].append(change)
        else:
            groups.append([change])
    return [_build_hunk(index, group, a, b, context) for index, group in enumerate(groups)]


def _build_hunk(index: int, group: list[Change], a: list[str], b: list[str], context: int) -> Hunk:
    first, last = group[0], group[-1]
    i1 = max(0, first[0] - context)
    i2 = min(len(a), last[1] + context)
    j1 = first[2] - (first[0] - i1)
    j2 = last[3] + (i2 - last[1])
    lines: list[str] = []
    pos = i1
    for ci1, ci2, cj1, cj2 in group:
        lines.extend(" " + line for line in a[pos:ci1])
        lines.extend("-" + line for line in a[ci1:ci2])
        lines.extend("+" + line for line in b[cj1:cj2])
        pos = ci2
    lines.extend(" " + line for line in a[pos:i2])
    return Hunk(
        index=index,
        old_start=i1 + 1 if i2 > i1 else i1,
        old_lines=i2 - i1,
        new_start=j1 + 1 if j2 > j1 else j1,
        new_lines=j2 - j1,
        lines=tuple(lines),
    )


def _range(start: int, count: int) -> str:
    return str(start) if count == 1 else f"{start},{count}"


def _header_path(prefix: str, path: str | None, roots: Sequence[str]) -> str:
    if path is None:
        return "/dev/null"
    for root in roots:
        if path.startswith(root.rstrip("/") + "/"):
            return prefix + path[len(root.rstrip("/")) + 1 :]
    return prefix + path.lstrip("/")


def render_unified(
    old_path: str | None,
    new_path: str | None,
    hunks: Iterable[Hunk],
    roots: Sequence[str] = (),
) -> str:
    """Unified diff text with `--- a/...`/`+++ b/...` headers; None stands for /dev/null.
    A path under one of `roots` is written relative to it, as git writes paths."""
    out = [
        f"--- {_header_path('a/', old_path, roots)}\n",
        f"+++ {_header_path('b/', new_path, roots)}\n",
    ]
    for hunk in hunks:
        out.append(hunk.header() + "\n")
        for line in hunk.lines:
            if line.endswith("\n"):
                out.append(line)
            else:
                out.append(line + "\n" + NO_NEWLINE_MARKER + "\n")
    return "".join(out)


def diff_file(
    path: str,
    old: str | None,
    new: str | None,
    *,
    old_path: str | None = None,
    context: int = DEFAULT_CONTEXT,
    roots: Sequence[str] = (),
) -> FileDiff:
    """Diff one file. `old is None` means it is added, `new is None` that it is deleted;
    `old_path` (with both texts given) means it moved from there to `path`. A file that did
    not change has an empty diff text; the text names paths relative to `roots`."""
    if old is None and new is None:
        raise ValueError(f"diff_file({path!r}): old and new cannot both be None")
    kind: FileKind = "add" if old is None else "delete" if new is None else "update"
    hunks = tuple(compute_hunks(old or "", new or "", context))
    source = None if kind == "add" else (old_path or path)
    target = None if kind == "delete" else path
    moved_from = old_path if old_path not in (None, path) else None
    unchanged = kind == "update" and not hunks and moved_from is None
    text = "" if unchanged else render_unified(source, target, hunks, roots)
    return FileDiff(path, kind, hunks, text, moved_from)


def aggregate_diff(diffs: Iterable[FileDiff]) -> str:
    """One unified diff of many files, in the order given (for `turn/diff/updated`)."""
    return "".join(d.diff for d in diffs)
