"""Streams one model call, over the Responses API or Chat Completions, and yields the same small
events for both.

The call goes out through `httpx2`, the HTTP client the `openai` package itself is built on:
the body is ours and the event stream is read raw (openai's typed path re-walks the whole
conversation on every call and validates every event with pydantic), so all openai would add
is a second of imports (its `__init__` loads every API type) before a cold first turn's first
delta. `openai` lists the endpoint's models (`model/list`), imported then, in a worker thread.
Retries live in the turn loop (it tells the user about them), so there are none here.
"""

from __future__ import annotations

import asyncio
import functools
import json
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import msgspec

from protocol.base import Usage, WireApi
from server.agent.errors import ModelError, StructuredOutputRefused
from server.agent.history import Entry, to_chat_messages, to_responses_input

OPENAI_BASE_URL = "https://api.openai.com/v1"


def warm_up(base_url: str | None = None) -> None:
    """Import what a model call uses (httpx2, and the transport it loads with its first
    client) and build the TLS context the endpoint needs, in a background thread after
    `initialize`, so the first turn does not wait for them."""
    import httpx2

    httpx2.AsyncClient(verify=_tls_context(base_url or OPENAI_BASE_URL))


def _tls_context(base_url: str) -> ssl.SSLContext:
    """What the client verifies TLS with. Reading the CA bundle costs ~60 ms of CPU, so it is
    read (once, for every client) only for an https endpoint; a plain-http one (a model served
    on this machine) gets a context that trusts no certificate: it can never talk TLS
    unverified."""
    if base_url.lower().startswith("https:"):
        return _verified_context()
    return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)


@functools.cache
def _verified_context() -> ssl.SSLContext:
    import httpx2

    return httpx2.create_ssl_context()


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
_ENCODER = msgspec.json.Encoder()


@dataclass(frozen=True, slots=True)
class ToolSpec:
    name: str
    description: str
    parameters: dict[str, Any]


@dataclass(frozen=True, slots=True)
class OutputFormat:
    """A JSON Schema the answer must match: the endpoint's structured output. `strict` asks
    the endpoint to enforce it (OpenAI accepts strict only for a schema whose objects list
    every property as required and forbid others: `server.output_schema.strict_compatible`)."""

    name: str
    schema: dict[str, Any]
    strict: bool

    def responses_text(self) -> dict[str, Any]:
        """The Responses API's `text` parameter."""
        return {"format": {"type": "json_schema", **self._named()}}

    def chat_response_format(self) -> dict[str, Any]:
        """Chat Completions' `response_format` parameter."""
        return {"type": "json_schema", "json_schema": self._named()}

    def _named(self) -> dict[str, Any]:
        return {"name": self.name, "schema": self.schema, "strict": self.strict}


STRUCTURED_OUTPUT_PARAMETERS = ("response_format", "text.format", "json_schema")
"""Names an endpoint's 400 cites when it does not take structured output."""


