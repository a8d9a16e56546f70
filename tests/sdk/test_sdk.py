"""tether_sdk against the real server process and the scripted model: streaming, results,
approvals (accept, decline, none given, a callback that raises), interrupt, steer, revert,
resume after the server was killed, errors, and the synchronous wrapper."""

from __future__ import annotations

import asyncio
import base64
import logging
import socket
from pathlib import Path

import pytest

from protocol.approval import (
    CommandApprovalParams,
    CommandApprovalResult,
    FileChangeApprovalParams,
    FileChangeApprovalResult,
)
from protocol.base import Notification
from protocol.events import AgentMessageDeltaNotification, ItemCompletedNotification
from protocol.item import AgentMessageItem, CommandExecutionItem, FileChangeItem
from protocol.turn import TurnCompletedNotification, TurnStartedNotification
from tests.model_server import ModelServer, Reply, ToolCall, Usage
from tether_sdk import ServerGone, SyncTether, Tether, TetherError

PATCH = """*** Begin Patch
*** Update File: src/calc.py
@@ def add(a, b):
-    return a + b
+    return a + b  # sdk
*** End Patch"""


def env_for(model_server: ModelServer, home: Path) -> dict[str, str]:
    return {**model_server.env(), "TETHER_HOME": str(home)}


async def test_run_streamed_yields_typed_events_in_order(
    model_server: ModelServer, workspace: Path, tmp_path: Path
) -> None:
    model_server.enqueue(Reply(text="Hello from the scripted model.", chunk_size=5))
    async with Tether(workspace, env=env_for(model_server, tmp_path / "home")) as t:
        thread = await t.start_thread()
        events: list[Notification] = [e async for e in thread.run_streamed("hi")]
    assert isinstance(events[0], TurnStartedNotification)
    assert isinstance(events[-1], TurnCompletedNotification)
    deltas = [e.delta for e in events if isinstance(e, AgentMessageDeltaNotification)]
    assert len(deltas) > 1
    (message,) = [
        e.item
        for e in events
        if isinstance(e, ItemCompletedNotification) and isinstance(e.item, AgentMessageItem)
    ]
    assert "".join(deltas) == message.text == "Hello from the scripted model."


async def test_run_returns_the_result_and_revert_undoes_the_turn(
    model_server: ModelServer, workspace: Path, tmp_path: Path
) -> None:
    model_server.enqueue(
        Reply(
            tool_calls=[ToolCall("apply_patch", {"patch": PATCH})],
            usage=Usage(input_tokens=300, output_tokens=30, cached_input_tokens=100),
        ),
        Reply(text="Marked.", usage=Usage(input_tokens=400, output_tokens=5)),
    )
    calc = workspace / "src" / "calc.py"
    before = calc.read_text()
    async with Tether(workspace, env=env_for(model_server, tmp_path / "home"), mode="agent") as t:
        thread = await t.start_thread()
        result = await thread.run("mark add")
        assert result.status == "completed"
        assert result.final_response == "Marked."
        assert result.usage is not None
        assert (result.usage.input_tokens, result.usage.output_tokens) == (700, 35)
        assert "+    return a + b  # sdk" in result.diff
        (change,) = [i for i in result.items if isinstance(i, FileChangeItem)]
        assert change.changes[0].path == str(calc)
        assert "# sdk" in calc.read_text()
        reverted = await thread.revert(result.turn_id)
    assert reverted.restored == [str(calc)] and reverted.conflicts == []
    assert calc.read_text() == before


