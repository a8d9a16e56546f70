"""tether_sdk and sub-agents, against the real server and the scripted model: a child's
approval reaches the client's callback naming the child and its parent, and a callback that
raises on it cancels the child's turn and is raised by the parent thread's run."""

from __future__ import annotations

from pathlib import Path

import pytest

from protocol.approval import CommandApprovalParams, CommandApprovalResult
from protocol.item import SubagentItem
from protocol.turn import TurnCompletedNotification
from tests.model_server import ModelServer, Reply, ToolCall
from tether_sdk import Tether


def _script(model_server: ModelServer) -> None:
    model_server.enqueue(
        Reply(
            tool_calls=[
                ToolCall("spawn_agent", {"agent_type": "explorer", "prompt": "SDK-CHILD: run"}),
                ToolCall("wait_agents", {"ids": []}),
            ]
        ),
        Reply(tool_calls=[ToolCall("shell", {"command": "python3 -c 'print(9)'"})]),
        Reply(text="the child is done"),
        Reply(text="the parent is done"),
    )


async def test_a_childs_approval_names_it_and_reaches_the_callback(
    model_server: ModelServer, workspace: Path, tmp_path: Path
) -> None:
    asked: list[CommandApprovalParams] = []

    def accept(request: CommandApprovalParams) -> CommandApprovalResult:
        asked.append(request)
        return CommandApprovalResult(decision="accept")

    _script(model_server)
    env = {**model_server.env(), "TETHER_HOME": str(tmp_path / "home")}
    async with Tether(workspace, env=env, mode="agent", on_command_approval=accept) as t:
        thread = await t.start_thread()
        result = await thread.run("delegate")
    (request,) = asked
    assert request.parent_thread_id == thread.id and request.agent_type == "explorer"
    assert request.thread_id != thread.id
    (item,) = [i for i in result.items if isinstance(i, SubagentItem)]
    assert result.final_response == "the parent is done"
    assert item.status == "completed" and item.summary == "the child is done"


async def test_a_raising_callback_on_a_childs_approval_is_raised_by_the_parents_run(
    model_server: ModelServer, workspace: Path, tmp_path: Path
) -> None:
    def broken(request: CommandApprovalParams) -> CommandApprovalResult:
        raise RuntimeError("the approval UI crashed")

    _script(model_server)
    model_server.enqueue(Reply(text="the parent is done"))
    env = {**model_server.env(), "TETHER_HOME": str(tmp_path / "home")}
    async with Tether(workspace, env=env, mode="agent", on_command_approval=broken) as t:
        thread = await t.start_thread()
        seen = []
        with pytest.raises(RuntimeError, match="the approval UI crashed"):
            async for event in thread.run_streamed("delegate"):
                seen.append(event)
    assert isinstance(seen[-1], TurnCompletedNotification)
    items = [i for i in seen[-1].turn.items if isinstance(i, SubagentItem)]
    assert [i.status for i in items] == ["interrupted"]  # the child's turn was cancelled
