"""The one method table: every request, notification and server request, with its types.

Handlers register from `REQUESTS`, the schema exporter iterates all three tables, and the
TypeScript method maps are generated from them. Add a method here and nowhere else.
"""

from typing import Any, NamedTuple

from protocol.approval import (
    CommandApprovalParams,
    CommandApprovalResult,
    FileChangeApprovalParams,
    FileChangeApprovalResult,
    FileReadApprovalParams,
    FileReadApprovalResult,
)
from protocol.base import Empty
from protocol.change import ChangeRevertParams, ChangeRevertResult
from protocol.events import (
    CommandOutputDeltaNotification,
    ItemDeltaNotification,
    ItemDiscardedNotification,
    ItemNotification,
)
from protocol.model import ModelListResult
from protocol.thread import (
    ThreadIdParams,
    ThreadListParams,
    ThreadListResult,
    ThreadModeChangedNotification,
    ThreadResult,
    ThreadSetModeParams,
    ThreadStartedNotification,
    ThreadStartParams,
    ThreadTokenUsageNotification,
    ThreadWithTurnsResult,
)
from protocol.turn import (
    TurnCompletedNotification,
    TurnDiffUpdatedNotification,
    TurnIdParams,
    TurnResult,
    TurnRetryingNotification,
    TurnRevertParams,
    TurnRevertResult,
    TurnStartedNotification,
    TurnStartParams,
    TurnSteerParams,
)


class Request(NamedTuple):
    params: type[Any]
    result: type[Any]


REQUESTS: dict[str, Request] = {
    "thread/start": Request(ThreadStartParams, ThreadResult),
    "thread/list": Request(ThreadListParams, ThreadListResult),
    "thread/read": Request(ThreadIdParams, ThreadWithTurnsResult),
    "thread/resume": Request(ThreadIdParams, ThreadWithTurnsResult),
    "thread/setMode": Request(ThreadSetModeParams, ThreadResult),
    "thread/compact": Request(ThreadIdParams, Empty),
    "turn/start": Request(TurnStartParams, TurnResult),
    "turn/steer": Request(TurnSteerParams, Empty),
    "turn/interrupt": Request(TurnIdParams, Empty),
    "turn/revert": Request(TurnRevertParams, TurnRevertResult),
    "change/revert": Request(ChangeRevertParams, ChangeRevertResult),
    "model/list": Request(Empty, ModelListResult),
}
"""Client -> server requests (PROTOCOL.md §3)."""

NOTIFICATIONS: dict[str, type[Any]] = {
    "thread/started": ThreadStartedNotification,
    "thread/modeChanged": ThreadModeChangedNotification,
    "thread/tokenUsage/updated": ThreadTokenUsageNotification,
    "turn/started": TurnStartedNotification,
    "turn/completed": TurnCompletedNotification,
    "turn/diff/updated": TurnDiffUpdatedNotification,
    "turn/retrying": TurnRetryingNotification,
    "item/started": ItemNotification,
    "item/updated": ItemNotification,
    "item/completed": ItemNotification,
    "item/discarded": ItemDiscardedNotification,
    "item/agentMessage/delta": ItemDeltaNotification,
    "item/reasoning/delta": ItemDeltaNotification,
    "item/commandExecution/outputDelta": CommandOutputDeltaNotification,
}
"""Server -> client notifications (PROTOCOL.md §4)."""

SERVER_REQUESTS: dict[str, Request] = {
    "approval/commandExecution": Request(CommandApprovalParams, CommandApprovalResult),
    "approval/fileChange": Request(FileChangeApprovalParams, FileChangeApprovalResult),
    "approval/fileRead": Request(FileReadApprovalParams, FileReadApprovalResult),
}
"""Server -> client requests (PROTOCOL.md §5)."""
