"""Hooks (a Tether addition, PROTOCOL.md §4-5): what the user's hook commands did, and the
question whether a project's hooks may run at all."""

from typing import Literal

from protocol.base import Notification, ServerRequest, Wire

HookRunStatus = Literal["running", "completed", "failed", "blocked"]


class HookRunEntry(Wire):
    """One command of the run."""

    command: str
    source: str
    """The file (or config.toml table) that defines it."""
    status: HookRunStatus
    exit_code: int | None = None
    message: str | None = None
    """Why it failed or blocked (stderr, the JSON's reason), for the user."""


class HookRun(Wire):
    """The hooks that matched one event, run together."""

    id: str
    event_name: str
    """Claude Code's event name: PreToolUse, PostToolUse, UserPromptSubmit, Stop, ..."""
    status: HookRunStatus
    entries: list[HookRunEntry]
    tool_name: str | None = None
    """For tool events: the tool as hooks see it (Bash, Edit, Write, ...)."""
    item_id: str | None = None
    """For tool events: the item of the tool call, once there is one."""
    duration_ms: int | None = None


class HookStartedNotification(Notification):
    """`hook/started`: hooks matched an event and run now."""

    METHOD = "hook/started"

    thread_id: str
    run: HookRun
    turn_id: str | None = None


class HookCompletedNotification(Notification):
    """`hook/completed`: the hooks of a run ended; `blocked` when one of them blocked."""

    METHOD = "hook/completed"

    thread_id: str
    run: HookRun
    turn_id: str | None = None


class HookTrustCommand(Wire):
    event_name: str
    matcher: str
    command: str


class HookTrustResult(Wire):
    decision: Literal["accept", "decline", "cancel"]
    """accept: the file's hooks run from now on, until the definition changes; decline: they
    do not, and the user is not asked again until it changes."""


class HookTrustParams(ServerRequest[HookTrustResult]):
    """`approval/hookTrust`: a project's hook file defines commands that would run outside the
    sandbox; may they? Asked once per definition (keyed by its SHA-256)."""

    METHOD = "approval/hookTrust"
    RESULT = HookTrustResult

    thread_id: str
    turn_id: str
    source: str
    digest: str
    commands: list[HookTrustCommand]
