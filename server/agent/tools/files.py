"""read_file and list_dir: reading the workspace as the editor shows it."""

from __future__ import annotations

import asyncio
import codecs
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from protocol.item import ToolCallItem
from server.agent.errors import ToolFailed
from server.agent.executor_files import ExecutorFiles
from server.agent.model import ToolSpec
from server.agent.tools.base import Tool, ToolContext
from server.agent.tools.items import as_tool_item
from server.agent.tools.ripgrep import run_rg
from server.edits.safe_read import CHUNK, NotRegularFile, human_size, open_regular

READ_LINE_CAP = 2000
LINE_CHAR_CAP = 4000
"""Longer lines are cut (a minified bundle, a file of zeros without a newline)."""
SCAN_CAP = 64 * 1024 * 1024
"""read_file reads at most this much of a file to find the requested lines."""
BINARY_SNIFF = 8192
LIST_ENTRY_CAP = 400


async def read_file(args: dict[str, Any], ctx: ToolContext, _call_id: str) -> str:
    start = max(int(args.get("start_line") or 1), 1)
    end = int(args["end_line"]) if args.get("end_line") else None
    shown = args["path"] + (f" (lines {start}-{end or 'end'})" if start > 1 or end else "")

    async def work(item: ToolCallItem) -> str:
        path = await ctx.gate.clear_read(ctx.stream, item, args["path"])
        buffered = await ctx.files.fetch_buffer(path)
        try:
            if ctx.files.remote is not None:  # the workspace is the executor's, not this host's
                window = await remote_window(ctx.files.remote, path, start, end)
            elif buffered is not None:
                window = buffer_window(buffered, start, end)
            else:  # off the event loop: even a bounded read of a slow disk must not stall it
                window = await asyncio.to_thread(read_disk_window, path, start, end)
        except FileNotFoundError:
            raise ToolFailed(
                f"{args['path']} does not exist. Use list_dir or search to find the right path."
            ) from None
        except NotRegularFile as exc:
            hint = "; use list_dir to see what it holds" if exc.kind == "a directory" else ""
            raise ToolFailed(f"{args['path']} is {exc.kind}; not read{hint}.") from None
        except OSError as exc:
            raise ToolFailed(f"{args['path']} could not be read: {exc.strerror or exc}.") from None
        return window.render(args["path"], start)

    return await as_tool_item(ctx, "read_file", args, f"Read {shown}", work)


@dataclass
class LineWindow:
    """The lines of a file shown to the model, and what it should know about the rest."""

    lines: list[tuple[int, str]]
    size: int
    total: int | None
    """How many lines the file has; None when it was too large to count them all."""
    binary: bool = False

    def render(self, name: str, start: int) -> str:
        if self.binary:
            return f"{name} is a binary file ({self.size} bytes); not shown."
        if not self.lines:
            if self.total is not None and start > self.total and self.total:
                raise ToolFailed(f"{name} has only {self.total} lines.")
            if self.total is None:
                raise ToolFailed(
                    f"{name} is {human_size(self.size)}; line {start} is beyond the first "
                    f"{human_size(SCAN_CAP)} Tether scans. Use shell (e.g. sed -n or tail -c) "
                    "for that part."
                )
            return "(empty file)"
        body = "\n".join(f"{n:>6}\t{text}" for n, text in self.lines)
        last = self.lines[-1][0]
        if self.total is not None and last < self.total:
            body += (
                f"\n[... lines {last + 1}-{self.total} not shown; read them with "
                f"start_line={last + 1} ...]"
            )
        elif self.total is None:
            body += (
                f"\n[... {name} is {human_size(self.size)}; more lines follow. Read them with "
                f"start_line={last + 1} ...]"
            )
        return body


def read_disk_window(path: Path, start: int, end: int | None) -> LineWindow:
    """The requested lines of a file on disk, reading at most `SCAN_CAP` bytes of it (a 2 GB
    sparse file costs one window, not 2 GB of memory); refuses FIFOs, devices and sockets."""
    fd, info = open_regular(path)
    try:
        if b"\x00" in os.pread(fd, BINARY_SNIFF, 0):
            return LineWindow([], info.st_size, 0, binary=True)
        last = _last_line(start, end)
        shown = [(n, text) for n, text in enumerate(_fd_lines(fd, last), 1) if n >= start]
        return LineWindow(shown, info.st_size, _count_lines(fd))
    finally:
        os.close(fd)


async def remote_window(
    remote: ExecutorFiles, path: Path, start: int, end: int | None
) -> LineWindow:
    """The requested lines of a file read through the executor (`ExecutorFiles`)."""
    text = await remote.fetch(path)
    if text is None:
        raise FileNotFoundError(path)
    data = text.encode("utf-8", errors="surrogateescape")
    if b"\x00" in data[:BINARY_SNIFF]:
        return LineWindow([], len(data), 0, binary=True)
    return buffer_window(data.decode("utf-8", errors="replace"), start, end)


def buffer_window(text: str, start: int, end: int | None) -> LineWindow:
    lines = text.splitlines()
    shown = lines[start - 1 : _last_line(start, end)]
    return LineWindow([(start + i, _cut(t)) for i, t in enumerate(shown)], len(text), len(lines))


