"""search: ripgrep over the workspace, respecting .gitignore.

rg follows no symlink and skips FIFOs and devices while it walks; a path given that is one of
them is refused before rg could block on it. A matched file the editor holds with unsaved
changes (over ACP: the client's `fs/read_text_file`) is searched in that text instead.
Matches in secret files (a workspace that is $HOME holds ~/.ssh) are dropped unless the mode
is fullAccess, as `read_file` refuses them.
"""

from __future__ import annotations

import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

from protocol.item import ToolCallItem
from sandbox.paths import PathDenied, resolve_for_read
from server.agent.errors import ToolFailed
from server.agent.model import ToolSpec
from server.agent.tools.base import Tool, ToolContext
from server.agent.tools.items import as_tool_item
from server.agent.tools.ripgrep import rg_inside, run_rg
from server.edits.safe_read import kind_of

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
        path = await ctx.gate.clear_read(ctx.stream, item, requested)
        if ctx.files.remote is not None:  # ripgrep would search this host's tree, not the Pod's
            raise ToolFailed(
                f"search runs on this host, and the workspace is in the "
                f"{ctx.files.remote.executor.kind} executor; search it with shell "
                "(e.g. grep -rn PATTERN PATH)."
            )
        refuse_special(path, requested)
        rg: list[str] = list(RG_FLAGS)
        if args.get("case_insensitive"):
            rg.append("--ignore-case")
        if args.get("fixed_strings"):
            rg.append("--fixed-strings")
        if glob := args.get("glob"):
            rg += ["--glob", str(glob)]
        confined = ctx.gate.reader_sandbox() if rg_inside(ctx.conversation.roots) else None
        result = await run_rg([*rg, "-e", pattern, "--", str(path)], cwd=ctx.cwd, confined=confined)
        shown = _not_secret(ctx)
        found = [line for line in result.stdout.splitlines() if shown(line)]
        if confined is None:
            found = await _in_buffers(found, ctx, rg, pattern)
        lines = [display_line(line, ctx) for line in found]
        if not lines:
            return f"No matches for {pattern!r} in {requested}."
        text = "\n".join(lines[:MATCH_CAP])
        if len(lines) > MATCH_CAP:
            text += f"\n[... {len(lines) - MATCH_CAP} more matches; narrow the search ...]"
        return text

    return await as_tool_item(ctx, "search", args, f"Search {pattern!r} in {requested}", work)


BUFFER_FILES_CAP = 20
"""Files with matches whose editor text is searched again (the first ones, in rg's order)."""


async def _in_buffers(lines: list[str], ctx: ToolContext, rg: list[str], pattern: str) -> list[str]:
    """The disk's matches, where the editor's text of a matched file differs from its disk
    (an open buffer with unsaved changes; over ACP, what `fs/read_text_file` answers) with
    that file's matches replaced by rg's matches in that text. A file whose only matches are
    unsaved is not found: ACP cannot list a client's unsaved buffers."""
    by_file: dict[str, list[str]] = {}
    for line in lines:
        by_file.setdefault(line.partition(":")[0], []).append(line)
    # The glob chose the files already; rg would not apply it to stdin's label anyway.
    flags = [f for i, f in enumerate(rg) if f != "--glob" and (i == 0 or rg[i - 1] != "--glob")]
    out: list[str] = []
    for index, (name, found) in enumerate(by_file.items()):
        path = Path(name)
        text = await ctx.files.client_text(path) if index < BUFFER_FILES_CAP else None
        if text is None or text == ctx.files.disk_or_none(path):
            out += found
            continue
        again = await run_rg(
            [*flags, "--no-filename", "-e", pattern, "-"],
            cwd=ctx.cwd,
            stdin=text.encode("utf-8", errors="surrogateescape"),
        )
        out += [f"{name}:{line}" for line in again.stdout.splitlines()]
    return out


def refuse_special(path: Path, requested: str) -> None:
    """ToolFailed unless `path` is a directory or a regular file (rg would block on a FIFO)."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return  # rg reports a missing path itself
    if not (stat.S_ISDIR(mode) or stat.S_ISREG(mode)):
        raise ToolFailed(f"{requested} is {kind_of(mode)}; not searched.")


def _not_secret(ctx: ToolContext) -> Callable[[str], bool]:
    """A filter keeping rg output lines whose file is not a secret path."""
    if not ctx.gate.hides_secrets():
        return lambda _line: True
    policy = ctx.gate.file_policy()
    verdicts: dict[str, bool] = {}

    def shown(line: str) -> bool:
        path = line.partition(":")[0]
        if path not in verdicts:
            try:
                verdicts[path] = not resolve_for_read(path, cwd=ctx.cwd, policy=policy).secret
            except PathDenied:
                verdicts[path] = True  # rg follows no symlink: what it read is what it names
        return verdicts[path]

    return shown


def display_path(path: Path, cwd: Path) -> str:
    """`path` relative to the cwd when inside it, else as it is."""
    try:
        return str(path.relative_to(cwd)) or "."
    except ValueError:
        return str(path)


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
