"""Threads: a conversation tied to a workspace, and the requests and notifications about them."""

from typing import Literal

from protocol.base import Mode, Notification, Usage, Wire
from protocol.turn import Turn


class Thread(Wire):
    id: str
    cwd: str
    roots: list[str]
    mode: Mode
    model: str
    status: Literal["idle", "running"]
    created_at: int
    updated_at: int
    title: str | None = None
    parent_thread_id: str | None = None
    """A sub-agent's thread: the thread whose agent spawned it (a Tether addition)."""
    parent_item_id: str | None = None
    """The parent turn's `subagent` item that shows it."""
    agent_type: str | None = None
    """The sub-agent's definition (`explorer`, `general`, or a file's `name`)."""


class ThreadStartParams(Wire):
    cwd: str
    roots: list[str] | None = None
    mode: Mode | None = None
    model: str | None = None


class ThreadResult(Wire):
    thread: Thread


class ThreadListParams(Wire):
    cursor: str | None = None
    limit: int | None = None
    cwd: str | None = None
    """A Tether addition: only threads of this workspace directory."""
    parent_thread_id: str | None = None
    """A Tether addition: only the sub-agent threads this thread spawned."""
    include_subagents: bool = False
    """A Tether addition: list sub-agent threads too (left out by default)."""


class ThreadListResult(Wire):
    threads: list[Thread]
    next_cursor: str | None


class ThreadIdParams(Wire):
    thread_id: str


class ThreadWithTurnsResult(Wire):
    thread: Thread
    turns: list[Turn]


class ThreadSetModeParams(Wire):
    thread_id: str
    mode: Mode


class ThreadStartedNotification(Notification):
    METHOD = "thread/started"

    thread: Thread


class ThreadModeChangedNotification(Notification):
    METHOD = "thread/modeChanged"

    thread_id: str
    mode: Mode


class ThreadTokenUsageNotification(Notification):
    METHOD = "thread/tokenUsage/updated"

    thread_id: str
    usage: Usage
