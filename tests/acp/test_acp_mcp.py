"""`tether acp` with the editor's MCP servers (session/new mcpServers, issue 18): they start
with the session, need no trust (they are the user's, told by the editor), and their tools reach
the model."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from acp import schema as s

from tests.acp.client import Recorder, tether_acp
from tests.mcp.setup import SERVERS
from tests.model_server import ModelServer, Reply, ToolCall


async def test_session_mcp_servers_offer_their_tools(
    recorder: Recorder, env: dict[str, str], model_server: ModelServer, workspace: Path
) -> None:
    server = s.McpServerStdio(
        name="basic",
        command=sys.executable,
        args=[str(SERVERS / "basic.py")],
        env=[s.EnvVariable(name="GIVEN", value="by the editor")],
    )
    model_server.enqueue(
        Reply(tool_calls=[ToolCall("mcp__basic__env", {"name": "GIVEN"}, call_id="c1")]),
        Reply(text="done"),
    )
    async with tether_acp(recorder, env) as conn:
        init = await conn.initialize(protocol_version=1)
        assert init.agent_capabilities is not None
        assert init.agent_capabilities.mcp_capabilities is not None
        assert init.agent_capabilities.mcp_capabilities.http is True
        session = await conn.new_session(cwd=str(workspace), mcp_servers=[server])
        # The first prompts may come before the server is ready (the session does not wait
        # for it): ask again until the call went through.
        for _ in range(400):  # a hang guard of 80 s and more
            done = await conn.prompt(
                session_id=session.session_id,
                prompt=[s.TextContentBlock(type="text", text="what is GIVEN?")],
            )
            assert done.stop_reason == "end_turn"
            outputs = [r.tool_outputs().get("c1") or "" for r in model_server.requests]
            if any(o.startswith("by the editor") for o in outputs):
                break
            await asyncio.sleep(0.2)
            model_server.enqueue(
                Reply(tool_calls=[ToolCall("mcp__basic__env", {"name": "GIVEN"}, call_id="c1")]),
                Reply(text="done"),
            )
    outputs = [r.tool_outputs().get("c1") for r in model_server.requests]
    assert any(o and o.startswith("by the editor") for o in outputs), outputs
