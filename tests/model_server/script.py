"""What the scripted model answers: replies, faults, and their JSON form.

A script is a queue of turns; the server pops one per model request. A turn is a `Reply`
(a successful answer and how it is paced), a `Fault` (an HTTP error, a dropped connection,
a stream cut short or corrupted), or a `Responder`: a callable that looks at the recorded
request and returns one of those, so a test can answer according to what the agent sent.

Turns are wire-neutral: the same `Reply` streams as Responses API events or as Chat
Completions chunks depending on the endpoint the client called.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import msgspec

if TYPE_CHECKING:
    from tests.model_server.recording import RecordedRequest

_T = TypeVar("_T")
ReasoningFormat = Literal["summary", "text"]
FaultKind = Literal[
    "status", "drop", "disconnect", "malformed", "stream_error", "unsupported_output_format"
]


class ScriptError(ValueError):
    """A script (Python or JSON) that cannot be played; the message names the bad part."""


@dataclass(frozen=True)
class Usage:
    """Token counts reported at the end of a reply; `total_tokens` is derived."""

    input_tokens: int
    output_tokens: int
    cached_input_tokens: int = 0
    reasoning_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens


@dataclass(frozen=True)
class ToolCall:
    """A function call the model makes.

    `arguments` is a JSON object, or a string sent verbatim (to script invalid JSON).
    The arguments text streams in `chunks` pieces. `call_id` defaults to a unique id.
    """

    name: str
    arguments: Mapping[str, Any] | str = field(default_factory=dict[str, Any])
    call_id: str | None = None
    chunks: int = 3

    def __post_init__(self) -> None:
        if self.chunks < 1:
            raise ScriptError(f"ToolCall {self.name!r}: chunks must be >= 1, got {self.chunks}")

    @property
    def arguments_text(self) -> str:
        if isinstance(self.arguments, str):
            return self.arguments
        return json.dumps(self.arguments)


@dataclass(frozen=True)
class Reply:
    """A successful model answer and how it streams.

    Text streams in `deltas` pieces when given, else in pieces of `chunk_size` characters;
    reasoning always streams in `chunk_size` pieces. `delay` is slept between events (a slow
    stream), `headers_delay` before the response headers (a slow or timing-out server).
    `hold_after=K` stops after K events until the test calls `ModelServer.release()` or the
    client hangs up (for interrupt tests). `usage=None` estimates tokens at ~4 characters each.

    `reasoning_format` picks the Responses API reasoning events: "summary" (OpenAI's
    reasoning_summary_text.*) or "text" (reasoning_text.*, as open-weight servers send).
    `chat_reasoning_field` is the Chat Completions delta field carrying reasoning
    ("reasoning_content" for llama.cpp/DeepSeek/older vLLM, "reasoning" for newer vLLM).
    """

    text: str = ""
    reasoning: str = ""
    tool_calls: Sequence[ToolCall] = ()
    usage: Usage | None = None
    chunk_size: int = 8
    deltas: int | None = None
    delay: float = 0.0
    headers_delay: float = 0.0
    hold_after: int | None = None
    reasoning_format: ReasoningFormat = "summary"
    chat_reasoning_field: str = "reasoning_content"

    def __post_init__(self) -> None:
        object.__setattr__(self, "tool_calls", tuple(self.tool_calls))
        if self.chunk_size < 1:
            raise ScriptError(f"Reply.chunk_size must be >= 1, got {self.chunk_size}")
        if self.deltas is not None and self.deltas < 1:
            raise ScriptError(f"Reply.deltas must be >= 1, got {self.deltas}")
        if min(self.delay, self.headers_delay, self.hold_after or 0) < 0:
            raise ScriptError("Reply.delay, headers_delay and hold_after must not be negative")

    def usage_for(self, request_bytes: int) -> Usage:
        """The scripted usage, or an estimate at ~4 characters (bytes) per token."""
        if self.usage is not None:
            return self.usage
        produced = len(self.text) + sum(
            len(c.name) + len(c.arguments_text) for c in self.tool_calls
        )
        reasoning = (len(self.reasoning) + 3) // 4
        return Usage(
            input_tokens=max(1, request_bytes // 4),
            output_tokens=(produced + 3) // 4 + reasoning,
            reasoning_tokens=reasoning,
        )

    def text_pieces(self) -> list[str]:
        if self.deltas is not None:
            return split_into(self.text, self.deltas)
        return split_every(self.text, self.chunk_size)

    def reasoning_pieces(self) -> list[str]:
        return split_every(self.reasoning, self.chunk_size)


def _partial_reply() -> Reply:
    """The default stream a mid-stream fault cuts (~30 events; past its end means after
    the last event)."""
    return Reply(text="This answer is cut short by a scripted fault. " * 8, chunk_size=16)


@dataclass(frozen=True)
class Fault:
    """A failure of the model endpoint. Build one with the constructors below."""

    kind: FaultKind
    http_status: int = 500
    retry_after: float | None = None
    message: str | None = None
    after_events: int = 0
    reply: Reply = field(default_factory=_partial_reply)
    headers_delay: float = 0.0

    def __post_init__(self) -> None:
        if self.after_events < 0 or self.headers_delay < 0:
            raise ScriptError("Fault.after_events and headers_delay must not be negative")

    @classmethod
    def status(
        cls,
        code: int,
        *,
        retry_after: float | None = None,
        message: str | None = None,
        headers_delay: float = 0.0,
    ) -> Fault:
        """Answer HTTP `code` with an OpenAI-style error body (and `Retry-After` seconds)."""
        return cls("status", code, retry_after, message, headers_delay=headers_delay)

    @classmethod
    def unsupported_output_format(cls) -> Fault:
        """Answer 400 naming the request's structured output parameter (`response_format` on
        Chat Completions, `text.format` on the Responses API) as unsupported, as endpoints and
        models without structured output do."""
        return cls("unsupported_output_format", 400)

    @classmethod
    def drop(cls, *, headers_delay: float = 0.0) -> Fault:
        """Close the connection without answering at all."""
        return cls("drop", headers_delay=headers_delay)

    @classmethod
    def disconnect(cls, after_events: int = 0, reply: Reply | None = None) -> Fault:
        """Stream `reply` (a long default text) and close the socket after `after_events`."""
        return cls("disconnect", after_events=after_events, reply=reply or _partial_reply())

    @classmethod
    def malformed(cls, after_events: int = 0, reply: Reply | None = None) -> Fault:
        """Stream `reply` with one undecodable SSE event inserted after `after_events`."""
        return cls("malformed", after_events=after_events, reply=reply or _partial_reply())

    @classmethod
    def stream_error(
        cls, after_events: int = 0, message: str | None = None, reply: Reply | None = None
    ) -> Fault:
        """Stream `reply`, then after `after_events` report a failure in-band and end cleanly.

        Responses API: a `response.failed` event; Chat Completions: a `{"error": ...}` chunk,
        as OpenAI sends when generation fails after the headers went out.
        """
        reply = reply or _partial_reply()
        return cls("stream_error", message=message, after_events=after_events, reply=reply)


Responder = Callable[["RecordedRequest"], "Reply | Fault"]
Turn = Reply | Fault | Responder


def split_every(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


def split_into(text: str, count: int) -> list[str]:
    """Split `text` into `count` pieces of nearly equal length (fewer if text is shorter)."""
    count = min(count, len(text))
    if count <= 0:
        return []
    base, extra = divmod(len(text), count)
    pieces: list[str] = []
    start = 0
    for i in range(count):
        end = start + base + (1 if i < extra else 0)
        pieces.append(text[start:end])
        start = end
    return pieces


def echo_reply(request: RecordedRequest) -> Reply:
    """A short answer quoting the user's last message: the `--echo` demo behaviour."""
    texts = request.user_texts()
    last = texts[-1] if texts else ""
    return Reply(text=f"Echo from the scripted model: {last}")


