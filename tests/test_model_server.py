"""The scripted model server, checked through the real `openai` client and raw HTTP.

What a backend sees is what matters: every assertion here is on what `openai.AsyncOpenAI`
parses from the server's bytes (events, chunks, errors), or on what the server recorded.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx2 as httpx
import openai
import pytest
from hypothesis import given
from hypothesis import strategies as st
from openai.types.chat import ChatCompletion, ChatCompletionChunk, ChatCompletionMessageParam
from openai.types.responses import Response, ResponseStreamEvent
from pydantic import TypeAdapter

from tests.model_server import (
    Fault,
    ModelServer,
    RecordedRequest,
    Reply,
    ScriptError,
    ToolCall,
    Usage,
    echo_reply,
    turns_from_json,
)
from tests.model_server.chat_api import chat_chunks as chat_chunks_of
from tests.model_server.chat_api import chat_json
from tests.model_server.responses_api import failed_event, response_events, response_json
from tests.model_server.script import ReasoningFormat, split_into

REPO = Path(__file__).resolve().parent.parent
USER: list[ChatCompletionMessageParam] = [{"role": "user", "content": "hi"}]


@pytest.fixture
async def client(model_server: ModelServer) -> AsyncIterator[openai.AsyncOpenAI]:
    async with openai.AsyncOpenAI(
        base_url=model_server.base_url, api_key="sk-test", max_retries=0
    ) as client:
        yield client


async def responses_events(client: openai.AsyncOpenAI, **kwargs: Any) -> list[Any]:
    kwargs.setdefault("input", "hi")
    stream = await client.responses.create(model="m", stream=True, **kwargs)
    return [event async for event in stream]


async def chat_chunks(client: openai.AsyncOpenAI, **kwargs: Any) -> list[Any]:
    stream = await client.chat.completions.create(model="m", messages=USER, stream=True, **kwargs)
    return [chunk async for chunk in stream]


def of_type(events: list[Any], type_: str) -> list[Any]:
    return [e for e in events if e.type == type_]


# Responses API ---------------------------------------------------------------------------


async def test_responses_stream_has_the_real_event_sequence(
    model_server: ModelServer, client: openai.AsyncOpenAI
) -> None:
    call = ToolCall("read_file", {"path": "a.py", "lines": [1, 20]}, call_id="call_a", chunks=4)
    usage = Usage(input_tokens=120, output_tokens=30, cached_input_tokens=100, reasoning_tokens=7)
    model_server.enqueue(
        Reply(
            text="Hello there.",
            reasoning="Think first.",
            tool_calls=[call],
            usage=usage,
            chunk_size=3,
        )
    )

    events = await responses_events(client)

    assert [e.sequence_number for e in events] == list(range(len(events)))
    structural = [e.type for e in events if not e.type.endswith(".delta")]
    assert structural == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",  # reasoning
        "response.reasoning_summary_part.added",
        "response.reasoning_summary_text.done",
        "response.reasoning_summary_part.done",
        "response.output_item.done",
        "response.output_item.added",  # message
        "response.content_part.added",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.output_item.added",  # function call
        "response.function_call_arguments.done",
        "response.output_item.done",
        "response.completed",
    ]
    text_deltas = [e.delta for e in of_type(events, "response.output_text.delta")]
    assert text_deltas == ["Hel", "lo ", "the", "re."]
    assert of_type(events, "response.output_text.done")[0].text == "Hello there."
    summary = of_type(events, "response.reasoning_summary_text.delta")
    assert "".join(e.delta for e in summary) == "Think first."
    argument_deltas = of_type(events, "response.function_call_arguments.delta")
    assert len(argument_deltas) == 4
    assert json.loads("".join(e.delta for e in argument_deltas)) == call.arguments
    done = events[-1].response
    reasoning, message, function_call = done.output
    assert reasoning.summary[0].text == "Think first."
    assert message.content[0].text == "Hello there."
    assert (function_call.name, function_call.call_id) == ("read_file", "call_a")
    assert json.loads(function_call.arguments) == call.arguments
    assert done.usage.input_tokens == 120
    assert done.usage.input_tokens_details.cached_tokens == 100
    assert done.usage.output_tokens == 30
    assert done.usage.output_tokens_details.reasoning_tokens == 7
    assert done.usage.total_tokens == 150


async def test_responses_reasoning_text_events_and_encrypted_content(
    model_server: ModelServer, client: openai.AsyncOpenAI
) -> None:
    model_server.enqueue(
        Reply(text="ok", reasoning="raw chain of thought", reasoning_format="text")
    )

    events = await responses_events(client, include=["reasoning.encrypted_content"])

    deltas = of_type(events, "response.reasoning_text.delta")
    assert "".join(e.delta for e in deltas) == "raw chain of thought"
    assert of_type(events, "response.reasoning_text.done")[0].text == "raw chain of thought"
    assert not of_type(events, "response.reasoning_summary_text.delta")
    item = of_type(events, "response.output_item.done")[0].item
    assert item.content[0].text == "raw chain of thought"
    assert item.encrypted_content


async def test_responses_without_stream_answers_one_json_response(
    model_server: ModelServer, client: openai.AsyncOpenAI
) -> None:
    model_server.enqueue(
        Reply(text="Done.", tool_calls=[ToolCall("search", {"q": "x"}, call_id="c1")])
    )

    response = await client.responses.create(model="gpt-test", input="hi")

    assert response.output_text == "Done."
    call = response.output[-1]
    assert call.type == "function_call"
    assert (call.name, call.call_id, call.arguments) == ("search", "c1", '{"q": "x"}')
    assert response.model == "gpt-test"
    assert response.usage is not None and response.usage.total_tokens > 0


async def test_text_streams_in_exactly_the_scripted_number_of_deltas(
    model_server: ModelServer, client: openai.AsyncOpenAI
) -> None:
    text = "".join(f"word{i} " for i in range(700))
    model_server.enqueue(Reply(text=text, deltas=2000))

    events = await responses_events(client)

    deltas = [e.delta for e in of_type(events, "response.output_text.delta")]
    assert len(deltas) == 2000
    assert "".join(deltas) == text


def test_two_thousand_deltas_stream_as_separate_events(model_server: ModelServer) -> None:
    # Raw HTTP, so only the server is exercised. Its speed is a benchmark figure (bench/, row 3
    # streams through it), not a timing assertion that a busy CI machine would make flaky.
    body = {"model": "m", "input": "hi", "stream": True}
    model_server.enqueue(Reply(text="x" * 6000, deltas=2000))
    with (
        httpx.Client() as http,
        http.stream("POST", model_server.base_url + "/responses", json=body) as response,
    ):
        lines = [line for line in response.iter_lines() if line.startswith("data: ")]
    assert len(lines) == 2000 + 8  # the deltas and the message's structural events


@pytest.mark.parametrize("reasoning_format", ["summary", "text"])
def test_every_event_and_body_validates_against_the_openai_types(
    reasoning_format: ReasoningFormat,
) -> None:
    # The client only constructs (never validates) what it parses; validating here catches
    # a missing required field that a stricter client or another SDK would reject.
    reply = Reply(
        text="hello",
        reasoning="why",
        reasoning_format=reasoning_format,
        tool_calls=[ToolCall("f", {"a": 1}), ToolCall("g", "{broken")],
    )
    body = {"model": "m", "stream": True, "include": ["reasoning.encrypted_content"]}
    responses = RecordedRequest(0, "POST", "/v1/responses", {}, {**body, "input": "hi"})
    stream_event: TypeAdapter[Any] = TypeAdapter(ResponseStreamEvent)
    for event in response_events(reply, responses):
        stream_event.validate_python(event)
    stream_event.validate_python(failed_event(responses, "overloaded", 3))
    Response.model_validate(response_json(reply, responses))
    chat_body = {**body, "messages": USER, "stream_options": {"include_usage": True}}
    chat = RecordedRequest(0, "POST", "/v1/chat/completions", {}, chat_body)
    for chunk in chat_chunks_of(reply, chat):
        ChatCompletionChunk.model_validate(chunk)
    ChatCompletion.model_validate(chat_json(reply, chat))


# Chat Completions ------------------------------------------------------------------------


async def test_chat_stream_sends_role_reasoning_content_tool_calls_and_usage(
    model_server: ModelServer, client: openai.AsyncOpenAI
) -> None:
    calls = [
        ToolCall("read_file", {"path": "a.py"}, call_id="call_1", chunks=5),
        ToolCall("search", {"query": "def main"}, call_id="call_2"),
    ]
    usage = Usage(input_tokens=50, output_tokens=9, cached_input_tokens=40, reasoning_tokens=2)
    model_server.enqueue(Reply(text="Reading.", reasoning="hmm", tool_calls=calls, usage=usage))

    chunks = await chat_chunks(client, stream_options={"include_usage": True})

    deltas = [c.choices[0].delta for c in chunks if c.choices]
    assert deltas[0].role == "assistant"
    assert "".join(d.content or "" for d in deltas) == "Reading."
    reasoning = [(d.model_extra or {}).get("reasoning_content") for d in deltas]
    assert "".join(r for r in reasoning if r) == "hmm"
    by_index: dict[int, dict[str, str]] = {}
    for delta in deltas:
        for tc in delta.tool_calls or []:
            slot = by_index.setdefault(tc.index, {"arguments": ""})
            if tc.id:
                assert "id" not in slot, "id and name come once, in the first delta"
                slot.update(id=tc.id, name=tc.function.name)
            slot["arguments"] += tc.function.arguments or ""
    assert by_index[0]["id"] == "call_1" and by_index[0]["name"] == "read_file"
    assert json.loads(by_index[0]["arguments"]) == {"path": "a.py"}
    assert by_index[1]["id"] == "call_2" and by_index[1]["name"] == "search"
    assert json.loads(by_index[1]["arguments"]) == {"query": "def main"}
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "tool_calls"
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.prompt_tokens == 50
    assert chunks[-1].usage.completion_tokens == 9
    assert chunks[-1].usage.total_tokens == 59
    assert chunks[-1].usage.prompt_tokens_details.cached_tokens == 40
    assert all(c.usage is None for c in chunks[:-1])


async def test_chat_stream_without_include_usage_has_no_usage_chunk(
    model_server: ModelServer, client: openai.AsyncOpenAI
) -> None:
    model_server.enqueue(
        Reply(text="plain answer", chat_reasoning_field="reasoning", reasoning="r")
    )

    chunks = await chat_chunks(client)

    assert all(c.choices for c in chunks)
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "plain answer"
    assert (chunks[1].choices[0].delta.model_extra or {}).get("reasoning") == "r"


def test_chat_stream_ends_with_done_sentinel(model_server: ModelServer) -> None:
    model_server.enqueue(Reply(text="hi"))
    body = {"model": "m", "messages": USER, "stream": True}
    response = httpx.post(model_server.base_url + "/chat/completions", json=body)
    events = [line for line in response.text.split("\n\n") if line]
    assert events[-1] == "data: [DONE]"
    assert response.headers["content-type"].startswith("text/event-stream")


async def test_chat_without_stream_answers_one_completion(
    model_server: ModelServer, client: openai.AsyncOpenAI
) -> None:
    model_server.enqueue(
        Reply(text="Sure.", reasoning="why", tool_calls=[ToolCall("shell", {"cmd": "ls"})])
    )

    completion = await client.chat.completions.create(model="m", messages=USER)

    choice = completion.choices[0]
    assert choice.message.content == "Sure."
    assert (choice.message.model_extra or {})["reasoning_content"] == "why"
    assert choice.finish_reason == "tool_calls"
    tool_call = (choice.message.tool_calls or [])[0]
    assert tool_call.type == "function" and tool_call.function.name == "shell"
    assert completion.usage is not None and completion.usage.total_tokens > 0


# Faults ----------------------------------------------------------------------------------


@pytest.mark.parametrize("api", ["responses", "chat"])
async def test_rate_limit_carries_retry_after(
    model_server: ModelServer, client: openai.AsyncOpenAI, api: str
) -> None:
    model_server.enqueue(Fault.status(429, retry_after=0.2))
    with pytest.raises(openai.RateLimitError) as caught:
        if api == "chat":
            await chat_chunks(client)
        else:
            await responses_events(client)
    assert caught.value.status_code == 429
    assert caught.value.response.headers["retry-after"] == "0.2"
    assert model_server.requests[0].wait_done() == "status"


async def test_openai_client_honours_retry_after_then_succeeds(model_server: ModelServer) -> None:
    model_server.enqueue(Fault.status(429, retry_after=0.3), Reply(text="after the wait"))
    async with openai.AsyncOpenAI(
        base_url=model_server.base_url, api_key="k", max_retries=1
    ) as client:
        started = time.perf_counter()
        response = await client.responses.create(model="m", input="hi")
    assert response.output_text == "after the wait"
    assert time.perf_counter() - started >= 0.3
    assert [r.wait_done() for r in model_server.requests] == ["status", "completed"]


@pytest.mark.parametrize("code", [500, 502, 503])
async def test_server_errors_reach_the_client(
    model_server: ModelServer, client: openai.AsyncOpenAI, code: int
) -> None:
    model_server.enqueue(Fault.status(code, message=f"boom {code}"))
    with pytest.raises(openai.InternalServerError) as caught:
        await responses_events(client)
    assert caught.value.status_code == code
    assert f"boom {code}" in str(caught.value)


async def test_delay_before_headers_trips_the_client_timeout(
    model_server: ModelServer, client: openai.AsyncOpenAI
) -> None:
    model_server.enqueue(Reply(text="too late", headers_delay=5.0))
    with pytest.raises(openai.APITimeoutError):
        await responses_events(client, timeout=0.2)
    assert model_server.requests[0].wait_done() == "client_closed"


async def test_dropped_connection_is_a_connection_error(
    model_server: ModelServer, client: openai.AsyncOpenAI
) -> None:
    model_server.enqueue(Fault.drop())
    with pytest.raises(openai.APIConnectionError):
        await responses_events(client)
    assert model_server.requests[0].wait_done() == "dropped"


@pytest.mark.parametrize("api", ["responses", "chat"])
async def test_disconnect_mid_stream_breaks_the_stream_after_k_events(
    model_server: ModelServer, client: openai.AsyncOpenAI, api: str
) -> None:
    model_server.enqueue(Fault.disconnect(after_events=5))
    received: list[Any] = []
    if api == "chat":
        stream: Any = await client.chat.completions.create(model="m", messages=USER, stream=True)
    else:
        stream = await client.responses.create(model="m", input="hi", stream=True)
    with pytest.raises(openai.APIConnectionError):
        async for event in stream:
            received.append(event)
    assert len(received) == 5
    assert model_server.requests[0].wait_done() == "disconnected"


async def test_disconnect_after_the_last_event_still_breaks_the_body(
    model_server: ModelServer, client: openai.AsyncOpenAI
) -> None:
    model_server.enqueue(Fault.disconnect(after_events=10_000, reply=Reply(text="whole")))
    received: list[Any] = []
    with pytest.raises(openai.APIConnectionError):
        stream = await client.responses.create(model="m", input="hi", stream=True)
        async for event in stream:
            received.append(event)
    assert received[-1].type == "response.completed"


async def test_malformed_sse_raises_while_parsing(
    model_server: ModelServer, client: openai.AsyncOpenAI
) -> None:
    model_server.enqueue(Fault.malformed(after_events=3))
    received: list[Any] = []
    stream = await client.responses.create(model="m", input="hi", stream=True)
    with pytest.raises(json.JSONDecodeError):
        async for event in stream:
            received.append(event)
    assert len(received) == 3
    assert model_server.requests[0].wait_done() == "malformed"


@pytest.mark.parametrize(
    ("fault", "raised", "outcome"),
    [
        (Fault.disconnect(), openai.APIConnectionError, "disconnected"),
        (Fault.malformed(), json.JSONDecodeError, "malformed"),
        (Fault.stream_error(), openai.InternalServerError, "stream_error"),
    ],
)
async def test_faults_break_non_streaming_bodies_too(
    model_server: ModelServer,
    client: openai.AsyncOpenAI,
    fault: Fault,
    raised: type[Exception],
    outcome: str,
) -> None:
    model_server.enqueue(fault)
    with pytest.raises(raised):
        await client.responses.create(model="m", input="hi")
    assert model_server.requests[0].wait_done() == outcome


async def test_stream_error_fails_a_responses_stream_in_band(
    model_server: ModelServer, client: openai.AsyncOpenAI
) -> None:
    model_server.enqueue(Fault.stream_error(after_events=4, message="overloaded"))
    events = await responses_events(client)
    assert len(events) == 5
    assert [e.sequence_number for e in events] == list(range(5))
    assert events[-1].type == "response.failed"
    assert events[-1].response.error.message == "overloaded"
    assert model_server.requests[0].wait_done() == "stream_error"


async def test_stream_error_raises_from_a_chat_stream(
    model_server: ModelServer, client: openai.AsyncOpenAI
) -> None:
    model_server.enqueue(Fault.stream_error(after_events=2, message="overloaded"))
    received: list[Any] = []
    stream = await client.chat.completions.create(model="m", messages=USER, stream=True)
    with pytest.raises(openai.APIError, match="overloaded"):
        async for chunk in stream:
            received.append(chunk)
    assert len(received) == 2


async def test_tool_call_with_invalid_json_arguments_is_sent_verbatim(
    model_server: ModelServer, client: openai.AsyncOpenAI
) -> None:
    broken = '{"path": "a.py", '
    model_server.enqueue(Reply(tool_calls=[ToolCall("read_file", broken, call_id="c")]))

    events = await responses_events(client)

    done = of_type(events, "response.function_call_arguments.done")[0]
    assert done.arguments == broken
    with pytest.raises(json.JSONDecodeError):
        json.loads(done.arguments)
    assert not of_type(events, "response.output_text.delta"), "no message item without text"


async def test_delay_between_events_makes_a_slow_stream(
    model_server: ModelServer, client: openai.AsyncOpenAI
) -> None:
    model_server.enqueue(Reply(text="abcdef", chunk_size=1, delay=0.03))
    started = time.perf_counter()
    events = await responses_events(client)
    assert time.perf_counter() - started >= 0.03 * (len(events) - 1)


async def test_exhausted_script_answers_a_loud_500(
    model_server: ModelServer, client: openai.AsyncOpenAI
) -> None:
    with pytest.raises(openai.InternalServerError) as caught:
        await responses_events(client)
    assert "script ran out of turns" in str(caught.value)
    assert caught.value.response.headers["x-should-retry"] == "false"
    assert model_server.requests[0].wait_done() == "exhausted"


async def test_echo_mode_answers_after_the_script_runs_out() -> None:
    with ModelServer(fallback=echo_reply) as server:
        async with openai.AsyncOpenAI(base_url=server.base_url, api_key="k") as client:
            response = await client.responses.create(model="m", input="ping 42")
    assert response.output_text.endswith("ping 42")


# Holding a stream (interrupt tests) ------------------------------------------------------


async def test_held_stream_waits_for_release(
    model_server: ModelServer, client: openai.AsyncOpenAI
) -> None:
    model_server.enqueue(Reply(text="abcdefgh", chunk_size=2, hold_after=4))
    stream = await client.responses.create(model="m", input="hi", stream=True)
    iterator = stream.__aiter__()
    first = [await iterator.__anext__() for _ in range(4)]
    assert first[-1].type == "response.content_part.added"

    pending = asyncio.ensure_future(iterator.__anext__())
    held = await model_server.wait_held_async()
    await asyncio.sleep(0.05)
    assert not pending.done(), "the fifth event must wait for release()"
    model_server.release(held.index)

    rest = [await pending] + [event async for event in iterator]
    assert rest[-1].type == "response.completed"
    assert held.wait_done() == "completed"


async def test_client_hanging_up_on_a_held_stream_is_recorded(
    model_server: ModelServer, client: openai.AsyncOpenAI
) -> None:
    model_server.enqueue(Reply(text="never finished", hold_after=3))
    stream = await client.responses.create(model="m", input="hi", stream=True)
    iterator = stream.__aiter__()
    for _ in range(3):
        await iterator.__anext__()
    held = await model_server.wait_held_async()
    await stream.close()
    outcome = await asyncio.to_thread(held.wait_done, 2.0)
    assert outcome == "client_closed"


def test_release_before_the_hold_point_does_not_stop_the_stream(
    model_server: ModelServer,
) -> None:
    model_server.enqueue(Reply(text="x" * 50, hold_after=8, delay=0.01))
    body = {"model": "m", "input": "hi", "stream": True}
    with (
        httpx.Client() as http,
        http.stream("POST", model_server.base_url + "/responses", json=body) as response,
    ):
        model_server.wait_for_request(0)
        model_server.release()
        assert response.read().endswith(b"\n\n")
    assert model_server.requests[0].wait_done() == "completed"


def test_hold_past_the_last_event_keeps_the_body_open(model_server: ModelServer) -> None:
    model_server.enqueue(Reply(text="short", hold_after=1000))
    body = {"model": "m", "input": "hi", "stream": True}
    with (
        httpx.Client() as http,
        http.stream("POST", model_server.base_url + "/responses", json=body) as response,
    ):
        held = model_server.wait_held()
        model_server.release()
        events = [line for line in response.iter_lines() if line.startswith("data: ")]
    assert json.loads(events[-1].removeprefix("data: "))["type"] == "response.completed"
    assert held.wait_done() == "completed"


async def test_fallback_answers_concurrent_streams_by_their_content(
    model_server: ModelServer, client: openai.AsyncOpenAI
) -> None:
    # Concurrent agents arrive in any order; a responder keyed on the request stays exact.
    def answer(request: RecordedRequest) -> Reply:
        return Reply(text=f"answer to {request.user_texts()[-1]} " * 20, chunk_size=5)

    model_server.fallback = answer

    async def one(name: str) -> str:
        events = await responses_events(client, input=name)
        return "".join(e.delta for e in of_type(events, "response.output_text.delta"))

    names = [f"agent-{i}" for i in range(8)]
    texts = await asyncio.gather(*(one(name) for name in names))
    assert texts == [f"answer to {name} " * 20 for name in names]
    assert sorted(r.user_texts()[-1] for r in model_server.requests) == sorted(names)


def test_stop_ends_held_streams_and_refuses_new_connections() -> None:
    server = ModelServer([Reply(text="held forever", hold_after=2)]).start()
    body = {"model": "m", "input": "hi", "stream": True}
    with (
        httpx.Client() as http,
        http.stream("POST", server.base_url + "/responses", json=body) as response,
    ):
        server.wait_held()
        started = time.perf_counter()
        server.stop()
        assert time.perf_counter() - started < 1.0
        with pytest.raises(httpx.RemoteProtocolError):
            response.read()
    with pytest.raises(httpx.ConnectError):
        httpx.get(server.base_url + "/models")


# Recording -------------------------------------------------------------------------------


async def test_records_a_normalized_view_of_responses_requests(
    model_server: ModelServer, client: openai.AsyncOpenAI
) -> None:
    model_server.enqueue(Reply(text="ok"))
    tools: Any = [
        {"type": "function", "name": "read_file", "parameters": {"type": "object"}},
        {"type": "function", "name": "shell", "parameters": {"type": "object"}},
    ]
    history: Any = [
        {"role": "developer", "content": "Workspace rules."},
        {"role": "user", "content": [{"type": "input_text", "text": "read a.py"}]},
        {"type": "function_call", "call_id": "c1", "name": "read_file", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "c1", "output": "print('a')"},
        {"role": "assistant", "content": [{"type": "output_text", "text": "It prints a."}]},
        {"role": "user", "content": "thanks"},
    ]
    await client.responses.create(
        model="gpt-x", instructions="Be terse.", input=history, tools=tools, stream=True
    )

    request = model_server.wait_for_request(0)
    assert (request.api, request.model, request.stream) == ("responses", "gpt-x", True)
    assert request.instructions == "Be terse.\n\nWorkspace rules."
    assert request.user_texts() == ["read a.py", "thanks"]
    assert request.assistant_texts() == ["It prints a."]
    assert request.tool_outputs() == {"c1": "print('a')"}
    assert request.tool_calls() == [("c1", "read_file", "{}")]
    assert request.tools == ["read_file", "shell"]
    assert request.headers["authorization"] == "Bearer sk-test"
    assert request.body["input"] == history


async def test_records_a_normalized_view_of_chat_requests(
    model_server: ModelServer, client: openai.AsyncOpenAI
) -> None:
    model_server.enqueue(Reply(text="ok"))
    tools: Any = [{"type": "function", "function": {"name": "search", "parameters": {}}}]
    messages: Any = [
        {"role": "system", "content": "You are Tether."},
        {"role": "user", "content": "find main"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "t1", "type": "function", "function": {"name": "search", "arguments": "{}"}}
            ],
        },
        {"role": "tool", "tool_call_id": "t1", "content": [{"type": "text", "text": "a.py:1"}]},
    ]
    await client.chat.completions.create(model="local", messages=messages, tools=tools)

    request = model_server.requests[0]
    assert (request.api, request.model, request.stream) == ("chat", "local", False)
    assert request.instructions == "You are Tether."
    assert request.user_texts() == ["find main"]
    assert request.assistant_texts() == []
    assert request.tool_outputs() == {"t1": "a.py:1"}
    assert request.tool_calls() == [("t1", "search", "{}")]
    assert request.tools == ["search"]


async def test_responder_answers_from_what_the_agent_sent(
    model_server: ModelServer, client: openai.AsyncOpenAI
) -> None:
    def echo_tool_output(request: RecordedRequest) -> Reply:
        return Reply(text="file says: " + request.tool_outputs()["c9"])

    model_server.enqueue(echo_tool_output)
    history: Any = [
        {"type": "function_call", "call_id": "c9", "name": "read_file", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "c9", "output": "42"},
    ]
    response = await client.responses.create(model="m", input=history)
    assert response.output_text == "file says: 42"


def test_responder_that_raises_answers_500_and_is_reported() -> None:
    def broken(request: RecordedRequest) -> Reply:
        raise KeyError("c1")

    with ModelServer([broken]) as server:
        response = httpx.post(server.base_url + "/responses", json={"model": "m", "input": "x"})
    assert response.status_code == 500
    assert "KeyError" in response.json()["error"]["message"]
    assert server.requests[0].wait_done() == "script_error"
    assert "KeyError" in server.errors[0]


def test_wait_for_request_times_out_with_a_clear_error(model_server: ModelServer) -> None:
    with pytest.raises(TimeoutError, match="#0 did not arrive"):
        model_server.wait_for_request(0, timeout=0.05)


def test_bad_body_and_unknown_routes_are_client_errors(model_server: ModelServer) -> None:
    bad = httpx.post(model_server.base_url + "/responses", content=b"not json")
    assert bad.status_code == 400
    assert model_server.requests[0].wait_done() == "bad_request"
    assert model_server.pending() == 0
    missing = httpx.post(model_server.base_url + "/completions", json={})
    assert missing.status_code == 404
    assert "no route" in missing.json()["error"]["message"]


async def test_lists_models(client: openai.AsyncOpenAI) -> None:
    page = await client.models.list()
    assert [m.id for m in page.data] == ["scripted-model"]


# Scripts as JSON and the CLI -------------------------------------------------------------


def test_turns_from_json_builds_every_kind() -> None:
    turns = turns_from_json(
        {
            "turns": [
                {
                    "text": "hi",
                    "reasoning": "r",
                    "deltas": 2,
                    "usage": {"input_tokens": 5, "output_tokens": 6},
                    "tool_calls": [{"name": "read_file", "arguments": {"path": "a"}, "chunks": 2}],
                },
                {"fault": "status", "status": 429, "retry_after": 1.5},
                {"fault": "disconnect", "after_events": 4, "reply": {"text": "cut"}},
                {"fault": "malformed", "after_events": 1},
                {"fault": "drop"},
                {"echo": True},
                {"fault": "stream_error", "after_events": 2, "message": "busy"},
            ]
        }
    )
    reply = turns[0]
    assert isinstance(reply, Reply)
    assert reply.text_pieces() == ["h", "i"]
    assert reply.tool_calls[0] == ToolCall("read_file", {"path": "a"}, chunks=2)
    assert reply.usage == Usage(input_tokens=5, output_tokens=6)
    assert turns[1] == Fault.status(429, retry_after=1.5)
    assert turns[2] == Fault.disconnect(4, Reply(text="cut"))
    assert isinstance(turns[3], Fault) and turns[3].kind == "malformed"
    assert turns[4] == Fault.drop()
    assert callable(turns[5])
    assert turns[6] == Fault.stream_error(2, "busy")


@pytest.mark.parametrize(
    ("document", "complaint"),
    [
        ([{"txt": "typo"}], "unknown keys ['txt']"),
        ([{"fault": "explode"}], "unknown fault 'explode'"),
        ([{"fault": "status"}], "needs 'status'"),
        ([{"tool_calls": [{"arguments": {}}]}], "missing required field `name`"),
        ({"turn": []}, "unknown top-level keys"),
        ([{"text": 5}], "turn 0: Expected `str`, got `int` - at `$.text`"),
        ([{"usage": {"input_tokens": 1}}], "missing required field `output_tokens`"),
        ([{"fault": "status", "status": "429"}], "Expected `int`, got `str`"),
        ([{"text": "x", "delay": -1}], "must not be negative"),
        ([{"tool_calls": [{"name": "f", "chunk": 2}]}], "tool_calls[0]: unknown keys"),
        ("hello", "JSON list of turns"),
    ],
)
def test_turns_from_json_rejects_mistakes_by_name(document: Any, complaint: str) -> None:
    with pytest.raises(ScriptError) as caught:
        turns_from_json(document)
    assert complaint in str(caught.value)


@contextlib.contextmanager
def cli_server(tmp_path: Path, turns: list[Any]) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """The CLI serving `turns`; yields the process and its base URL, always stops it."""
    script = tmp_path / "script.json"
    script.write_text(json.dumps(turns))
    command = [sys.executable, "-m", "tests.model_server", "--port", "0", "--script", str(script)]
    with (tmp_path / "stderr.log").open("w") as log:
        process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=log, text=True)
        assert process.stdout is not None
        try:
            yield process, process.stdout.readline().strip()
        finally:
            process.terminate()
            try:
                process.wait(timeout=5)
            finally:
                process.kill()  # a no-op once it exited
                process.wait()
                process.stdout.close()


def test_cli_serves_a_script_file(tmp_path: Path) -> None:
    with cli_server(tmp_path, [{"text": "from the file", "chunk_size": 4}]) as (process, base_url):
        assert base_url.startswith("http://127.0.0.1:") and base_url.endswith("/v1")
        client = openai.OpenAI(base_url=base_url, api_key="k", max_retries=0)
        stream = client.responses.create(model="m", input="hi", stream=True)
        deltas = [e.delta for e in stream if e.type == "response.output_text.delta"]
        assert deltas == ["from", " the", " fil", "e"]
        with pytest.raises(openai.InternalServerError, match="ran out"):
            client.responses.create(model="m", input="again")
        process.terminate()
        assert process.wait(timeout=5) == 0


def test_cli_releases_holds_on_sigusr1_and_logs_each_request(tmp_path: Path) -> None:
    turns = [{"text": "abcdefgh", "chunk_size": 2, "hold_after": 3}, {"fault": "drop"}]
    body = {"model": "m", "input": "hi", "stream": True}
    with (
        cli_server(tmp_path, turns) as (process, base_url),
        httpx.Client() as http,
    ):
        with http.stream("POST", base_url + "/responses", json=body) as response:
            lines = response.iter_lines()
            # Each Responses event is three lines: "event: ...", "data: ...", "".
            data = [line for line in itertools.islice(lines, 9) if line.startswith("data: ")]
            assert len(data) == 3
            process.send_signal(signal.SIGUSR1)
            data += [line for line in lines if line.startswith("data: ")]
        assert json.loads(data[-1].removeprefix("data: "))["type"] == "response.completed"
        with pytest.raises(httpx.RemoteProtocolError):
            http.post(base_url + "/responses", json=body)
    log = (tmp_path / "stderr.log").read_text()
    assert "model request #0 /v1/responses model=m -> completed" in log
    assert "model request #1 /v1/responses model=m -> dropped" in log


def test_cli_rejects_a_bad_script(tmp_path: Path) -> None:
    script = tmp_path / "script.json"
    script.write_text('[{"fault": "nope"}]')
    command = [sys.executable, "-m", "tests.model_server", "--script", str(script)]
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=10)
    assert result.returncode == 2
    assert "unknown fault 'nope'" in result.stderr


@given(st.text(max_size=200), st.integers(min_value=1, max_value=300))
def test_split_into_keeps_text_and_count(text: str, count: int) -> None:
    pieces = split_into(text, count)
    assert "".join(pieces) == text
    assert len(pieces) == min(count, len(text))
    assert all(pieces)
