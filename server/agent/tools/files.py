"""read_file and list_dir: reading the workspace as the editor shows it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from protocol.item import ToolCallItem
from server.agent.model import ToolSpec
from server.agent.tools.base import Tool, ToolContext, ToolFailed
from server.agent.tools.items import as_tool_item
from server.agent.tools.ripgrep import run_rg

READ_LINE_CAP = 2000
LIST_ENTRY_CAP = 400


def display_path(path: Path, cwd: Path) -> str:
    try:
        return str(path.relative_to(cwd)) or "."
    except ValueError:
        return str(path)


async def read_file(args: dict[str, Any], ctx: ToolContext, _call_id: str) -> str:
    start = max(int(args.get("start_line") or 1), 1)
    end = args.get("end_line")
    shown = args["path"] + (f" (lines {start}-{end or 'end'})" if start > 1 or end else "")

    async def work(item: ToolCallItem) -> str:
        path = await ctx.gate.readable(args["path"], item)
        if path.is_dir():
            raise ToolFailed(f"{args['path']} is a directory; use list_dir to see what it holds.")
        try:
            text = ctx.files.read_for_model(path)
        except FileNotFoundError:
            raise ToolFailed(
                f"{args['path']} does not exist. Use list_dir or search to find the right path."
            ) from None
        except OSError as exc:
            raise ToolFailed(f"{args['path']} could not be read: {exc.strerror}.") from None
        if "\x00" in text[:8192]:
            return f"{args['path']} is a binary file ({path.stat().st_size} bytes); not shown."
        lines = text.splitlines()
        last = min(int(end) if end else len(lines), len(lines), start + READ_LINE_CAP - 1)
        if start > len(lines) and lines:
            raise ToolFailed(f"{args['path']} has only {len(lines)} lines.")
        body = "\n".join(f"{n:>6}\t{lines[n - 1]}" for n in range(start, last + 1))
        if last < len(lines):
            body += (
                f"\n[... lines {last + 1}-{len(lines)} not shown; read them with "
                f"start_line={last + 1} ...]"
            )
        return body or "(empty file)"

    return await as_tool_item(ctx, "read_file", args, f"Read {shown}", work)


async def list_dir(args: dict[str, Any], ctx: ToolContext, _call_id: str) -> str:
    depth = min(max(int(args.get("depth") or 2), 1), 6)
    requested = args.get("path") or "."

    async def work(item: ToolCallItem) -> str:
        root = await ctx.gate.readable(requested, item)
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