# JSON form ------------------------------------------------------------------------------


def turns_from_json(document: Any) -> list[Turn]:
    """Turns from a parsed script: a list of turns, or `{"turns": [...]}`.

    Each turn is an object. A reply uses `Reply`'s field names, tool calls and usage
    nested as objects with `ToolCall`'s and `Usage`'s field names:

        {"text": "Done.", "reasoning": "...", "deltas": 50, "delay": 0.01,
         "tool_calls": [{"name": "read_file", "arguments": {"path": "a.py"}, "chunks": 3}],
         "usage": {"input_tokens": 900, "output_tokens": 40, "cached_input_tokens": 800}}

    A fault names its kind in "fault" and takes that constructor's parameters:

        {"fault": "status", "status": 429, "retry_after": 0.5, "message": "slow down"}
        {"fault": "drop"}
        {"fault": "disconnect", "after_events": 5, "reply": {"text": "partial"}}
        {"fault": "malformed", "after_events": 3}
        {"fault": "stream_error", "after_events": 3, "message": "overloaded"}
        {"fault": "unsupported_output_format"}

    `{"echo": true}` answers with `echo_reply`. Unknown keys are errors, never ignored.
    """
    if isinstance(document, Mapping):
        unknown = set(document) - {"turns"}
        if unknown:
            raise ScriptError(f"unknown top-level keys {sorted(unknown)}; expected 'turns'")
        document = document.get("turns", [])
    if not isinstance(document, list):
        raise ScriptError("a script is a JSON list of turns or an object with 'turns'")
    return [_turn_from_json(raw, f"turn {i}") for i, raw in enumerate(document)]


