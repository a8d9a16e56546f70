"""apply_patch (the Codex patch format OpenAI models are trained on) and edit_file (exact string
replacement, for other models). Both end in `changes.review_and_apply`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from server.agent.changes import review_and_apply
from server.agent.errors import ToolFailed
from server.agent.model import ToolSpec
from server.agent.tools.base import Tool, ToolContext
from server.edits.patch import FileEdit, apply_patch, parse_patch
from server.edits.patch_apply import PatchError
from server.edits.replace import ReplaceError, replace_exact


async def apply_patch_tool(args: dict[str, Any], ctx: ToolContext, _call_id: str) -> str:
    try:
        ops = parse_patch(args["patch"])
    except PatchError as exc:
        raise ToolFailed(str(exc)) from None
    resolved: dict[str, Path] = {}

    def read(name: str) -> str | None:
        return ctx.files.read(resolved[name])

    for op in ops:
        for name in (op.path, getattr(op, "move_to", None)):
            if name and name not in resolved:
                resolved[name] = ctx.gate.clear_write(name)
    for path in resolved.values():
        await ctx.files.prefetch(path)
    try:
        edits = apply_patch(ops, read)
    except (PatchError, OSError) as exc:  # OSError: a FIFO, a device, a file too large
        raise ToolFailed(f"{exc} Nothing was changed.") from None
    return await review_and_apply(
        ctx,
        [
            FileEdit(
                str(resolved[e.path]),
                e.old_text,
                e.new_text,
                str(resolved[e.old_path]) if e.old_path else None,
            )
            for e in edits
        ],
    )


async def edit_file_tool(args: dict[str, Any], ctx: ToolContext, _call_id: str) -> str:
    path = ctx.gate.clear_write(args["path"])
    old_string, new_string = args["old_string"], args["new_string"]
    await ctx.files.prefetch(path)
    try:
        current = ctx.files.read(path)
    except OSError as exc:  # a FIFO, a device, a file too large to edit
        raise ToolFailed(f"{exc} Nothing was changed.") from None
    if current is None:
        if old_string:
            raise ToolFailed(
                f"{args['path']} does not exist. To create it, call edit_file "
                "with an empty old_string and the whole content as new_string."
            )
        return await review_and_apply(ctx, [FileEdit(str(path), None, new_string)])
    try:
        result = replace_exact(
            args["path"], current, old_string, new_string, bool(args.get("replace_all"))
        )
    except ReplaceError as exc:
        raise ToolFailed(str(exc)) from None
    return await review_and_apply(ctx, [FileEdit(str(path), current, result.text)])


PATCH_HELP = """Edit files with a patch in this format:
*** Begin Patch
*** Add File: path/new.py
+line of the new file
*** Update File: path/existing.py
*** Move to: path/renamed.py   (optional)
@@ def function_or_class_header (optional: a line to find first)
 context line (starts with a space)
-removed line
+added line
*** Delete File: path/old.py
*** End Patch
Give 3 lines of context around each change; paths are relative to the working directory. The \
user may review and accept only some hunks; the result tells you what was applied."""

APPLY_PATCH = Tool(
    ToolSpec(
        "apply_patch",
        PATCH_HELP,
        {
            "type": "object",
            "properties": {
                "patch": {
                    "type": "string",
                    "description": "The whole patch, from *** Begin Patch to *** End Patch.",
                },
            },
            "required": ["patch"],
        },
    ),
    apply_patch_tool,
)

EDIT_FILE = Tool(
    ToolSpec(
        "edit_file",
        "Replace an exact string in a file. old_string must match the file exactly (whitespace "
        "included) and only once unless replace_all is true; include enough context to make it "
        "unique. With an empty old_string on a missing file, creates it with new_string.",
        {
            "type": "object",
            "properties": {
                "path": {"type": "string"},
                "old_string": {"type": "string"},
                "new_string": {"type": "string"},
                "replace_all": {"type": "boolean"},
            },
            "required": ["path", "old_string", "new_string"],
        },
    ),
    edit_file_tool,
)
