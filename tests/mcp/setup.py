"""Writing MCP server configurations for the tests, and the test servers' command lines."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

SERVERS = Path(__file__).resolve().parent / "servers"


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)} = {toml_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(value)


def server_toml(servers: dict[str, dict[str, Any]]) -> str:
    out: list[str] = []
    for name, entry in servers.items():
        out.append(f"[mcp_servers.{json.dumps(name)}]")
        out.extend(f"{k} = {toml_value(v)}" for k, v in entry.items())
        out.append("")
    return "\n".join(out)


def write_user_config(home: Path, servers: dict[str, dict[str, Any]], extra: str = "") -> Path:
    home.mkdir(parents=True, exist_ok=True)
    path = home / "config.toml"
    path.write_text(extra + "\n" + server_toml(servers))
    return path


def python_server(script: str, *args: str, **entry: Any) -> dict[str, Any]:
    """An entry running tests/mcp/servers/<script> with this interpreter."""
    return {"command": sys.executable, "args": [str(SERVERS / script), *args], **entry}
