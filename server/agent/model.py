"""Streams one model call through the `openai` package, over the Responses API or Chat
Completions, and yields the same small events for both.

The `openai` import costs most of a second, so it happens on the first model call, not at start.
Retries live in the turn loop (it tells the user about them), so the client's own are off.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import msgspec

from protocol.base import Usage, WireApi
from server.agent.errors import ModelError
from server.agent.history import Entry, to_chat_messages, to_responses_input


def warm_up() -> None:
    """Import the openai package and load the resources a turn uses, in a background thread
    after `initialize`, so the first turn does not pay for them."""
    import httpx2  # noqa: F401
    import openai

    client = openai.AsyncOpenAI(api_key="unused", base_url="http://127.0.0.1:9/v1")
    _ = client.responses.with_streaming_response, client.chat.completions.with_streaming_response


@dataclass(slots=True)
class TextDelta:
    text: str


@dataclass(slots=True)
class ReasoningDelta:
    text: str


@dataclass(slots=True)
class ToolCallReady:
    """A complete tool call; `arguments` is the raw JSON text the model wrote."""

    call_id: str
    name: str
    arguments: str


@dataclass(slots=True)
class Finished:
    usage: Usage | None


ModelEvent = TextDelta | ReasoningDelta | ToolCallReady | Finished


_DECODER = msgspec.json.Decoder()


@dataclass(frozen=True, slots=True)
class ToolSpec:
    name: str
    description: str
    parameters: dict[str, Any]


class ModelClient:
    """One endpoint (base URL, key, wire API). Safe to share between threads' turns."""

    def __init__(
        self, *, base_url: str | None, api_key: str | None, wire_api: WireApi, timeout_s: float
    ) -> None:
        import openai  # deferred: see the module docstring

        self.wire_api = wire_api
        self._openai = openai
        # Local servers need no key, but the client insists on one.
        self._client = openai.AsyncOpenAI(
            api_key=api_key or "unused", base_url=base_url, max_retries=0, timeout=timeout_s
        )

    async def list_models(self) -> list[str]:
        try:
            page = await self._client.models.list()
            return [m.id async for m in page]
        except self._openai.OpenAIError:
            return []

    async def stream(
        self, *, model: str, instructions: str, entries: list[Entry], tools: list[ToolSpec]
    ) -> AsyncIterator[ModelEvent]:
        """One model call's events, ending with `Finished`. Raises ModelError.

        The openai package makes the request (auth, headers, errors) but the body goes in
        `extra_body` and the event stream is read raw: its typed path re-walks the whole
        conversation on every call and validates every event with pydantic, which cost more
        than everything else in a turn (bench/README.md).
        """
        import httpx2

        openai = self._openai
        try:
            if self.wire_api == "chat":
                request = self._client.chat.completions.with_streaming_response.create(
                    model=model,
                    messages=[],
                    stream=True,
                    extra_body=_chat_body(instructions, entries, tools),
                )
                parse = _chat_events
            else:
                request = self._client.responses.with_streaming_response.create(
                    model=model,
                    stream=True,
                    extra_body=_responses_body(instructions, entries, tools),
                )
                parse = _responses_events
            async with request as response:
                async for event in parse(_sse_data(response.iter_lines())):
                    yield event
        except openai.APIStatusError as exc:
            raise _status_error(exc) from None
        except (openai.APITimeoutError, httpx2.TimeoutException):
            raise ModelError("The model endpoint timed out.", retryable=True) from None
        except (openai.APIConnectionError, httpx2.HTTPError) as exc:
            cause = exc.__cause__ or exc
            raise ModelError(
                f"Could not reach the model endpoint ({cause}).", retryable=True
            ) from None
        except (openai.OpenAIError, msgspec.DecodeError, ValueError, KeyError, TypeError) as exc:
            raise ModelError(
                f"The model endpoint sent something unexpected: {exc!r}", retryable=True
            ) from None


def _responses_body(
    instructions: str, entries: list[Entry], tools: list[ToolSpec]
) -> dict[str, Any]:
    return {
        "instructions": instructions,
        "input": to_responses_input(entries),
        "tools": [
            {
                "type": "function",
                "name": t.name,
                "description": t.description,
                "parameters": t.parameters,
                "strict": False,
            }
            for t in tools
        ],
        "store": False,
    }


def _chat_body(instructions: str, entries: list[Entry], tools: list[ToolSpec]) -> dict[str, Any]:
    body: dict[str, Any] = {
        "messages": to_chat_messages(instructions, entries),
        "stream_options": {"include_usage": True},
    }
    if tools:
        body["tools"] = [
            {
                "type": "function",
                "function": {
                    "name": t.name,
                    "description": t.description,
                    "parameters": t.parameters,
                },
            }
            for t in tools
        ]
    return body


