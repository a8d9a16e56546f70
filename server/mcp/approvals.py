"""acceptAlways for an MCP tool: `approval_mode = "approve"` for it in the user's config.toml.

The file is the user's: it is edited as text, not rewritten from a parse (comments, order and
spelling stay), written atomically, and read back to check that the edit says what was meant;
an edit that would not (a table spelled in a way this does not find) is refused with a message
instead of risking the file. The table is `[mcp_servers.<server>.tools.<tool>]` (Codex's
place); for a server defined by a project it holds only approvals, which `server.mcp.config`
applies over the project's definition.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import tomllib
from pathlib import Path
from typing import Any

EDIT_ATTEMPTS = 3
"""Tries of the edit when config.toml changes under it, before giving up with a message."""


def _key(part: str) -> str:
    return part if re.fullmatch(r"[A-Za-z0-9_-]+", part) else json.dumps(part)


def remember_approve(home: Path, server: str, tool: str) -> None:
    """Write `approval_mode = "approve"` for `tool` of `server`; OSError/ValueError say why not.
    The file changed meanwhile (the user saved it, another window's Tether wrote it): the edit
    is made again on what is there now, so neither write is lost."""
    path = home / "config.toml"
    for _attempt in range(EDIT_ATTEMPTS):
        if path.is_symlink():
            raise ValueError(f"{path} is a symlink; Tether does not write through it")
        text = path.read_text() if path.exists() else ""
        new = _edited(text, path, server, tool)
        home.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=home, prefix=".config.toml.")
        try:
            with os.fdopen(fd, "w") as f:
                f.write(new)
            if path.exists():
                os.chmod(tmp, path.stat().st_mode & 0o7777)
            if (path.read_text() if path.exists() else "") != text:
                Path(tmp).unlink()
                continue
            os.replace(tmp, path)
            return
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    raise ValueError(f"{path} kept changing while Tether edited it; set it there by hand")


def _edited(text: str, path: Path, server: str, tool: str) -> str:
    data = tomllib.loads(text)  # a broken file is not edited (TOMLDecodeError is a ValueError)
    header = f"[mcp_servers.{_key(server)}.tools.{_key(tool)}]"
    current = _tool_table(data, server, tool)
    if current is None:
        new = text + ("" if text.endswith("\n") or not text else "\n")
        new += f'\n{header}\napproval_mode = "approve"\n'
    else:
        new = _set_in_table(text, header, current)
    check = _tool_table(tomllib.loads(new), server, tool)
    if check is None or check.get("approval_mode") != "approve":
        raise ValueError(f"could not find {header} in {path} to edit; set it there by hand")
    return new


def _tool_table(data: dict[str, Any], server: str, tool: str) -> dict[str, Any] | None:
    table = data.get("mcp_servers", {}).get(server, {}).get("tools", {}).get(tool)
    return table if isinstance(table, dict) else None


def _set_in_table(text: str, header: str, current: dict[str, Any]) -> str:
    """The text with the table's approval_mode set (or added under its header)."""
    lines = text.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if line.strip() == header), None)
    if start is None:
        return text  # spelled otherwise (inline table, quoted differently): the check refuses
    end = next(
        (i for i in range(start + 1, len(lines)) if lines[i].lstrip().startswith("[")), len(lines)
    )
    for i in range(start + 1, end):
        if re.match(r"\s*approval_mode\s*=", lines[i]):
            lines[i] = 'approval_mode = "approve"\n'
            return "".join(lines)
    lines.insert(start + 1, 'approval_mode = "approve"\n')
    return "".join(lines)