class ModelClient:
    """One endpoint (base URL, key, wire API). Safe to share between threads' turns."""

    def __init__(
        self, *, base_url: str | None, api_key: str | None, wire_api: WireApi, timeout_s: float
    ) -> None:
        import httpx2  # deferred: see the module docstring

        self.wire_api = wire_api
        self._base_url = (base_url or OPENAI_BASE_URL).rstrip("/")
        self._api_key = api_key or "unused"  # local servers need no key
        self._timeout_s = timeout_s
        self._refused_output_format: set[str] = set()
        """Models this endpoint refused structured output for: not asked again."""
        self._http = httpx2.AsyncClient(
            verify=_tls_context(self._base_url),
            timeout=timeout_s,
            headers={"Authorization": f"Bearer {self._api_key}"},
        )

    async def list_models(self) -> list[str]:
        def client() -> Any:
            import openai

            return openai, openai.AsyncOpenAI(
                api_key=self._api_key,
                base_url=self._base_url,
                max_retries=0,
                timeout=self._timeout_s,
            )

        openai, listing = await asyncio.to_thread(client)
        try:
            page = await listing.models.list()
            return [m.id async for m in page]
        except openai.OpenAIError:
            return []

    async def stream(
        self,
        *,
        model: str,
        instructions: str,
        entries: list[Entry],
        tools: list[ToolSpec],
        output_format: OutputFormat | None = None,
    ) -> AsyncIterator[ModelEvent]:
        """One model call's events, ending with `Finished`. Raises ModelError, and
        StructuredOutputRefused when the endpoint answers 400 naming `output_format`'s
        parameter (the caller then asks in the prompt instead).

        The event stream is read raw, and the body is built here, not by openai's typed path
        (see the module docstring): that cost more than everything else in a turn
        (bench/README.md).
        """
        import httpx2

        if output_format is not None and model in self._refused_output_format:
            raise StructuredOutputRefused(
                f"The model endpoint refused structured output for {model} before."
            )
        if self.wire_api == "chat":
            path, body, parse = (
                "/chat/completions",
                _chat_body(instructions, entries, tools),
                _chat_events,
            )
            if output_format is not None:
                body["response_format"] = output_format.chat_response_format()
        else:
            path = "/responses"
            body, parse = _responses_body(instructions, entries, tools), _responses_events
            if output_format is not None:
                body["text"] = output_format.responses_text()
        request = self._http.stream(
            "POST",
            self._base_url + path,
            content=_ENCODER.encode({"model": model, "stream": True, **body}),
            headers={"Content-Type": "application/json", "Accept": "text/event-stream"},
        )
        try:
            async with request as response:
                if response.status_code >= 400:
                    await response.aread()
                    if output_format is not None and _refuses_structured_output(response):
                        self._refused_output_format.add(model)
                        raise StructuredOutputRefused(
                            "The model endpoint does not take structured output "
                            f"({_error_detail(response.status_code, response.text)})."
                        )
                    raise _status_error(response)
                async for event in parse(_sse_data(response.aiter_lines())):
                    yield event
        except httpx2.TimeoutException:
            raise ModelError("The model endpoint timed out.", retryable=True) from None
        except httpx2.HTTPError as exc:
            cause = exc.__cause__ or exc
            raise ModelError(
                f"Could not reach the model endpoint ({cause}).", retryable=True
            ) from None
        except (msgspec.DecodeError, ValueError, KeyError, TypeError) as exc:
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


def _refuses_structured_output(response: Any) -> bool:
    """A 400 (or 422, as some local servers answer) whose body names the structured output
    parameter: the endpoint or the model does not support it."""
    if response.status_code not in (400, 422):
        return False
    text = response.text.lower()
    return any(name in text for name in STRUCTURED_OUTPUT_PARAMETERS)


def _status_error(response: Any) -> ModelError:
    """The error for an HTTP error answer (its body read)."""
    status = response.status_code
    retry_after: float | None = None
    header = response.headers.get("retry-after")
    if header:
        try:
            retry_after = float(header)
        except ValueError:
            retry_after = None
    detail = _error_detail(status, response.text)
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


def _error_detail(status: int, text: str) -> str:
    try:
        body = json.loads(text)
    except ValueError:
        body = None
    if isinstance(body, dict):
        err = body.get("error", body)
        if isinstance(err, dict) and err.get("message"):
            return str(err["message"])
        return json.dumps(body)[:300]
    return f"Error code: {status} - {text}"[:300]


def _responses_usage(u: dict[str, Any] | None) -> Usage | None:
    if not u:
        return None
    details = u.get("input_tokens_details") or {}
    reasoning = (u.get("output_tokens_details") or {}).get("reasoning_tokens")
    return Usage(
        input_tokens=u.get("input_tokens") or 0,
        cached_input_tokens=details.get("cached_tokens") or 0,
        output_tokens=u.get("output_tokens") or 0,
        total_tokens=u.get("total_tokens") or 0,
        reasoning_output_tokens=reasoning or 0,
    )


def _chat_usage(u: dict[str, Any]) -> Usage:
    details = u.get("prompt_tokens_details") or {}
    reasoning = (u.get("completion_tokens_details") or {}).get("reasoning_tokens")
    return Usage(
        input_tokens=u.get("prompt_tokens") or 0,
        cached_input_tokens=details.get("cached_tokens") or 0,
        output_tokens=u.get("completion_tokens") or 0,
        total_tokens=u.get("total_tokens") or 0,
        reasoning_output_tokens=reasoning or 0,
    )
