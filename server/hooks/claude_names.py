"""Tether's tools as Claude Code presents them to hooks, so that matchers written for Claude
(`Bash`, `Edit|Write`, `mcp__github__.*`) fire and scripts find the fields they read.

| Tether      | tool_name | tool_input                                                  |
|-------------|-----------|-------------------------------------------------------------|
| shell       | Bash      | command, timeout (ms, as Claude's), description             |
| read_file   | Read      | file_path (absolute), offset, limit                         |
| edit_file   | Edit      | file_path, old_string, new_string, replace_all              |
| apply_patch | Write     | one event per file: file_path, content (new text), patch   |
| search      | Grep      | pattern, path, glob, -i                                     |
| list_dir    | LS        | path                                                        |
| update_plan | TodoWrite | todos: [{content, status (pending|in_progress|completed)}]  |
| other (MCP) | unchanged | the raw arguments                                           |

`tether_args` is the way back: a hook's `updatedInput` (Claude's fields) laid over the model's
arguments, which then go through the gate as if the model had sent them. For apply_patch a new
`patch` replaces the patch; a new `content` for one of its files makes a patch that writes each
file's text in whole (that file's from the hook, the others' as the patch would leave them).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from server.edits.patch import FileEdit, apply_patch, parse_patch
from server.edits.patch_apply import PatchError
from server.edits.safe_read import open_beneath, read_fd

HOOK_READ_CAP = 8 * 1024 * 1024
"""The largest file whose new text a Write event carries; a larger one's event has no content."""

CLAUDE_NAMES = {
    "shell": "Bash",
    "read_file": "Read",
    "edit_file": "Edit",
    "apply_patch": "Write",
    "search": "Grep",
    "list_dir": "LS",
    "update_plan": "TodoWrite",
}
_PLAN_STATUS = {"pending": "pending", "inProgress": "in_progress", "completed": "completed"}


def claude_name(tool: str) -> str:
    return CLAUDE_NAMES.get(tool, tool)


def claude_inputs(tool: str, args: dict[str, Any], cwd: Path) -> list[dict[str, Any]]:
    """The tool_input of each event the call makes: one, except apply_patch's one per file."""
    if tool == "apply_patch":
        return _patch_inputs(str(args.get("patch", "")), cwd)
    return [claude_input(tool, args, cwd)]


def claude_input(tool: str, args: dict[str, Any], cwd: Path) -> dict[str, Any]:
    def absolute(p: Any) -> str:
        return str(cwd / str(p)) if p else str(cwd)

    if tool == "shell":
        out: dict[str, Any] = {"command": args.get("command", "")}
        if args.get("timeout_s") is not None:
            out["timeout"] = int(float(args["timeout_s"]) * 1000)
        if args.get("justification"):
            out["description"] = args["justification"]
        return out
    if tool == "read_file":
        out = {"file_path": absolute(args.get("path"))}
        start, end = args.get("start_line"), args.get("end_line")
        if start is not None:
            out["offset"] = start
        if end is not None:
            out["limit"] = end - (start or 1) + 1
        return out
    if tool == "edit_file":
        return {
            "file_path": absolute(args.get("path")),
            "old_string": args.get("old_string", ""),
            "new_string": args.get("new_string", ""),
            "replace_all": bool(args.get("replace_all", False)),
        }
    if tool == "search":
        out = {"pattern": args.get("pattern", ""), "path": absolute(args.get("path"))}
        if args.get("glob"):
            out["glob"] = args["glob"]
        if args.get("case_insensitive"):
            out["-i"] = True
        return out
    if tool == "list_dir":
        return {"path": absolute(args.get("path"))}
    if tool == "update_plan":
        return {
            "todos": [
                {
                    "content": s.get("text", ""),
                    "status": _PLAN_STATUS.get(str(s.get("status")), "pending"),
                }
                for s in args.get("steps", [])
                if isinstance(s, dict)
            ]
        }
    return dict(args)


