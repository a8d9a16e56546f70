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

from protocol.base import Usage, WireApi
from server.agent.history import Entry, to_chat_messages, to_responses_input


def warm_up() -> None:
    """Import the openai package and parse one event of each kind the turn loop reads, in a
    background thread after `initialize`, so the first turn pays for neither (the first parse
    builds pydantic's validators: about a quarter of a second)."""
    import openai  # noqa: F401
    from openai.types.chat import ChatCompletionChunk
    from openai.types.responses import ResponseStreamEvent

    try:
        from openai._models import construct_type
    except ImportError:  # a private helper; without it the first turn just parses cold
        return
    samples = (
        {"type": "response.output_text.delta", "delta": "", "item_id": "i", "output_index": 0,
         "content_index": 0, "sequence_number": 0, "logprobs": []},
        {"type": "response.output_item.done", "output_index": 0, "sequence_number": 0,
         "item": {"type": "function_call", "call_id": "c", "name": "n", "arguments": "{}"}},
        {"type": "response.completed", "sequence_number": 0, "response": {
            "id": "r", "object": "response", "created_at": 0, "model": "m", "output": [],
            "usage": {"input_tokens": 0, "output_tokens": 0, "total_tokens": 0}}},
    )
    for sample in samples:
        construct_type(type_=ResponseStreamEvent, value=sample)
    construct_type(type_=ChatCompletionChunk, value={
        "id": "c", "object": "chat.completion.chunk", "created": 0, "model": "m",
        "choices": [{"index": 0, "delta": {"content": ""}}]})


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


class ModelError(Exception):
    """A model call failed. `retryable` says whether trying again may help; `retry_after` is the
    server's requested wait in seconds, when it gave one."""

    def __init__(
        self,
        message: str,
        *,
        retryable: bool,
        retry_after: float | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after
        self.status = status


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
        """One model call's events, ending with `Finished`. Raises ModelError."""
        try:
            if self.wire_api == "chat":
                events = self._stream_chat(model, instructions, entries, tools)
            else:
                events = self._stream_responses(model, instructions, entries, tools)
            async for event in events:
                yield event
        except self._openai.APIStatusError as exc:
            raise _status_error(exc) from None
        except self._openai.APITimeoutError:
            raise ModelError("The model endpoint timed out.", retryable=True) from None
        except self._openai.APIConnectionError as exc:
            cause = exc.__cause__ or exc
            raise ModelError(
                f"Could not reach the model endpoint ({cause}).", retryable=True
            ) from None
        except (self._openai.OpenAIError, ValueError) as exc:
            # ValueError: a stream event whose data is not JSON (json.JSONDecodeError).
            raise ModelError(
                f"The model endpoint sent something unexpected: {exc}", retryable=True
            ) from None

    async def _stream_responses(
        self, model: str, instructions: str, entries: list[Entry], tools: list[ToolSpec]
    ) -> AsyncIterator[ModelEvent]:
        stream = await self._client.responses.create(
            model=model,
            instructions=instructions,
            input=to_responses_input(entries),  # type: ignore[arg-type]
            tools=[
                {
                    "type": "function",
                    "name": t.name,
                    "description": t.description,
                    "parameters": t.parameters,
                    "strict": False,
                }
                for t in tools
            ],  # type: ignore[misc]
            stream=True,
            store=False,
        )
        async with stream:
            async for ev in stream:
                kind = ev.type
                if kind == "response.output_text.delta":
                    yield TextDelta(ev.delta)
                elif kind in (
                    "response.reasoning_summary_text.delta",
                    "response.reasoning_text.delta",
                ):
                    yield ReasoningDelta(ev.delta)
                elif kind == "response.output_item.done" and ev.item.type == "function_call":
                    item = ev.item
                    yield ToolCallReady(item.call_id, item.name, item.arguments or "")
                elif kind == "response.completed":
                    yield Finished(_responses_usage(ev.response.usage))
                    return
                elif kind in ("response.failed", "response.incomplete"):
                    err = getattr(ev.response, "error", None) or getattr(
                        ev.response, "incomplete_details", None
                    )
                    raise ModelError(f"The model stopped: {err}", retryable=False)
                elif kind == "error":
                    raise ModelError(
                        f"The model endpoint reported an error: {ev.message}", retryable=True
                    )
        raise ModelError("The model stream ended before the response completed.", retryable=True)

    async def _stream_chat(
        self, model: str, instructions: str, entries: list[Entry], tools: list[ToolSpec]
    ) -> AsyncIterator[ModelEvent]:
        kwargs: dict[str, Any] = {}
        if tools:
            kwargs["tools"] = [
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
        stream = await self._client.chat.completions.create(
            model=model,
            messages=to_chat_messages(instructions, entries),  # type: ignore[arg-type]
            stream=True,
            stream_options={"include_usage": True},
            **kwargs,
        )
        calls: dict[int, list[str]] = {}  # index -> [id, name, arguments...]
        usage: Usage | None = None
        finished = False
        async with stream:
            async for chunk in stream:
                if chunk.usage is not None:
                    usage = _chat_usage(chunk.usage)
                for choice in chunk.choices:
                    delta = choice.delta
                    reasoning = getattr(delta, "reasoning_content", None) or getattr(
                        delta, "reasoning", None
                    )
                    if isinstance(reasoning, str) and reasoning:
                        yield ReasoningDelta(reasoning)
                    if delta.content:
                        yield TextDelta(delta.content)
                    for tc in delta.tool_calls or ():
                        slot = calls.setdefault(tc.index, ["", ""])
                        if tc.id:
                            slot[0] = tc.id
                        if tc.function and tc.function.name:
                            slot[1] = tc.function.name
                        if tc.function and tc.function.arguments:
                            slot.append(tc.function.arguments)
                    if choice.finish_reason:
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


def _responses_usage(u: Any) -> Usage | None:
    if u is None:
        return None
    details = getattr(u, "input_tokens_details", None)
    return Usage(
        input_tokens=u.input_tokens or 0,
        cached_input_tokens=getattr(details, "cached_tokens", 0) or 0,
        output_tokens=u.output_tokens or 0,
        total_tokens=u.total_tokens or 0,
    )


def _chat_usage(u: Any) -> Usage:
    details = getattr(u, "prompt_tokens_details", None)
    return Usage(
        input_tokens=u.prompt_tokens or 0,
        cached_input_tokens=getattr(details, "cached_tokens", 0) or 0,
        output_tokens=u.completion_tokens or 0,
        total_tokens=u.total_tokens or 0,
    )
