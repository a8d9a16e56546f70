"""A `Reply` as Chat Completions sends it: `chat.completion.chunk` events, or one JSON body.

Streams follow OpenAI (`openai/types/chat/chat_completion_chunk.py`): a first chunk with the
assistant role, content deltas, tool calls by index (id and name first, then the arguments
in pieces), a chunk with `finish_reason`, then, when `stream_options.include_usage`, a
chunk with no choices and the usage. Reasoning deltas use the non-OpenAI field that
llama.cpp, vLLM and DeepSeek send (`reasoning_content` by default). The `[DONE]` sentinel
is written by the transport, not here.
"""

from __future__ import annotations

import time
from typing import Any

from tests.model_server.ids import new_id
from tests.model_server.recording import RecordedRequest
from tests.model_server.script import Reply, split_into

Chunk = dict[str, Any]


def chat_chunks(reply: Reply, request: RecordedRequest) -> list[Chunk]:
    """The streamed chunks for `reply`, in order (without the `[DONE]` line)."""
    completion_id = new_id("chatcmpl")
    created = int(time.time())
    model = request.body.get("model") or "scripted-model"
    include_usage = bool((request.body.get("stream_options") or {}).get("include_usage"))

    def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> Chunk:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
        return _envelope(completion_id, created, model, [choice], include_usage)

    chunks = [chunk({"role": "assistant", "content": ""})]
    chunks += [chunk({reply.chat_reasoning_field: p}) for p in reply.reasoning_pieces()]
    chunks += [chunk({"content": piece}) for piece in reply.text_pieces()]
    for index, call in enumerate(reply.tool_calls):
        head = {
            "index": index,
            "id": call.call_id or new_id("call"),
            "type": "function",
            "function": {"name": call.name, "arguments": ""},
        }
        chunks.append(chunk({"tool_calls": [head]}))
        for piece in split_into(call.arguments_text, call.chunks):
            tail = {"index": index, "function": {"arguments": piece}}
            chunks.append(chunk({"tool_calls": [tail]}))
    chunks.append(chunk({}, _finish_reason(reply)))
    if include_usage:
        last = _envelope(completion_id, created, model, [], include_usage)
        last["usage"] = _usage(reply, request)
        chunks.append(last)
    return chunks


def chat_json(reply: Reply, request: RecordedRequest) -> dict[str, Any]:
    """The non-streaming `chat.completion` body for `reply`."""
    message: dict[str, Any] = {"role": "assistant", "content": reply.text or None}
    if reply.reasoning:
        message[reply.chat_reasoning_field] = reply.reasoning
    if reply.tool_calls:
        message["tool_calls"] = [
            {
                "id": call.call_id or new_id("call"),
                "type": "function",
                "function": {"name": call.name, "arguments": call.arguments_text},
            }
            for call in reply.tool_calls
        ]
    choice = {"index": 0, "message": message, "logprobs": None}
    return {
        "id": new_id("chatcmpl"),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": request.body.get("model") or "scripted-model",
        "choices": [{**choice, "finish_reason": _finish_reason(reply)}],
        "usage": _usage(reply, request),
    }


def _envelope(
    completion_id: str, created: int, model: str, choices: list[Any], include_usage: bool
) -> Chunk:
    chunk: Chunk = {
        "id": completion_id,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "choices": choices,
    }
    if include_usage:
        chunk["usage"] = None  # as OpenAI does on every chunk but the last
    return chunk


def _finish_reason(reply: Reply) -> str:
    return "tool_calls" if reply.tool_calls else "stop"


def _usage(reply: Reply, request: RecordedRequest) -> dict[str, Any]:
    usage = reply.usage_for(request.size)
    return {
        "prompt_tokens": usage.input_tokens,
        "completion_tokens": usage.output_tokens,
        "total_tokens": usage.total_tokens,
        "prompt_tokens_details": {"cached_tokens": usage.cached_input_tokens},
        "completion_tokens_details": {"reasoning_tokens": usage.reasoning_tokens},
    }
