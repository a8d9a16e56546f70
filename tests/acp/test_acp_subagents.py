"""Sub-agents through `tether acp`: a child is a `think` tool call of the parent's session,
updated live and ended with its answer, and its permission request reaches the client in the
parent's session, naming the agent (the complaint of codex-acp #238: children invisible)."""

from __future__ import annotations

import re
from pathlib import Path

from acp import schema as s

from tests.acp.client import Recorder, pick, tether_acp, validate_transcript
from tests.model_server import ModelServer, RecordedRequest, Reply, ToolCall


def _answer(request: RecordedRequest) -> Reply:
    texts = request.user_texts()
    outputs = request.tool_outputs()
    if texts and texts[0].startswith("ACP-CHILD"):
        if not outputs:
            return Reply(tool_calls=[ToolCall("shell", {"command": "python3 -c 'print(7)'"}, "c1")])
        return Reply(text="The child printed 7.")
    if not outputs:
        spawn = {"agent_type": "explorer", "prompt": "ACP-CHILD: print seven"}
        return Reply(tool_calls=[ToolCall("spawn_agent", spawn, "s1")])
    if len(outputs) == 1:
        (child,) = re.findall(r"as agent (thr_\w+)", outputs["s1"])
        return Reply(tool_calls=[ToolCall("wait_agents", {"ids": [child]}, "w1")])
    return Reply(text="Done.")


async def test_a_child_is_a_tool_call_and_asks_in_the_parents_session(
    env: dict[str, str], model_server: ModelServer, workspace: Path
) -> None:
    recorder = Recorder(chooser=pick("allow_once"))
    model_server.fallback = _answer
    async with tether_acp(recorder, env) as conn:
        session = await conn.new_session(cwd=str(workspace))
        sid = session.session_id
        await conn.set_session_mode(session_id=sid, mode_id="agent")
        done = await conn.prompt(
            session_id=sid, prompt=[s.TextContentBlock(type="text", text="go")]
        )
    assert done.stop_reason == "end_turn"
    (permission,) = recorder.permissions
    assert permission.session_id == sid  # the parent's: the child's thread is no ACP session
    assert permission.tool_call.title.startswith("Sub-agent explorer: python3 -c")
    child_call = next(t for t in recorder.of(sid, "tool_call") if t.kind == "think")
    assert child_call.title == "Sub-agent explorer: ACP-CHILD: print seven"
    assert child_call.raw_input["agentType"] == "explorer"
    final = recorder.tool_updates(sid, child_call.tool_call_id)[-1]
    assert final.status == "completed"
    assert final.raw_output["summary"] == "The child printed 7."
    assert recorder.text(sid) == "Done."  # the child's own messages stay in its thread
    validate_transcript(recorder.wire)
