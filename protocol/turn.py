"""Turns: one user request and everything the agent did for it."""

from typing import Any, Literal

from protocol.base import ErrorInfo, Notification, Usage, Wire
from protocol.item import Item, UserInput

TurnStatus = Literal["inProgress", "completed", "interrupted", "failed"]


class Turn(Wire):
    id: str
    thread_id: str
    status: TurnStatus
    items: list[Item]
    error: ErrorInfo | None = None
    usage: Usage | None = None
    started_at: int | None = None
    completed_at: int | None = None


class TurnStartParams(Wire):
    thread_id: str
    input: list[UserInput]
    model: str | None = None
    propose_edits: bool = False
    """A Tether addition, for the editor's inline chat: this turn runs under readOnly's rules
    whatever the thread's mode, and every edit is proposed for review hunk by hunk
    (`approval/fileChange`), even after an "accept for session" (`server.agent.inline`)."""
    output_schema: dict[str, Any] | None = None
    """A Tether addition: a JSON Schema the turn's final message must match. The model is asked
    for it with the endpoint's structured output (Responses `text.format`, Chat Completions
    `response_format`); an endpoint without it gets the schema in the prompt instead, and a
    final message that is not JSON of the schema is sent back to the model once with the
    problem (`server.agent.structured`)."""


class TurnResult(Wire):
    turn: Turn


class TurnSteerParams(Wire):
    thread_id: str
    turn_id: str
    input: list[UserInput]


class TurnIdParams(Wire):
    thread_id: str
    turn_id: str


class TurnRevertParams(Wire):
    thread_id: str
    turn_id: str
    force: bool = False


class TurnRevertResult(Wire):
    restored: list[str]
    conflicts: list[str]


class TurnStartedNotification(Notification):
    METHOD = "turn/started"

    thread_id: str
    turn: Turn
    seq: int | None = None
    """Per-turn sequence number, 1 at `turn/started`; a gap means a lost notification."""


class TurnCompletedNotification(Notification):
    METHOD = "turn/completed"

    thread_id: str
    turn: Turn
    seq: int | None = None
    """Per-turn sequence number, 1 at `turn/started`; a gap means a lost notification."""


class TurnDiffUpdatedNotification(Notification):
    METHOD = "turn/diff/updated"

    thread_id: str
    turn_id: str
    diff: str
    seq: int | None = None
    """Per-turn sequence number, 1 at `turn/started`; a gap means a lost notification."""


class TurnRetryingNotification(Notification):
    """`turn/retrying` (a Tether addition): the model endpoint failed in a way worth retrying;
    the turn waits `delayMs` and tries again."""

    METHOD = "turn/retrying"

    thread_id: str
    turn_id: str
    attempt: int
    max_attempts: int
    delay_ms: int
    message: str
    seq: int | None = None
    """Per-turn sequence number, 1 at `turn/started`; a gap means a lost notification."""