def _reader(cwd: Path) -> Callable[[str], str | None]:
    """What a patch's file holds now, for the text a hook is shown: read below `cwd` through no
    symlink, at most `HOOK_READ_CAP`, and never from a FIFO or device (a model's patch may
    name one; the real edit refuses it later). Anything unreadable reads as missing."""

    def read(name: str) -> str | None:
        relative = Path(name)
        if relative.is_absolute():
            if not relative.is_relative_to(cwd):
                return None
            relative = relative.relative_to(cwd)
        try:
            fd, info = open_beneath(cwd, str(relative))
        except OSError:
            return None
        try:
            return read_fd(fd, HOOK_READ_CAP, name, info.st_size).decode()
        except (OSError, UnicodeDecodeError):
            return None
        finally:
            os.close(fd)

    return read


def _patch_with_content(patch: str, cwd: Path, file_path: str, content: str) -> str:
    """The patch, with `file_path`'s resulting text replaced by `content`; unchanged when the
    patch does not apply or does not touch that file."""
    try:
        edits = apply_patch(parse_patch(patch), _reader(cwd))
    except (PatchError, OSError):
        return patch
    target = Path(file_path)
    if not any(cwd / e.path == target for e in edits):
        return patch
    ops = [_whole_file_op(e, content if cwd / e.path == target else e.new_text) for e in edits]
    return "\n".join(["*** Begin Patch", *ops, "*** End Patch"])


def _whole_file_op(edit: FileEdit, new_text: str | None) -> str:
    def lines(prefix: str, text: str) -> list[str]:
        return [prefix + line for line in text.splitlines()]

    if new_text is None:
        return f"*** Delete File: {edit.path}"
    if edit.old_text is None:
        return "\n".join([f"*** Add File: {edit.path}", *lines("+", new_text)])
    head = [f"*** Update File: {edit.old_path or edit.path}"]
    if edit.old_path:
        head.append(f"*** Move to: {edit.path}")
    body = [*lines("-", edit.old_text), *lines("+", new_text)]
    return "\n".join([*head, "@@", *body])


def _patch_inputs(patch: str, cwd: Path) -> list[dict[str, Any]]:
    """One Write per file the patch touches, with the file's text after it; a patch that does
    not parse or apply still makes one event (with its raw text) so a validator sees it."""

    try:
        edits = apply_patch(parse_patch(patch), _reader(cwd))
    except (PatchError, OSError):
        return [{"file_path": "", "content": "", "patch": patch}]
    return [
        {"file_path": str(cwd / e.path), "content": e.new_text or "", "patch": patch} for e in edits
    ]


def tether_args(
    tool: str, args: dict[str, Any], updated: dict[str, Any], cwd: Path
) -> dict[str, Any]:
    """The model's arguments with a hook's `updatedInput` (Claude's field names) laid over."""
    out = dict(args)
    if tool == "shell":
        if "command" in updated:
            out["command"] = updated["command"]
        if "timeout" in updated:
            out["timeout_s"] = float(updated["timeout"]) / 1000
    elif tool == "read_file":
        if "file_path" in updated:
            out["path"] = updated["file_path"]
        start = updated.get("offset", out.get("start_line"))
        if "offset" in updated:
            out["start_line"] = start
        if "limit" in updated:
            out["end_line"] = (start or 1) + int(updated["limit"]) - 1
    elif tool == "edit_file":
        if "file_path" in updated:
            out["path"] = updated["file_path"]
        for key in ("old_string", "new_string", "replace_all"):
            if key in updated:
                out[key] = updated[key]
    elif tool == "apply_patch":
        if "patch" in updated:
            out["patch"] = updated["patch"]
        elif isinstance(updated.get("content"), str) and updated.get("file_path"):
            out["patch"] = _patch_with_content(
                str(args.get("patch", "")), cwd, str(updated["file_path"]), updated["content"]
            )
    elif tool == "search":
        for ours, theirs in (("pattern", "pattern"), ("path", "path"), ("glob", "glob")):
            if theirs in updated:
                out[ours] = updated[theirs]
        if "-i" in updated:
            out["case_insensitive"] = bool(updated["-i"])
    elif tool == "list_dir":
        if "path" in updated:
            out["path"] = updated["path"]
    elif tool == "update_plan":
        if "todos" in updated:
            back = {v: k for k, v in _PLAN_STATUS.items()}
            out["steps"] = [
                {"text": t.get("content", ""), "status": back.get(str(t.get("status")), "pending")}
                for t in updated["todos"]
                if isinstance(t, dict)
            ]
    else:
        out = dict(updated)
    return out
