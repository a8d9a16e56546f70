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
