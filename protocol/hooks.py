"""Hooks (a Tether addition, PROTOCOL.md §4-5): what the user's hook commands did, the
question whether a project's hooks may run at all, and hooks the client runs itself (declared
in `initialize`, called back with `hook/callback`)."""

from typing import Any, Literal

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


class ClientHookMatcher(Wire):
    """Hooks the client runs itself for one event (`tether_sdk`'s Python callables), declared
    in `initialize` under `capabilities.experimental.tether.hooks {Event: [matcher]}`, as one
    of Claude Code's matcher groups is written, with callback ids instead of commands."""

    callback_ids: list[str]
    matcher: str = ""
    """Claude Code's matcher: empty or `*` for all, `Bash|Edit`, or a regular expression."""
    timeout: float | None = None
    """Seconds the server waits for the answer (default 60); then the hook counts as failed,
    which does not block."""


class HookCallbackResult(Wire):
    output: dict[str, Any] | None = None
    """What a hook command would print on stdout with exit code 0 (Claude Code's hook JSON:
    `decision`, `reason`, `continue`, `stopReason`, `systemMessage`, `hookSpecificOutput`
    with `permissionDecision`, `updatedInput`, `additionalContext`); None: nothing to say."""
    error: str | None = None
    """The callback failed (it raised): shown to the user; like a hook's exit code 1, it does
    not block."""


class HookCallbackParams(ServerRequest[HookCallbackResult]):
    """`hook/callback`: run one of the client's hooks (`ClientHookMatcher.callback_ids`) with
    the JSON a hook command gets on stdin; answered with what the command would print."""

    METHOD = "hook/callback"
    RESULT = HookCallbackResult

    thread_id: str
    callback_id: str
    input: dict[str, Any]
    """Claude Code's hook input: session_id, cwd, hook_event_name, tool_name, tool_input, ..."""
    turn_id: str | None = None
