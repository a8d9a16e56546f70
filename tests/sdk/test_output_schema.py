"""Structured output end to end: `run(output_schema=...)` through the real server to the scripted
model, on both wire APIs. The schema must reach the wire as the API's own parameter; an endpoint
that refuses it gets the schema in the instructions; a final message that is not JSON of the
schema goes back to the model once with the problem."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.model_server import Fault, ModelServer, Reply, ToolCall, WireApi
from tether_sdk import SyncTether, Tether

VERDICT = {
    "type": "object",
    "properties": {
        "verdict": {"type": "string", "enum": ["pass", "fail"]},
        "reasons": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["verdict", "reasons"],
    "additionalProperties": False,
}
ANSWER = {"verdict": "fail", "reasons": ["add() subtracts"]}


def env_for(model_server: ModelServer, home: Path, wire_api: WireApi) -> dict[str, str]:
    return {**model_server.env(wire_api), "TETHER_HOME": str(home)}


@pytest.mark.parametrize("wire_api", ["responses", "chat"])
async def test_the_schema_reaches_the_wire_on_every_call_of_the_turn(
    model_server: ModelServer, workspace: Path, tmp_path: Path, wire_api: WireApi
) -> None:
    model_server.enqueue(
        Reply(tool_calls=[ToolCall("read_file", {"path": "src/calc.py"})]),
        Reply(text=json.dumps(ANSWER)),
    )
    async with Tether(workspace, env=env_for(model_server, tmp_path / "home", wire_api)) as t:
        thread = await t.start_thread()
        result = await thread.run("judge calc.py", output_schema=VERDICT)
    assert result.status == "completed"
    assert result.structured_output == ANSWER and result.schema_problem is None
    first, second = model_server.requests
    for request in (first, second):
        assert request.output_format == {"name": "tether_output", "schema": VERDICT, "strict": True}
    raw = first.body["response_format"] if wire_api == "chat" else first.body["text"]["format"]
    assert raw["type"] == "json_schema"
    assert "JSON Schema" not in first.instructions  # the endpoint enforces it: no prompt copy


async def test_a_schema_strict_mode_cannot_take_is_sent_not_strict(
    model_server: ModelServer, workspace: Path, tmp_path: Path
) -> None:
    loose: dict[str, Any] = {"type": "object", "properties": {"n": {"type": "integer"}}}
    model_server.enqueue(Reply(text='{"n": 3}'))
    async with Tether(workspace, env=env_for(model_server, tmp_path / "h", "responses")) as t:
        result = await (await t.start_thread()).run("count", output_schema=loose)
    assert result.structured_output == {"n": 3}
    assert model_server.requests[0].output_format == {
        "name": "tether_output",
        "schema": loose,
        "strict": False,
    }


@pytest.mark.parametrize("wire_api", ["responses", "chat"])
async def test_an_endpoint_without_structured_output_gets_the_schema_in_the_prompt(
    model_server: ModelServer, workspace: Path, tmp_path: Path, wire_api: WireApi
) -> None:
    model_server.enqueue(
        Fault.unsupported_output_format(),
        Reply(tool_calls=[ToolCall("read_file", {"path": "src/calc.py"})]),
        Reply(text="```json\n" + json.dumps(ANSWER) + "\n```"),
    )
    async with Tether(workspace, env=env_for(model_server, tmp_path / "home", wire_api)) as t:
        result = await (await t.start_thread()).run("judge", output_schema=VERDICT)
    assert result.status == "completed", result.error
    assert result.structured_output == ANSWER
    refused, *rest = model_server.requests
    assert refused.outcome == "status" and refused.output_format is not None
    assert len(rest) == 2  # the refusal was not retried as is, and the rest of the turn
    for request in rest:  # asks in the prompt
        assert request.output_format is None
        assert json.dumps(VERDICT) in request.instructions


@pytest.mark.parametrize("wire_api", ["responses", "chat"])
async def test_a_final_message_not_of_the_schema_goes_back_once_with_the_problem(
    model_server: ModelServer, workspace: Path, tmp_path: Path, wire_api: WireApi
) -> None:
    model_server.enqueue(
        Reply(text="The verdict: fail, add() subtracts."),
        Reply(text=json.dumps({"verdict": "maybe", "reasons": []})),
    )
    async with Tether(workspace, env=env_for(model_server, tmp_path / "home", wire_api)) as t:
        result = await (await t.start_thread()).run("judge", output_schema=VERDICT)
    assert result.status == "completed"
    assert len(model_server.requests) == 2  # one correction, not a loop
    correction = model_server.requests[1].user_texts()[-1]
    assert "the answer is not a JSON value" in correction
    assert result.structured_output is None
    assert result.schema_problem == (
        "the answer does not match the schema: $.verdict is not one of ['pass', 'fail']"
    )


async def test_the_corrected_answer_is_the_result(
    model_server: ModelServer, workspace: Path, tmp_path: Path
) -> None:
    model_server.enqueue(Reply(text='{"verdict": "fail"}'), Reply(text=json.dumps(ANSWER)))
    async with Tether(workspace, env=env_for(model_server, tmp_path / "h", "chat")) as t:
        result = await (await t.start_thread()).run("judge", output_schema=VERDICT)
    assert result.structured_output == ANSWER and result.final_response == json.dumps(ANSWER)
    assert "$.reasons is missing" in model_server.requests[1].user_texts()[-1]


async def test_a_turn_without_a_schema_sends_no_output_format(
    model_server: ModelServer, workspace: Path, tmp_path: Path
) -> None:
    model_server.enqueue(Reply(text="not JSON, and fine"))
    async with Tether(workspace, env=env_for(model_server, tmp_path / "h", "responses")) as t:
        result = await (await t.start_thread()).run("hi")
    assert result.final_response == "not JSON, and fine" and result.structured_output is None
    (request,) = model_server.requests
    assert request.output_format is None and "text" not in request.body


def test_the_sync_wrapper_takes_a_schema_and_reviews(
    model_server: ModelServer, workspace: Path, tmp_path: Path
) -> None:
    import subprocess

    from protocol.findings import UncommittedChangesTarget

    subprocess.run(["git", "-C", str(workspace), "add", "."], check=True)
    (workspace / "src" / "calc.py").write_text("def add(a, b):\n    return a - b\n")
    review = {
        "findings": [],
        "overall_correctness": "patch is correct",
        "overall_explanation": "fine",
        "overall_confidence_score": 0.5,
    }
    model_server.enqueue(Reply(text=json.dumps(ANSWER)), Reply(text=json.dumps(review)))
    with SyncTether(workspace, env=env_for(model_server, tmp_path / "h", "responses")) as t:
        thread = t.start_thread()
        assert thread.run("judge", output_schema=VERDICT).structured_output == ANSWER
        reviewed = thread.review(UncommittedChangesTarget())
    assert reviewed.review is not None and reviewed.review.overall_explanation == "fine"
    assert "+    return a - b" in model_server.requests[1].user_texts()[-1]


async def test_a_400_that_does_not_name_the_format_fails_the_turn(
    model_server: ModelServer, workspace: Path, tmp_path: Path
) -> None:
    """Only a refusal of the structured output falls back to the prompt; any other bad
    request is the endpoint's answer to the turn."""
    model_server.enqueue(Fault.status(400, message="context_length_exceeded"))
    async with Tether(workspace, env=env_for(model_server, tmp_path / "h", "chat")) as t:
        result = await (await t.start_thread()).run("judge", output_schema=VERDICT)
    assert result.status == "failed"
    assert result.error == "The model endpoint answered 400: context_length_exceeded"
    assert len(model_server.requests) == 1


