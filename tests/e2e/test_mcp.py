"""MCP servers end to end: the real server, the scripted model, real MCP servers (issue 18).

The servers are tests/mcp/servers/* (the SDK's server side), started by Tether over stdio in
the thread's sandbox, or over streamable HTTP on 127.0.0.1.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.e2e.harness import Tether
from tests.mcp.setup import python_server, write_user_config
from tests.model_server import ModelServer, Reply, ToolCall


async def ready(tether: Tether, thread_id: str, name: str, timeout: float = 30.0) -> dict[str, Any]:
    note = await tether.wait_for(
        "mcpServer/statusChanged",
        lambda p: p["threadId"] == thread_id
        and p["server"]["name"] == name
        and p["server"]["status"] == "ready",
        timeout,
    )
    return note["server"]


async def test_stdio_tool_call_reaches_the_model(
    tether: Tether, model_server: ModelServer, workspace: Path, tmp_path: Path
) -> None:
    write_user_config(tmp_path / "home", {"basic": python_server("basic.py")})
    thread = await tether.start_thread(workspace, mode="agent")
    server = await ready(tether, thread["id"], "basic")
    assert server["sandbox"] == "workspaceWrite" and server["transport"] == "stdio"
    assert "mcp__basic__echo" in [t["modelName"] for t in server["tools"]]
    model_server.enqueue(
        Reply(tool_calls=[ToolCall("mcp__basic__echo", {"text": "hi"}, call_id="c1")]),
        Reply(text="done"),
    )
    turn = await tether.run_turn(thread["id"], "echo hi")
    assert turn["status"] == "completed", turn
    assert "mcp__basic__echo" in model_server.requests[0].tools
    assert model_server.requests[1].tool_outputs()["c1"].startswith("echo: hi")
    (item,) = tether.items(turn, "mcpToolCall")
    assert item["server"] == "basic" and item["tool"] == "echo" and item["status"] == "completed"
    assert item["arguments"] == {"text": "hi"}
    assert item["result"]["content"] == [{"type": "text", "text": "echo: hi"}]
    assert isinstance(item["durationMs"], int)
    listed = await tether.request("mcpServer/list", {"threadId": thread["id"]})
    assert [s["name"] for s in listed["servers"]] == ["basic"]
    assert listed["servers"][0]["status"] == "ready"
    assert json.dumps(listed)  # plain JSON