async def test_an_accepting_callback_lets_the_command_run(
    model_server: ModelServer, workspace: Path, tmp_path: Path
) -> None:
    asked: list[CommandApprovalParams] = []

    async def approve(request: CommandApprovalParams) -> CommandApprovalResult:
        asked.append(request)
        return CommandApprovalResult(decision="accept")

    model_server.enqueue(
        Reply(tool_calls=[ToolCall("shell", {"command": "touch made"})]), Reply(text="done")
    )
    async with Tether(
        workspace,
        env=env_for(model_server, tmp_path / "home"),
        mode="readOnly",
        on_command_approval=approve,
    ) as t:
        result = await (await t.start_thread()).run("make it")
    assert [a.command for a in asked] == ["touch made"]
    assert asked[0].cwd == str(workspace)
    assert (workspace / "made").exists()
    (command,) = [i for i in result.items if isinstance(i, CommandExecutionItem)]
    assert command.status == "completed" and command.exit_code == 0


async def test_a_declining_callback_and_no_callback_both_decline(
    model_server: ModelServer,
    workspace: Path,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def decline(request: FileChangeApprovalParams) -> FileChangeApprovalResult:
        return FileChangeApprovalResult(decision="decline")

    model_server.enqueue(
        Reply(tool_calls=[ToolCall("apply_patch", {"patch": PATCH}, call_id="p")]),
        Reply(tool_calls=[ToolCall("shell", {"command": "touch x"}, call_id="s")]),
        Reply(text="gave up"),
    )
    with caplog.at_level(logging.WARNING, logger="tether_sdk"):
        async with Tether(
            workspace,
            env=env_for(model_server, tmp_path / "home"),
            mode="readOnly",
            on_file_change=decline,
        ) as t:
            result = await (await t.start_thread()).run("edit, then touch")
    assert result.status == "completed"
    assert "# sdk" not in (workspace / "src" / "calc.py").read_text()
    assert not (workspace / "x").exists()
    outputs = model_server.requests[2].tool_outputs()
    assert "declined" in outputs["p"] and "declined" in outputs["s"]
    assert "declined approval/commandExecution: no callback was given for it" in caplog.text


async def test_a_raising_callback_cancels_the_turn_and_its_error_is_raised(
    model_server: ModelServer, workspace: Path, tmp_path: Path
) -> None:
    def broken(request: CommandApprovalParams) -> CommandApprovalResult:
        raise RuntimeError("the approval UI crashed")

    model_server.enqueue(Reply(tool_calls=[ToolCall("shell", {"command": "touch x"})]))
    async with Tether(
        workspace,
        env=env_for(model_server, tmp_path / "home"),
        mode="readOnly",
        on_command_approval=broken,
    ) as t:
        thread = await t.start_thread()
        seen: list[Notification] = []
        with pytest.raises(RuntimeError, match="the approval UI crashed"):
            async for event in thread.run_streamed("touch"):
                seen.append(event)
    assert isinstance(seen[-1], TurnCompletedNotification)
    assert seen[-1].turn.status == "interrupted"
    assert not (workspace / "x").exists()


async def test_interrupt_ends_the_turn_interrupted(
    model_server: ModelServer, workspace: Path, tmp_path: Path
) -> None:
    model_server.enqueue(Reply(text="x" * 400, chunk_size=4, hold_after=10))
    async with Tether(workspace, env=env_for(model_server, tmp_path / "home")) as t:
        thread = await t.start_thread()
        final = None
        async for event in thread.run_streamed("talk"):
            if isinstance(event, AgentMessageDeltaNotification) and final is None:
                final = "interrupting"
                await thread.interrupt()
            if isinstance(event, TurnCompletedNotification):
                final = event.turn.status
    assert final == "interrupted"


async def test_steer_joins_the_next_model_call(
    model_server: ModelServer, workspace: Path, tmp_path: Path
) -> None:
    model_server.enqueue(
        Reply(text="Working", tool_calls=[ToolCall("list_dir", {})], hold_after=2),
        Reply(text="Adjusted."),
    )
    async with Tether(workspace, env=env_for(model_server, tmp_path / "home")) as t:
        thread = await t.start_thread()

        async def steer_when_held() -> None:
            await model_server.wait_held_async()
            await thread.steer("Only Python files")
            model_server.release()

        steering = asyncio.create_task(steer_when_held())
        result = await thread.run("List files")
        await steering
    assert result.final_response == "Adjusted."
    assert model_server.requests[1].user_texts() == ["List files", "Only Python files"]


async def test_resume_after_the_server_was_killed(
    model_server: ModelServer, workspace: Path, tmp_path: Path
) -> None:
    model_server.enqueue(Reply(text="first"), Reply(text="second"))
    home = tmp_path / "home"
    async with Tether(workspace, env=env_for(model_server, home)) as t:
        thread = await t.start_thread()
        await thread.run("one")
        t.kill()
        with pytest.raises(TetherError, match="exited"):
            await thread.run("lost")
    async with Tether(workspace, env=env_for(model_server, home)) as t2:
        again = await t2.resume_thread(thread.id)
        assert [turn.status for turn in again.turns] == ["completed"]
        result = await again.run("two")
    assert result.final_response == "second"
    assert model_server.requests[1].user_texts() == ["one", "two"]


async def test_a_server_that_dies_mid_turn_raises_server_gone(
    model_server: ModelServer, workspace: Path, tmp_path: Path
) -> None:
    model_server.enqueue(Reply(text="x" * 400, chunk_size=4, hold_after=5))
    async with Tether(workspace, env=env_for(model_server, tmp_path / "home")) as t:
        thread = await t.start_thread()
        with pytest.raises(ServerGone):
            async for event in thread.run_streamed("talk"):
                if isinstance(event, AgentMessageDeltaNotification):
                    t.kill()


async def test_no_model_configured_is_a_tether_error(workspace: Path, tmp_path: Path) -> None:
    async with Tether(workspace, env={"TETHER_HOME": str(tmp_path / "home")}) as t:
        thread = await t.start_thread()
        with pytest.raises(TetherError, match="OPENAI_API_KEY") as raised:
            await thread.run("hi")
    assert raised.value.code == -32003


async def test_an_endpoint_that_is_down_fails_the_turn(workspace: Path, tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    home = tmp_path / "home"
    home.mkdir()
    (home / "config.toml").write_text("max_retries = 0\n")  # fail at once, no backoff
    env = {"OPENAI_API_KEY": "sk-test", "TETHER_HOME": str(home)}
    async with Tether(workspace, model="m", base_url=f"http://127.0.0.1:{port}/v1", env=env) as t:
        result = await (await t.start_thread()).run("hi")
    assert result.status == "failed"
    assert result.error is not None and "Could not reach the model endpoint" in result.error


def test_the_sync_wrapper(model_server: ModelServer, workspace: Path, tmp_path: Path) -> None:
    model_server.enqueue(Reply(text="sync one"), Reply(text="sync two"))
    env = {**model_server.env(), "TETHER_HOME": str(tmp_path / "home")}
    with SyncTether(workspace, env=env) as t:
        thread = t.start_thread()
        assert thread.run("one").final_response == "sync one"
        events = list(thread.run_streamed("two"))
    assert isinstance(events[-1], TurnCompletedNotification)
    assert events[-1].turn.status == "completed"


async def test_images_go_with_the_prompt_and_a_bad_one_is_refused(
    model_server: ModelServer, workspace: Path, tmp_path: Path
) -> None:
    png = base64.b64decode(
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
    )
    (workspace / "shot.png").write_bytes(png)
    (workspace / "notes.png").write_text("text")
    model_server.enqueue(Reply(text="A pixel."))
    async with Tether(workspace, env=env_for(model_server, tmp_path / "home")) as t:
        thread = await t.start_thread()
        result = await thread.run("what is this", images=[workspace / "shot.png"])
        with pytest.raises(TetherError) as refused:
            await thread.run("and this", images=[workspace / "notes.png"])
    assert result.final_response == "A pixel."
    url = "data:image/png;base64," + base64.b64encode(png).decode()
    assert model_server.requests[0].user_images() == [[url]]
    assert refused.value.code == -32602 and "is not a PNG" in str(refused.value)
    assert len(model_server.requests) == 1