async def _sse_data(lines: AsyncIterator[str]) -> AsyncIterator[Any]:
    """The decoded JSON of each server-sent event's data (`[DONE]` ends the stream)."""
    data: list[str] = []
    async for line in lines:
        if line.startswith("data:"):
            data.append(line[6:] if line.startswith("data: ") else line[5:])
        elif not line and data:
            payload, data = "\n".join(data), []
            if payload == "[DONE]":
                return
            yield _DECODER.decode(payload)
    if data and (payload := "\n".join(data)) != "[DONE]":
        yield _DECODER.decode(payload)


async def _responses_events(events: AsyncIterator[Any]) -> AsyncIterator[ModelEvent]:
    async for ev in events:
        kind = ev.get("type")
        if kind == "response.output_text.delta":
            yield TextDelta(ev["delta"])
        elif kind in ("response.reasoning_summary_text.delta", "response.reasoning_text.delta"):
            yield ReasoningDelta(ev["delta"])
        elif kind == "response.output_item.done" and ev["item"].get("type") == "function_call":
            item = ev["item"]
            yield ToolCallReady(item["call_id"], item["name"], item.get("arguments") or "")
        elif kind == "response.completed":
            yield Finished(_responses_usage(ev["response"].get("usage")))
            return
        elif kind in ("response.failed", "response.incomplete"):
            response = ev.get("response") or {}
            why = response.get("error") or response.get("incomplete_details")
            raise ModelError(f"The model stopped: {why}", retryable=False)
        elif kind == "error":
            raise ModelError(
                f"The model endpoint reported an error: {ev.get('message')}", retryable=True
            )
    raise ModelError("The model stream ended before the response completed.", retryable=True)


async def _chat_events(events: AsyncIterator[Any]) -> AsyncIterator[ModelEvent]:
    calls: dict[int, list[str]] = {}  # index -> [id, name, argument chunks...]
    usage: Usage | None = None
    finished = False
    async for chunk in events:
        if chunk.get("error"):
            raise ModelError(
                f"The model endpoint reported an error: {chunk['error']}", retryable=True
            )
        if chunk.get("usage"):
            usage = _chat_usage(chunk["usage"])
        for choice in chunk.get("choices") or ():
            delta = choice.get("delta") or {}
            reasoning = delta.get("reasoning_content") or delta.get("reasoning")
            if isinstance(reasoning, str) and reasoning:
                yield ReasoningDelta(reasoning)
            if delta.get("content"):
                yield TextDelta(delta["content"])
            for tc in delta.get("tool_calls") or ():
                slot = calls.setdefault(tc.get("index", 0), ["", ""])
                function = tc.get("function") or {}
                if tc.get("id"):
                    slot[0] = tc["id"]
                if function.get("name"):
                    slot[1] = function["name"]
                if function.get("arguments"):
                    slot.append(function["arguments"])
            if choice.get("finish_reason"):
                finished = True
    if not finished:
        raise ModelError("The model stream ended before the reply finished.", retryable=True)
    for index in sorted(calls):
        call_id, name, *parts = calls[index]
        yield ToolCallReady(call_id or f"call_{index}", name, "".join(parts))
    yield Finished(usage)


def _status_error(exc: Any) -> ModelError:
    status = exc.status_code
    retry_after: float | None = None
    header = exc.response.headers.get("retry-after")
    if header:
        try:
            retry_after = float(header)
        except ValueError:
            retry_after = None
    detail = _error_detail(exc)
    if status in (401, 403):
        msg = (
            f"The model endpoint refused the API key ({status}: {detail}). Check "
            "OPENAI_API_KEY (or the key stored in the client)."
        )
        return ModelError(msg, retryable=False, status=status)
    if status == 404:
        msg = (
            f"The model endpoint answered 404 ({detail}). Check the model id and the base "
            "URL, and TETHER_WIRE_API (`chat` for Chat Completions servers)."
        )
        return ModelError(msg, retryable=False, status=status)
    retryable = status in (408, 409, 429) or status >= 500
    return ModelError(
        f"The model endpoint answered {status}: {detail}",
        retryable=retryable,
        retry_after=retry_after,
        status=status,
    )


def _error_detail(exc: Any) -> str:
    body = exc.body
    if isinstance(body, dict):
        err = body.get("error", body)
        if isinstance(err, dict) and err.get("message"):
            return str(err["message"])
        return json.dumps(body)[:300]
    return str(exc.message)[:300]


def _responses_usage(u: dict[str, Any] | None) -> Usage | None:
    if not u:
        return None
    details = u.get("input_tokens_details") or {}
    return Usage(
        input_tokens=u.get("input_tokens") or 0,
        cached_input_tokens=details.get("cached_tokens") or 0,
        output_tokens=u.get("output_tokens") or 0,
        total_tokens=u.get("total_tokens") or 0,
    )


def _chat_usage(u: dict[str, Any]) -> Usage:
    details = u.get("prompt_tokens_details") or {}
    return Usage(
        input_tokens=u.get("prompt_tokens") or 0,
        cached_input_tokens=details.get("cached_tokens") or 0,
        output_tokens=u.get("completion_tokens") or 0,
        total_tokens=u.get("total_tokens") or 0,
    )
