"""The turn loop against a scripted model and fake tools: the order of what the client is told,
what the model reads back (tool results, failures as observations), retries, failures and
interrupts, and that the runner hands the thread back before `turn/completed`."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from protocol.base import Usage
from protocol.item import TextInput, ToolCallItem
from server.agent.errors import ModelError, ToolFailed, TurnCancelled
from server.agent.history import AssistantEntry, ToolCallEntry, ToolResultEntry, UserEntry
from server.agent.model import Finished, ReasoningDelta, TextDelta, ToolCallReady, ToolSpec
from server.agent.tools.base import Tool, ToolContext
from server.agent.turn import TurnRunner
from tests.server.agent.fakes import FakeModel, World, runner_for

ECHO_SPEC = ToolSpec("echo", "echo", {"type": "object", "properties": {"x": {"type": "string"}}})


def _tool(run: Any, spec: ToolSpec = ECHO_SPEC) -> dict[str, Tool]:
    return {spec.name: Tool(spec, run)}


async def _echo(args: dict[str, Any], _ctx: ToolContext, _call_id: str) -> str:
    return f"echoed {args['x']}"


async def _finish(runner: TurnRunner) -> None:
    runner.start()
    assert runner.task is not None
    await asyncio.wait_for(runner.task, 10)


async def test_a_reply_streams_in_order_and_the_thread_is_free_before_turn_completed(
    tmp_path: Path,
) -> None:
    world = World(tmp_path)
    model = FakeModel(
        [[ReasoningDelta("hm"), TextDelta("Hel"), TextDelta("lo"), Finished(Usage(5, 0, 2, 7))]]
    )
    finished: list[TurnRunner] = []
    sent_at_finish: list[list[str]] = []

    def on_finish(runner: TurnRunner) -> None:
        finished.append(runner)
        sent_at_finish.append(world.client.methods())

    runner = runner_for(world, model, {}, "hi", on_finish)
    await _finish(runner)
    assert world.client.methods() == [
        "turn/started",
        "item/started",  # the user's message
        "item/completed",
        "item/started",  # reasoning
        "item/reasoning/delta",
        "item/completed",
        "item/started",  # the reply
        "item/agentMessage/delta",
        "item/agentMessage/delta",
        "thread/tokenUsage/updated",
        "item/completed",
        "turn/completed",
    ]
    assert finished == [runner] and "turn/completed" not in sent_at_finish[0]
    assert [getattr(n, "seq", None) for n in world.client.sent][:3] == [1, 2, 3]
    assert runner.turn.status == "completed" and world.conversation.thread.status == "idle"
    assert world.conversation.entries == [UserEntry("hi"), AssistantEntry("Hello")]
    assert world.conversation.usage.total_tokens == 7


async def test_tool_results_and_failures_go_back_to_the_model(tmp_path: Path) -> None:
    world = World(tmp_path)

    async def picky(args: dict[str, Any], _ctx: ToolContext, _call_id: str) -> str:
        raise ToolFailed("no such thing")

    tools = {**_tool(_echo), **_tool(picky, ToolSpec("picky", "p", {"type": "object"}))}
    model = FakeModel(
        [
            [
                ToolCallReady("c1", "echo", '{"x": "a"}'),
                ToolCallReady("c2", "picky", "{}"),
                ToolCallReady("c3", "nope", "{}"),
                ToolCallReady("c4", "echo", "{not json"),
                Finished(None),
            ],
            [TextDelta("done"), Finished(None)],
        ]
    )
    runner = runner_for(world, model, tools, "go")
    await _finish(runner)
    results = {
        e.call_id: e.output for e in world.conversation.entries if isinstance(e, ToolResultEntry)
    }
    assert results["c1"] == "echoed a"
    assert results["c2"] == "Error: no such thing"
    assert results["c3"].startswith("Error: There is no tool named 'nope'")
    assert "not valid JSON" in results["c4"]
    # each call is answered before the model is called again, in the order it asked
    second_call = model.calls[1]["entries"]
    assert [type(e) for e in second_call[1:5]] == [ToolCallEntry] * 4
    assert [e.call_id for e in second_call[5:9]] == ["c1", "c2", "c3", "c4"]
    # a tool that failed before showing anything gets a failed toolCall item
    failed = [i for i in runner.turn.items if isinstance(i, ToolCallItem) and i.status == "failed"]
    assert {i.tool for i in failed} == {"picky", "nope", "echo"}
    assert runner.turn.status == "completed"


async def test_a_transient_model_failure_is_retried_and_its_partial_reply_withdrawn(
    tmp_path: Path,
) -> None:
    world = World(tmp_path)
    model = FakeModel(
        [
            [TextDelta("par"), ModelError("503", retryable=True, retry_after=0)],
            [TextDelta("whole"), Finished(None)],
        ]
    )
    runner = runner_for(world, model, {}, "hi")
    await _finish(runner)
    methods = world.client.methods()
    assert "item/discarded" in methods and "turn/retrying" in methods
    assert methods.index("item/discarded") < methods.index("turn/retrying")
    assert world.conversation.entries[-1] == AssistantEntry("whole")
    assert runner.turn.status == "completed"


async def test_a_lasting_model_failure_fails_the_turn_with_an_error_item(tmp_path: Path) -> None:
    world = World(tmp_path)
    model = FakeModel([[ModelError("401 bad key", retryable=False)]])
    runner = runner_for(world, model, {}, "hi")
    await _finish(runner)
    assert runner.turn.status == "failed"
    assert runner.turn.error is not None and runner.turn.error.code == "modelError"
    assert type(runner.turn.items[-1]).__name__ == "ErrorItem"


async def test_an_interrupt_ends_the_turn_and_fails_what_was_in_progress(tmp_path: Path) -> None:
    world = World(tmp_path)
    started = asyncio.Event()

    async def forever(_args: dict[str, Any], ctx: ToolContext, _call_id: str) -> str:
        ctx.stream.started(ToolCallItem(id="t1", tool="echo", arguments={}, status="inProgress"))
        started.set()
        await asyncio.Event().wait()
        return "never"

    model = FakeModel([[ToolCallReady("c1", "echo", "{}"), Finished(None)]])
    finished: list[TurnRunner] = []
    runner = runner_for(world, model, _tool(forever), "go", finished.append)
    runner.start()
    await asyncio.wait_for(started.wait(), 5)
    runner.interrupt()
    assert runner.task is not None
    await asyncio.wait_for(runner.task, 5)
    assert runner.turn.status == "interrupted" and finished == [runner]
    assert world.client.item_statuses("item/completed")[-1] == "failed"


async def test_stop_at_an_approval_interrupts_the_turn(tmp_path: Path) -> None:
    world = World(tmp_path)

    async def stopped(_args: dict[str, Any], _ctx: ToolContext, _call_id: str) -> str:
        raise TurnCancelled

    model = FakeModel([[ToolCallReady("c1", "echo", "{}"), Finished(None)]])
    runner = runner_for(world, model, _tool(stopped), "go")
    await _finish(runner)
    assert runner.turn.status == "interrupted" and len(model.calls) == 1


async def test_a_steer_during_the_answer_gets_its_own_model_call(tmp_path: Path) -> None:
    world = World(tmp_path)
    holder: list[TurnRunner] = []
    model = FakeModel(
        [
            [TextDelta("first"), lambda: holder[0].steer([TextInput("and this")]), Finished(None)],
            [TextDelta("second"), Finished(None)],
        ]
    )
    runner = runner_for(world, model, {}, "hi")
    holder.append(runner)
    await _finish(runner)
    assert len(model.calls) == 2
    assert world.conversation.entries[-2:] == [UserEntry("and this"), AssistantEntry("second")]
