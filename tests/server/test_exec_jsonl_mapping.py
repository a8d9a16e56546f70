"""Codex JSONL mapping and the --output-schema check, without a process: the cases the golden
files of tests/e2e/test_exec_jsonl.py do not reach."""

from __future__ import annotations

from typing import Any

import pytest

from protocol.base import Usage
from protocol.events import (
    ItemCompletedNotification,
    ItemStartedNotification,
    ItemUpdatedNotification,
)
from protocol.item import (
    CommandExecutionItem,
    FileChange,
    FileChangeItem,
    Item,
    PlanItem,
    PlanStep,
    TextInput,
    ToolCallItem,
    UserMessageItem,
)
from protocol.turn import Turn, TurnCompletedNotification
from server.exec_jsonl import CodexEvents
from server.output_schema import final_message_problem, schema_mismatch


def started(item: Item) -> ItemStartedNotification:
    return ItemStartedNotification(thread_id="t", turn_id="u", item=item)


def updated(item: Item) -> ItemUpdatedNotification:
    return ItemUpdatedNotification(thread_id="t", turn_id="u", item=item)


def completed(item: Item) -> ItemCompletedNotification:
    return ItemCompletedNotification(thread_id="t", turn_id="u", item=item)


def command(status: Any, exit_code: int | None = None) -> CommandExecutionItem:
    return CommandExecutionItem(
        id="c1",
        command="make",
        cwd="/w",
        status=status,
        output="",
        sandbox="workspaceWrite",
        exit_code=exit_code,
    )


def test_a_declined_command_fails_and_unchanged_updates_are_not_repeated() -> None:
    events = CodexEvents()
    assert events.map(started(command("pending")))[0]["item"]["status"] == "in_progress"
    assert events.map(updated(command("inProgress"))) == []
    (done,) = events.map(completed(command("declined")))
    assert done["item"]["status"] == "failed" and "exit_code" not in done["item"]


@pytest.mark.parametrize(
    ("status", "codex"),
    [
        ("applied", "completed"),
        ("partiallyApplied", "completed"),
        ("declined", "failed"),
        ("reverted", "failed"),
        ("failed", "failed"),
    ],
)
def test_file_change_status(status: Any, codex: str) -> None:
    change = FileChange(path="/w/a.py", kind="add", diff="", hunks=[])
    item = FileChangeItem(id="f", status=status, changes=[change])
    events = CodexEvents()
    assert events.map(started(item)) == []  # Codex shows a file change once, finished
    (done,) = events.map(completed(item))
    assert done["item"] == {
        "id": "item_0",
        "type": "file_change",
        "changes": [{"path": "/w/a.py", "kind": "add"}],
        "status": codex,
    }


def test_a_failed_tool_call_has_an_error_and_the_user_message_no_item() -> None:
    events = CodexEvents()
    user = UserMessageItem(id="m", content=[TextInput(text="hi")])
    assert events.map(completed(user)) == []
    tool = ToolCallItem(
        id="r", tool="read_file", arguments={}, status="failed", summary="no such file"
    )
    (done,) = events.map(completed(tool))
    assert done["item"]["error"] == {"message": "no such file"}
    assert done["item"]["id"] == "item_0"


def test_plan_steps_become_a_todo_list() -> None:
    plan = PlanItem(
        id="p",
        steps=[PlanStep(text="a", status="completed"), PlanStep(text="b", status="inProgress")],
    )
    (event,) = CodexEvents().map(updated(plan))
    assert event["type"] == "item.updated"
    assert event["item"]["items"] == [
        {"text": "a", "completed": True},
        {"text": "b", "completed": False},
    ]


def test_an_interrupted_turn_fails_and_usage_is_codex_shaped() -> None:
    turn = Turn(id="u", thread_id="t", status="interrupted", items=[])
    (event,) = CodexEvents().map(TurnCompletedNotification(thread_id="t", turn=turn))
    assert event == {"type": "turn.failed", "error": {"message": "the turn was interrupted"}}
    usage = Usage(
        input_tokens=5,
        cached_input_tokens=2,
        output_tokens=3,
        total_tokens=8,
        reasoning_output_tokens=1,
    )
    turn = Turn(id="u", thread_id="t", status="completed", items=[], usage=usage)
    (event,) = CodexEvents().map(TurnCompletedNotification(thread_id="t", turn=turn))
    assert event["usage"] == {
        "input_tokens": 5,
        "cached_input_tokens": 2,
        "output_tokens": 3,
        "reasoning_output_tokens": 1,
    }


SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "count": {"type": "integer"},
        "tags": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["count"],
    "additionalProperties": False,
}


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ({"count": 2, "tags": ["a"]}, None),
        ({"count": True}, "$.count is not integer"),
        ({"count": 1.5}, "$.count is not integer"),
        ({"tags": []}, "$.count is missing"),
        ({"count": 1, "tags": ["a", 3]}, "$.tags[1] is not string"),
        ({"count": 1, "extra": 0}, "$.extra is not allowed"),
        ([1], "$ is not object"),
    ],
)
def test_schema_mismatch(value: Any, problem: str | None) -> None:
    assert schema_mismatch(value, SCHEMA, "$") == problem


def test_the_final_message_must_be_json() -> None:
    assert final_message_problem("sure! {}", SCHEMA) == (
        "the final message is not JSON, as --output-schema asks"
    )
    assert final_message_problem(None, SCHEMA) is not None
    assert final_message_problem('```json\n{"count": 1}\n```', SCHEMA) is None
