"""search: ripgrep over the workspace, respecting .gitignore."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from protocol.item import ToolCallItem
from server.agent.model import ToolSpec
from server.agent.tools.base import Tool, ToolContext
from server.agent.tools.files import display_path
from server.agent.tools.items import as_tool_item
from server.agent.tools.ripgrep import run_rg

MATCH_CAP = 200
RG_FLAGS: tuple[str, ...] = (
    "--line-number",
    "--no-heading",
    "--color=never",
    "--max-columns=300",
    "--max-columns-preview",
    "--max-count=50",
    "--hidden",
    "--glob",
    "!.git",
)
"""How the search tool runs ripgrep (the benchmark compares against the same flags)."""


async def search(args: dict[str, Any], ctx: ToolContext, _call_id: str) -> str:
    pattern: str = args["pattern"]
    requested = args.get("path") or "."

    async def work(item: ToolCallItem) -> str:
        path = await ctx.gate.readable(requested, item)
        rg: list[str] = list(RG_FLAGS)
        if args.get("case_insensitive"):
            rg.append("--ignore-case")
        if args.get("fixed_strings"):
            rg.append("--fixed-strings")
        if glob := args.get("glob"):
            rg += ["--glob", str(glob)]
        result = await run_rg([*rg, "-e", pattern, "--", str(path)], cwd=ctx.cwd)
        lines = [display_line(line, ctx) for line in result.stdout.splitlines()]
        if not lines:
            return f"No matches for {pattern!r} in {requested}."
        text = "\n".join(lines[:MATCH_CAP])
        if len(lines) > MATCH_CAP:
            text += f"\n[... {len(lines) - MATCH_CAP} more matches; narrow the search ...]"
        return text

    return await as_tool_item(ctx, "search", args, f"Search {pattern!r} in {requested}", work)


def display_line(line: str, ctx: ToolContext) -> str:
    """`/abs/path:12:text` -> `path:12:text`, relative to the cwd when inside it."""
    path, sep, rest = line.partition(":")
    if not sep:
        return line
    return f"{display_path(Path(path), ctx.cwd)}:{rest}"


SEARCH = Tool(
    ToolSpec(
        "search",
        "Search file contents with ripgrep (Rust regex syntax) under a path, skipping what "
        ".gitignore ignores. Returns path:line:text matches.",
        {
            "type": "object",
            "properties": {
                "pattern": {
                    "type": "string",
                    "description": "Regular expression (or literal text with fixed_strings).",
                },
                "path": {"type": "string", "description": "File or directory; default the cwd."},
                "glob": {
                    "type": "string",
                    "description": "Only files matching this glob, e.g. '*.py'.",
                },
                "case_insensitive": {"type": "boolean"},
                "fixed_strings": {
                    "type": "boolean",
                    "description": "Treat pattern as literal text.",
                },
            },
            "required": ["pattern"],
        },
    ),
    search,
)
