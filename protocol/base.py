"""The Struct base every wire type derives from: camelCase fields, absent optionals omitted."""

from typing import Any, ClassVar, Generic, Literal, TypeVar

import msgspec


class Wire(msgspec.Struct, rename="camel", omit_defaults=True, forbid_unknown_fields=False):
    """Base for wire types: snake_case in Python, camelCase on the wire; `None` fields are
    dropped."""


class Notification(Wire):
    """The params of a server -> client notification. Each subclass names its method in
    `METHOD`, so a notification is sent as `notify(note)` and cannot go out under another
    method's name."""

    METHOD: ClassVar[str]


R = TypeVar("R")


class ServerRequest(Wire, Generic[R]):
    """The params of a server -> client request whose answer is an `R`. Each subclass names its
    method in `METHOD` and its result type in `RESULT` (the same `R`; a test checks it), so
    `request(params)` returns the right type."""

    METHOD: ClassVar[str]
    RESULT: ClassVar[type[Any]]


Mode = Literal["readOnly", "agent", "fullAccess"]
"""The user's one dial of trust (PROTOCOL.md §6)."""

SandboxKind = Literal["readOnly", "workspaceWrite", "none"]
"""Which sandbox a command ran in."""

LauncherKind = Literal["bwrap", "landlock", "seatbelt", "none"]
"""The OS mechanism that enforces the sandbox."""

WireApi = Literal["responses", "chat"]
"""The model endpoint's API: OpenAI Responses, or Chat Completions (Ollama, vLLM, llama.cpp)."""


class Position(Wire):
    """A 0-based line and character, like LSP."""

    line: int
    character: int


class Range(Wire):
    """A 0-based, end-exclusive range, like LSP."""

    start: Position
    end: Position


class Usage(Wire):
    """Token usage of a turn or thread, as the model endpoint reported it."""

    input_tokens: int
    cached_input_tokens: int
    output_tokens: int
    total_tokens: int
    context_window: int | None = None
    reasoning_output_tokens: int = 0
    """Of `output_tokens`, those the model spent reasoning, when the endpoint reports it."""


class ErrorInfo(Wire):
    """Why a turn failed."""

    message: str
    code: str | None = None


class Empty(Wire):
    """An empty params or result object `{}`."""
