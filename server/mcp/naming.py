"""The names MCP tools reach the model by: `mcp__<server>__<tool>`, as Codex and Claude Code
spell them (hooks match on them too).

Model APIs accept `[a-zA-Z0-9_-]{1,64}` for a function name: anything else becomes `_`, and a
longer name is cut to fit with a short hash of the full one at its end, so two long names that
share their start stay apart and the same tool keeps its name across restarts.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable

PREFIX = "mcp__"
MAX_NAME = 64
_HASH_LEN = 8


def clean(part: str) -> str:
    return re.sub(r"[^a-zA-Z0-9_-]", "_", part) or "_"


def model_tool_name(server: str, tool: str) -> str:
    """The name the model calls `tool` of `server` by."""
    full = f"{PREFIX}{clean(server)}__{clean(tool)}"
    if len(full) <= MAX_NAME:
        return full
    digest = hashlib.sha256(f"{server}\0{tool}".encode()).hexdigest()[:_HASH_LEN]
    return f"{full[: MAX_NAME - _HASH_LEN - 1]}_{digest}"


def unique_names(server: str, tools: list[str]) -> dict[str, str]:
    """model name -> tool name for one server's tools; two tools that clean to the same name
    (`a.b` and `a_b`) both stay callable, the later one with a hash suffix."""
    out: dict[str, str] = {}
    for tool in tools:
        name = model_tool_name(server, tool)
        if name in out:
            digest = hashlib.sha256(f"{server}\0{tool}".encode()).hexdigest()[:_HASH_LEN]
            name = f"{name[: MAX_NAME - _HASH_LEN - 1]}_{digest}"
        out[name] = tool
    return out


def is_mcp_tool(model_name: str) -> bool:
    return model_name.startswith(PREFIX)


def available_tools(names: Iterable[str], shown: int = 20) -> str:
    """Tool names for an error message: all of ours, MCP ones up to `shown` (300 tools' names
    would fill the model's context with one mistake)."""
    names = list(names)
    mcp = [n for n in names if is_mcp_tool(n)]
    listed = [n for n in names if not is_mcp_tool(n)] + mcp[:shown]
    more = f" and {len(mcp) - shown} more MCP tools" if len(mcp) > shown else ""
    return ", ".join(listed) + more