def _turn_from_json(raw: Any, where: str) -> Turn:
    if not isinstance(raw, Mapping):
        raise ScriptError(f"{where}: expected an object, got {type(raw).__name__}")
    spec: dict[str, Any] = dict(raw)
    if spec.pop("echo", False):
        if spec:
            raise ScriptError(f"{where}: an echo turn takes no other keys, got {sorted(spec)}")
        return echo_reply
    if "fault" in spec:
        return _fault_from_json(spec, where)
    return _reply_from_json(spec, where)


def _fault_from_json(spec: dict[str, Any], where: str) -> Fault:
    kind = spec.pop("fault")
    constructors: dict[str, Callable[..., Fault]] = {
        "status": Fault.status,
        "drop": Fault.drop,
        "disconnect": Fault.disconnect,
        "malformed": Fault.malformed,
        "stream_error": Fault.stream_error,
        "unsupported_output_format": Fault.unsupported_output_format,
    }
    if kind not in constructors:
        raise ScriptError(f"{where}: unknown fault {kind!r}; one of {sorted(constructors)}")
    if "reply" in spec:
        spec["reply"] = _reply_from_json(spec["reply"], f"{where}.reply")
    if kind == "status":
        if "status" not in spec:
            raise ScriptError(f"{where}: a status fault needs 'status' (the HTTP code)")
        spec["code"] = spec.pop("status")
    try:
        fault = constructors[kind](**spec)
    except TypeError as error:
        raise ScriptError(f"{where}: bad fields for fault {kind!r}: {error}") from None
    # The constructors do not check types; a round trip through the dataclass does.
    _convert(dataclasses.asdict(fault), Fault, where)
    return fault


def _reply_from_json(raw: Any, where: str) -> Reply:
    _reject_unknown(raw, Reply, where)
    if isinstance(raw.get("usage"), Mapping):
        _reject_unknown(raw["usage"], Usage, f"{where}.usage")
    calls = raw.get("tool_calls")
    for i, call in enumerate(calls if isinstance(calls, list) else []):
        _reject_unknown(call, ToolCall, f"{where}.tool_calls[{i}]")
    return _convert(raw, Reply, where)


def _convert(raw: Any, cls: type[_T], where: str) -> _T:
    try:
        return msgspec.convert(raw, cls)
    except msgspec.ValidationError as error:
        raise ScriptError(f"{where}: {error}") from None


def _reject_unknown(spec: Any, cls: type, where: str) -> None:
    # msgspec ignores unknown keys of dataclasses; a typo must not pass silently.
    if not isinstance(spec, Mapping):
        raise ScriptError(f"{where}: expected an object, got {type(spec).__name__}")
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = set(spec) - known
    if unknown:
        raise ScriptError(f"{where}: unknown keys {sorted(unknown)}; known: {sorted(known)}")
