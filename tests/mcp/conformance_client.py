"""The client side of `npx @modelcontextprotocol/conformance client`: Tether's own MCP client
(`server.mcp.connection.Connection`, the code a thread uses) pointed at the scenario's server.

    python -m tests.mcp.conformance_client URL

It connects over streamable HTTP, lists the tools, calls each with arguments made from its
schema (numbers 1 and 2, strings "x"), and answers elicitations the way Tether's client UI
does when the user accepts a form as shown: with the schema's defaults filled in.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Any

import mcp_types as types

from sandbox.policy import Policy
from server.mcp.config import parse_server
from server.mcp.connection import Connection, Placement


def sample_arguments(schema: dict[str, Any]) -> dict[str, Any]:
    values = {"number": 1, "integer": 2, "string": "x", "boolean": True}
    props: dict[str, Any] = schema.get("properties", {})
    return {name: values.get(p.get("type"), "x") for name, p in props.items()}


async def accept_defaults(_defn: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
    if isinstance(params, types.ElicitRequestURLParams):
        return types.ElicitResult(action="accept")
    props = params.requested_schema.get("properties", {})
    content = {k: p["default"] for k, p in props.items() if "default" in p}
    return types.ElicitResult(action="accept", content=content)


async def main(url: str) -> int:
    defn = parse_server("conformance", {"url": url, "startup_timeout_sec": 20}, "cli", False)
    placement = Placement(lambda _n: Policy(kind="workspaceWrite"), "none", Path.cwd(), os.environ)
    conn = Connection(defn, placement, lambda _c: None, accept_defaults)
    conn.start()
    try:
        await conn.wait_settled(25)
        if conn.status != "ready":
            print(f"not ready: {conn.error}", file=sys.stderr)
            return 1
        for tool in conn.tools:
            result = await conn.call(tool.name, sample_arguments(tool.input_schema or {}))
            print(tool.name, [c.model_dump(exclude_none=True) for c in result.content])
        return 0
    finally:
        await conn.stop()


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[-1])))
