"""Recorded model requests, with one normalized view over both wire APIs.

Tests assert on what the agent sent without caring whether it spoke the Responses API or
Chat Completions: `instructions`, `user_texts()`, `user_images()`, `tool_outputs()`,
`tool_calls()` and `tools` read the same either way; `body` keeps the raw JSON for anything else.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

WireApi = Literal["responses", "chat"]

# How the server's answer to a request ended, once it has.
Outcome = Literal[
    "completed",  # the whole scripted reply was sent
    "client_closed",  # the client hung up before the end (an interrupt, a timeout)
    "status",  # a scripted HTTP error status was sent
    "dropped",  # scripted: connection closed without a response
    "disconnected",  # scripted: socket closed mid-stream
    "malformed",  # scripted: a corrupt SSE event was sent (the stream went on)
    "stream_error",  # scripted: a failure reported inside the stream
    "exhausted",  # the script had no turn left: answered 500
    "script_error",  # a responder raised: answered 500
    "bad_request",  # the body was not a JSON object: answered 400
]


class SentToolCall(NamedTuple):
    """A tool call the agent replays to the model as conversation history."""

    call_id: str
    name: str
    arguments: str


@dataclass
class RecordedRequest:
    """One model request as the server received it, and how the answer ended."""

    index: int
    method: str
    path: str
    headers: Mapping[str, str]
    body: dict[str, Any]
    size: int = 0  # bytes of the raw body
    outcome: Outcome | None = None
    _done: threading.Event = field(default_factory=threading.Event, repr=False)
    _held: threading.Event = field(default_factory=threading.Event, repr=False)

    @property
    def api(self) -> WireApi:
        return "chat" if self.path.endswith("/chat/completions") else "responses"

    @property
    def model(self) -> str | None:
        return self.body.get("model")

    @property
    def stream(self) -> bool:
        return bool(self.body.get("stream"))

    @property
    def tools(self) -> list[str]:
        """Names of the function tools offered to the model."""
        names: list[str] = []
        for tool in self.body.get("tools") or []:
            function = tool.get("function") if self.api == "chat" else tool
            if isinstance(function, Mapping) and "name" in function:
                names.append(str(function["name"]))
        return names

    @property
    def output_format(self) -> dict[str, Any] | None:
        """The structured output asked for, `{name, schema, strict}`, from either API's
        parameter (Responses `text.format`, Chat Completions `response_format`), or None."""
        if self.api == "chat":
            asked = self.body.get("response_format")
            if isinstance(asked, Mapping) and asked.get("type") == "json_schema":
                named = asked.get("json_schema")
                return dict(named) if isinstance(named, Mapping) else None
            return None
        text = self.body.get("text")
        asked = text.get("format") if isinstance(text, Mapping) else None
        if isinstance(asked, Mapping) and asked.get("type") == "json_schema":
            return {k: v for k, v in asked.items() if k != "type"}
        return None

    @property
    def instructions(self) -> str:
        """The system and developer text, joined by blank lines."""
        parts: list[str] = []
        if isinstance(self.body.get("instructions"), str):
            parts.append(self.body["instructions"])
        parts += [text for role, text in self._messages() if role in ("system", "developer")]
        return "\n\n".join(parts)

    def user_texts(self) -> list[str]:
        """Text of each user message, oldest first."""
        return [text for role, text in self._messages() if role == "user"]

    def user_images(self) -> list[list[str]]:
        """The image URLs of each user message, oldest first: Responses `input_image` parts'
        `image_url`, Chat Completions `image_url` parts' `url`."""
        images: list[list[str]] = []
        for item in self._items():
            if item.get("role") != "user" or item.get("type", "message") != "message":
                continue
            content = item.get("content")
            parts = content if isinstance(content, list) else []
            urls: list[str] = []
            for part in parts:
                if not isinstance(part, Mapping):
                    continue
                if part.get("type") == "input_image" and isinstance(part.get("image_url"), str):
                    urls.append(part["image_url"])
                elif part.get("type") == "image_url" and isinstance(part.get("image_url"), Mapping):
                    urls.append(str(part["image_url"].get("url")))
            images.append(urls)
        return images

    def assistant_texts(self) -> list[str]:
        """Text of each assistant message replayed as history, oldest first."""
        return [text for role, text in self._messages() if role == "assistant" and text]

    def tool_outputs(self) -> dict[str, str]:
        """call_id -> the tool output the agent sent back for it."""
        outputs: dict[str, str] = {}
        for item in self._items():
            if self.api == "chat" and item.get("role") == "tool":
                outputs[str(item.get("tool_call_id"))] = content_text(item.get("content"))
            elif item.get("type") == "function_call_output":
                outputs[str(item.get("call_id"))] = content_text(item.get("output"))
        return outputs

    def tool_calls(self) -> list[SentToolCall]:
        """The model's earlier tool calls, as the agent replays them in history."""
        calls: list[SentToolCall] = []
        for item in self._items():
            if self.api == "responses" and item.get("type") == "function_call":
                name, arguments = item.get("name"), item.get("arguments")
                calls.append(SentToolCall(str(item.get("call_id")), str(name), str(arguments)))
            elif self.api == "chat":
                for call in item.get("tool_calls") or []:
                    function = call.get("function") or {}
                    name, arguments = function.get("name"), function.get("arguments")
                    calls.append(SentToolCall(str(call.get("id")), str(name), str(arguments)))
        return calls

    def wait_done(self, timeout: float = 5.0) -> Outcome:
        """Block until the answer to this request has ended; returns how it ended."""
        if not self._done.wait(timeout):
            raise TimeoutError(f"request #{self.index} still being answered after {timeout}s")
        assert self.outcome is not None
        return self.outcome

    def finish(self, outcome: Outcome) -> None:
        """Server side: record how the answer ended (the first outcome wins)."""
        if self.outcome is None:
            self.outcome = outcome
        self._done.set()

    def _items(self) -> list[dict[str, Any]]:
        raw = self.body.get("messages" if self.api == "chat" else "input")
        if isinstance(raw, str):
            return [{"role": "user", "content": raw}]
        if not isinstance(raw, list):
            return []
        return [item for item in raw if isinstance(item, dict)]

    def _messages(self) -> list[tuple[str, str]]:
        messages: list[tuple[str, str]] = []
        for item in self._items():
            if "role" in item and item.get("type", "message") == "message":
                messages.append((str(item["role"]), content_text(item.get("content"))))
        return messages


def content_text(content: Any) -> str:
    """The text of message content: a string, or a list of text parts (any part type)."""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return ""
    texts = [
        str(part["text"])
        for part in content
        if isinstance(part, Mapping) and isinstance(part.get("text"), str)
    ]
    return "".join(texts)
