"""A `Reply` as the OpenAI Responses API sends it: SSE events, or one JSON response.

The event sequence and field names follow the openai package's types
(`openai/types/responses/response_*_event.py`): response.created, response.in_progress,
then per output item output_item.added, its parts and deltas, output_item.done, and last
response.completed carrying the usage. Every event has a `sequence_number`.
"""

from __future__ import annotations

import time
from typing import Any

from tests.model_server.ids import new_id
from tests.model_server.recording import RecordedRequest
from tests.model_server.script import Reply, ToolCall, split_into

Event = dict[str, Any]


class _Events:
    """Collects events in order, numbering them as the real API does."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def emit(self, type_: str, **fields: Any) -> None:
        self.events.append({"type": type_, "sequence_number": len(self.events), **fields})


def response_events(reply: Reply, request: RecordedRequest) -> list[Event]:
    """The streamed events for `reply`, in order."""
    out = _Events()
    response = _response_shell(request)
    out.emit("response.created", response=dict(response))
    out.emit("response.in_progress", response=dict(response))
    items: list[dict[str, Any]] = []
    if reply.reasoning:
        items.append(_stream_reasoning(out, reply, len(items), request))
    if reply.text or not reply.tool_calls:
        items.append(_stream_message(out, reply, len(items)))
    for call in reply.tool_calls:
        items.append(_stream_function_call(out, call, len(items)))
    done = _completed(response, items, reply, request)
    out.emit("response.completed", response=done)
    return out.events


def failed_event(request: RecordedRequest, message: str, sequence_number: int) -> Event:
    """A `response.failed` event: generation failed after streaming began."""
    error = {"code": "server_error", "message": message}
    response = {**_response_shell(request), "status": "failed", "error": error}
    return {"type": "response.failed", "sequence_number": sequence_number, "response": response}


def response_json(reply: Reply, request: RecordedRequest) -> dict[str, Any]:
    """The non-streaming response body for `reply`."""
    items: list[dict[str, Any]] = []
    if reply.reasoning:
        items.append(_reasoning_item(new_id("rs"), reply, request))
    if reply.text or not reply.tool_calls:
        items.append(_message_item(new_id("msg"), reply.text, "completed"))
    items += [_function_call_item(new_id("fc"), call, "completed") for call in reply.tool_calls]
    return _completed(_response_shell(request), items, reply, request)


def _response_shell(request: RecordedRequest) -> dict[str, Any]:
    body = request.body
    return {
        "id": new_id("resp"),
        "object": "response",
        "created_at": int(time.time()),
        "status": "in_progress",
        "error": None,
        "incomplete_details": None,
        "instructions": body.get("instructions"),
        "max_output_tokens": body.get("max_output_tokens"),
        "model": body.get("model") or "scripted-model",
        "output": [],
        "parallel_tool_calls": body.get("parallel_tool_calls", True),
        "previous_response_id": body.get("previous_response_id"),
        "reasoning": body.get("reasoning") or {"effort": None, "summary": None},
        "store": body.get("store", True),
        "text": body.get("text") or {"format": {"type": "text"}},
        "tool_choice": body.get("tool_choice", "auto"),
        "tools": body.get("tools") or [],
        "truncation": body.get("truncation", "disabled"),
        "usage": None,
        "metadata": body.get("metadata") or {},
    }


def _completed(
    shell: dict[str, Any], items: list[dict[str, Any]], reply: Reply, request: RecordedRequest
) -> dict[str, Any]:
    usage = reply.usage_for(request.size)
    return {
        **shell,
        "status": "completed",
        "completed_at": int(time.time()),
        "output": items,
        "usage": {
            "input_tokens": usage.input_tokens,
            "input_tokens_details": {
                "cached_tokens": usage.cached_input_tokens,
                "cache_write_tokens": 0,
            },
            "output_tokens": usage.output_tokens,
            "output_tokens_details": {"reasoning_tokens": usage.reasoning_tokens},
            "total_tokens": usage.total_tokens,
        },
    }


def _stream_reasoning(out: _Events, reply: Reply, index: int, request: RecordedRequest) -> Event:
    item_id = new_id("rs")
    where = {"item_id": item_id, "output_index": index}
    added = {"id": item_id, "type": "reasoning", "summary": []}
    out.emit("response.output_item.added", output_index=index, item=added)
    if reply.reasoning_format == "summary":
        part = {"type": "summary_text", "text": ""}
        out.emit("response.reasoning_summary_part.added", **where, summary_index=0, part=part)
        for piece in reply.reasoning_pieces():
            out.emit("response.reasoning_summary_text.delta", **where, summary_index=0, delta=piece)
        text = reply.reasoning
        out.emit("response.reasoning_summary_text.done", **where, summary_index=0, text=text)
        part = {"type": "summary_text", "text": text}
        out.emit("response.reasoning_summary_part.done", **where, summary_index=0, part=part)
    else:
        part = {"type": "reasoning_text", "text": ""}
        out.emit("response.content_part.added", **where, content_index=0, part=part)
        for piece in reply.reasoning_pieces():
            out.emit("response.reasoning_text.delta", **where, content_index=0, delta=piece)
        text = reply.reasoning
        out.emit("response.reasoning_text.done", **where, content_index=0, text=text)
        part = {"type": "reasoning_text", "text": text}
        out.emit("response.content_part.done", **where, content_index=0, part=part)
    item = _reasoning_item(item_id, reply, request)
    out.emit("response.output_item.done", output_index=index, item=item)
    return item


def _reasoning_item(item_id: str, reply: Reply, request: RecordedRequest) -> dict[str, Any]:
    item: dict[str, Any] = {"id": item_id, "type": "reasoning", "summary": []}
    if reply.reasoning_format == "summary":
        item["summary"] = [{"type": "summary_text", "text": reply.reasoning}]
    else:
        item["content"] = [{"type": "reasoning_text", "text": reply.reasoning}]
    if "reasoning.encrypted_content" in (request.body.get("include") or []):
        # Opaque to clients; a test can check the agent sends it back verbatim.
        item["encrypted_content"] = f"scripted-encrypted:{item_id}"
    return item


def _stream_message(out: _Events, reply: Reply, index: int) -> Event:
    item_id = new_id("msg")
    where = {"item_id": item_id, "output_index": index, "content_index": 0}
    added = _message_item(item_id, "", "in_progress")
    added["content"] = []
    out.emit("response.output_item.added", output_index=index, item=added)
    out.emit("response.content_part.added", **where, part=_text_part(""))
    for piece in reply.text_pieces():
        out.emit("response.output_text.delta", **where, delta=piece, logprobs=[])
    out.emit("response.output_text.done", **where, text=reply.text, logprobs=[])
    out.emit("response.content_part.done", **where, part=_text_part(reply.text))
    item = _message_item(item_id, reply.text, "completed")
    out.emit("response.output_item.done", output_index=index, item=item)
    return item


def _message_item(item_id: str, text: str, status: str) -> dict[str, Any]:
    return {
        "id": item_id,
        "type": "message",
        "status": status,
        "role": "assistant",
        "content": [_text_part(text)],
    }


def _text_part(text: str) -> dict[str, Any]:
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


def _stream_function_call(out: _Events, call: ToolCall, index: int) -> Event:
    item_id = new_id("fc")
    call_id = call.call_id or new_id("call")
    added = _function_call_item(item_id, call, "in_progress", call_id)
    added["arguments"] = ""
    out.emit("response.output_item.added", output_index=index, item=added)
    where = {"item_id": item_id, "output_index": index}
    for piece in split_into(call.arguments_text, call.chunks):
        out.emit("response.function_call_arguments.delta", **where, delta=piece)
    arguments = call.arguments_text
    out.emit("response.function_call_arguments.done", **where, name=call.name, arguments=arguments)
    item = _function_call_item(item_id, call, "completed", call_id)
    out.emit("response.output_item.done", output_index=index, item=item)
    return item


def _function_call_item(
    item_id: str, call: ToolCall, status: str, call_id: str | None = None
) -> dict[str, Any]:
    return {
        "id": item_id,
        "type": "function_call",
        "status": status,
        "call_id": call_id or call.call_id or new_id("call"),
        "name": call.name,
        "arguments": call.arguments_text,
    }