def test_strict_mode_needs_every_property_required_and_no_others() -> None:
    from server.output_schema import strict_compatible

    assert strict_compatible(VERDICT)
    nested = {**VERDICT, "properties": {**VERDICT["properties"], "more": {"type": "object"}}}
    assert not strict_compatible({**nested, "required": [*VERDICT["required"], "more"]})
    assert not strict_compatible({**VERDICT, "required": ["verdict"]})
    assert not strict_compatible({k: v for k, v in VERDICT.items() if k != "additionalProperties"})


async def test_a_refusal_is_remembered_for_the_model(
    model_server: ModelServer, workspace: Path, tmp_path: Path
) -> None:
    model_server.enqueue(
        Fault.unsupported_output_format(),
        Reply(text=json.dumps(ANSWER)),
        Reply(text=json.dumps(ANSWER)),
    )
    async with Tether(workspace, env=env_for(model_server, tmp_path / "h", "chat")) as t:
        thread = await t.start_thread()
        first = await thread.run("judge", output_schema=VERDICT)
        second = await thread.run("judge again", output_schema=VERDICT)
    assert first.structured_output == second.structured_output == ANSWER
    assert len(model_server.requests) == 3  # the second turn was not refused again
    assert model_server.requests[2].output_format is None
    assert json.dumps(VERDICT) in model_server.requests[2].instructions