def _last_line(start: int, end: int | None) -> int:
    cap = start + READ_LINE_CAP - 1
    return cap if end is None else min(end, cap)


def _fd_lines(fd: int, last: int) -> Iterator[str]:
    """Lines 1..`last` of `fd` (undecodable bytes replaced, each cut to `LINE_CHAR_CAP`),
    within its first `SCAN_CAP` bytes; a line never grows past the cap in memory."""
    decoder = codecs.getincrementaldecoder("utf-8")("replace")
    partial, offset, count = "", 0, 0
    while offset < SCAN_CAP:
        chunk = os.pread(fd, min(CHUNK, SCAN_CAP - offset), offset)
        if not chunk:
            break
        offset += len(chunk)
        *complete, rest = decoder.decode(chunk).split("\n")
        for piece in complete:
            yield _cut(partial + piece)
            partial = ""
            count += 1
            if count == last:
                return
        partial = (partial + rest)[: LINE_CHAR_CAP + 1]
    else:
        return  # the scan cap: what lies further is not shown
    partial += decoder.decode(b"", final=True)
    if partial:
        yield _cut(partial)


def _count_lines(fd: int) -> int | None:
    """How many lines `fd` holds; None when it is longer than `SCAN_CAP`."""
    count, offset, last_byte = 0, 0, b"\n"
    while chunk := os.pread(fd, CHUNK, offset):
        if offset >= SCAN_CAP:
            return None
        count += chunk.count(b"\n")
        offset += len(chunk)
        last_byte = chunk[-1:]
    return count + (last_byte != b"\n")


def _cut(line: str) -> str:
    line = line.removesuffix("\r")
    if len(line) <= LINE_CHAR_CAP:
        return line
    return line[:LINE_CHAR_CAP] + f" [... line cut at {LINE_CHAR_CAP} characters ...]"


async def list_dir(args: dict[str, Any], ctx: ToolContext, _call_id: str) -> str:
    depth = min(max(int(args.get("depth") or 2), 1), 6)
    requested = args.get("path") or "."

    async def work(item: ToolCallItem) -> str:
        root = await ctx.gate.clear_read(ctx.stream, item, requested)
        if ctx.files.remote is not None:
            return await remote_listing(ctx.files.remote, root, requested)
        if not root.is_dir():
            raise ToolFailed(f"{requested} is not a directory.")
        # rg --files lists what .gitignore keeps, like the user's view of the project.
        result = await run_rg(
            [
                "--files",
                "--hidden",
                "--glob",
                "!.git",
                "--max-depth",
                str(depth),
                "--sort",
                "path",
            ],
            cwd=root,
        )
        files = [line for line in result.stdout.splitlines() if line]
        entries: set[str] = set()
        for f in files:
            parts = Path(f).parts
            for i in range(1, len(parts)):
                entries.add("/".join(parts[:i]) + "/")
            entries.add(f)
        listing = sorted(entries)
        more = len(listing) - LIST_ENTRY_CAP
        text = "\n".join(listing[:LIST_ENTRY_CAP])
        if more > 0:
            text += f"\n[... {more} more entries; list a subdirectory or lower depth ...]"
        return text or "(empty, or everything in it is ignored by .gitignore)"

    return await as_tool_item(ctx, "list_dir", args, f"List {requested}", work)


async def remote_listing(remote: ExecutorFiles, root: Path, requested: str) -> str:
    """One level of a directory in the executor's workspace; the executor does not say which
    entries are directories, so there is no recursion and no .gitignore."""
    try:
        names = await remote.list_dir(root)
    except OSError as exc:
        raise ToolFailed(f"{requested} could not be listed in the executor: {exc}") from None
    more = len(names) - LIST_ENTRY_CAP
    text = "\n".join(names[:LIST_ENTRY_CAP])
    if more > 0:
        text += f"\n[... {more} more entries; list a subdirectory ...]"
    note = "(one level, in the executor's workspace; use shell to look deeper)"
    return f"{text}\n{note}" if text else f"(empty) {note}"


READ_FILE = Tool(
    ToolSpec(
        "read_file",
        "Read a text file (the editor's unsaved buffer when it is open). Lines are numbered "
        "from 1. "
        f"At most {READ_LINE_CAP} lines per call; use start_line/end_line for more.",
        {
            "type": "object",
            "properties": {
                "path": {"type": "string", "description": "Path, absolute or relative to the cwd."},
                "start_line": {"type": "integer", "description": "First line to read (1-based)."},
                "end_line": {"type": "integer", "description": "Last line to read (inclusive)."},
            },
            "required": ["path"],
        },
    ),
    read_file,
)

LIST_DIR = Tool(
    ToolSpec(
        "list_dir",
        "List files and directories under a path, recursively to `depth` (default 2), "
        "skipping what .gitignore ignores. Directories end with '/'.",
        {
            "type": "object",
            "properties": {
                "path": {"type": "string", "description": "Directory; default the cwd."},
                "depth": {"type": "integer", "description": "How deep to list (1-6)."},
            },
        },
    ),
    list_dir,
)
