"""The checked-in JSON Schema and TypeScript types must match what protocol/ generates."""

import json

import msgspec
import pytest

from protocol import export
from protocol.item import AgentMessageItem, CommandExecutionItem, TextInput
from protocol.methods import NOTIFICATIONS, REQUESTS, SERVER_REQUESTS
from protocol.turn import Turn, TurnStartParams


def test_checked_in_schema_is_current() -> None:
    assert export.SCHEMA_PATH.read_text() == export.render_schema(), (
        "protocol/schema/tether.schema.json is stale: run `python -m protocol.export`"
    )


def test_generated_typescript_is_current() -> None:
    if not export.JSON2TS.exists():
        pytest.fail("json2ts is not installed: run vscode-client/scripts/setup.sh")
    assert export.TS_PATH.read_text() == export.render_typescript(export.render_schema()), (
        "vscode-client/src/protocol/generated.ts is stale: run `python -m protocol.export`"
    )


def test_every_protocol_method_is_in_the_table() -> None:
    # The names PROTOCOL.md fixes; the table may add more, never fewer.
    assert {
        "thread/start",
        "thread/list",
        "thread/read",
        "thread/resume",
        "thread/setMode",
        "thread/compact",
        "turn/start",
        "turn/steer",
        "turn/interrupt",
        "turn/revert",
        "change/revert",
        "model/list",
    } <= REQUESTS.keys()
    assert {
        "thread/started",
        "thread/modeChanged",
        "turn/started",
        "turn/completed",
        "item/started",
        "item/updated",
        "item/completed",
        "item/agentMessage/delta",
        "item/reasoning/delta",
        "item/commandExecution/outputDelta",
        "turn/diff/updated",
        "thread/tokenUsage/updated",
    } <= NOTIFICATIONS.keys()
    assert {"approval/commandExecution", "approval/fileChange"} <= SERVER_REQUESTS.keys()


def test_wire_names_are_camel_case_and_unions_tagged() -> None:
    turn = Turn(
        id="t1",
        thread_id="th",
        status="completed",
        items=[
            AgentMessageItem(id="i1", text="hi"),
            CommandExecutionItem(
                id="i2",
                command="ls",
                cwd="/w",
                status="completed",
                output="",
                sandbox="readOnly",
                exit_code=0,
            ),
        ],
    )
    wire = json.loads(msgspec.json.encode(turn))
    assert wire["threadId"] == "th"
    assert wire["items"][0] == {"type": "agentMessage", "id": "i1", "text": "hi"}
    assert wire["items"][1]["exitCode"] == 0 and "durationMs" not in wire["items"][1]
    assert msgspec.convert(wire, Turn) == turn


def test_wrong_types_are_rejected_with_the_field_named() -> None:
    with pytest.raises(msgspec.ValidationError, match=r"\$\.input\[0\]"):
        msgspec.convert({"threadId": "t", "input": [{"type": "nope"}]}, TurnStartParams)
    assert msgspec.convert(
        {"threadId": "t", "input": [{"type": "text", "text": "x"}]}, TurnStartParams
    ).input == [TextInput(text="x")]
