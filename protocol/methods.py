"""The one method table: every request, notification and server request, with its types.

Handlers register from `REQUESTS`, the schema exporter iterates all three tables, and the
TypeScript method maps are generated from them. Add a method here and nowhere else.
"""

from typing import Any, NamedTuple

from protocol.approval import (
    CommandApprovalParams,
    FileChangeApprovalParams,
    FileReadApprovalParams,
)
from protocol.base import Empty, Notification, ServerRequest
from protocol.change import ChangeProposeParams, ChangeRevertParams, ChangeRevertResult
from protocol.events import (
    AgentMessageDeltaNotification,
    CommandOutputDeltaNotification,
    ItemCompletedNotification,
    ItemDiscardedNotification,
    ItemStartedNotification,
    ItemUpdatedNotification,
    ReasoningDeltaNotification,
)
from protocol.hooks import (
    HookCallbackParams,
    HookCompletedNotification,
    HookStartedNotification,
    HookTrustParams,
)
from protocol.mcp import (
    McpElicitationParams,
    McpServerListParams,
    McpServerListResult,
    McpServerReloadParams,
    McpServerStatusChangedNotification,
    McpServerTrustParams,
    McpToolCallApprovalParams,
)
from protocol.model import ModelListResult
from protocol.review import (
    ReviewStartParams,
    ReviewStartResult,
    TurnFilesParams,
    TurnFilesResult,
)
from protocol.subagent import AgentListParams, AgentListResult
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
    "thread/close": Request(ThreadIdParams, Empty),
    "turn/start": Request(TurnStartParams, TurnResult),
    "turn/steer": Request(TurnSteerParams, Empty),
    "turn/interrupt": Request(TurnIdParams, Empty),
    "turn/revert": Request(TurnRevertParams, TurnRevertResult),
    "change/revert": Request(ChangeRevertParams, ChangeRevertResult),
    "change/propose": Request(ChangeProposeParams, TurnResult),
    "model/list": Request(Empty, ModelListResult),
    "turn/files": Request(TurnFilesParams, TurnFilesResult),
    "review/start": Request(ReviewStartParams, ReviewStartResult),
    "agent/list": Request(AgentListParams, AgentListResult),
    "mcpServer/list": Request(McpServerListParams, McpServerListResult),
    "mcpServer/reload": Request(McpServerReloadParams, McpServerListResult),
    "mcpServer/trust": Request(McpServerTrustParams, McpServerListResult),
}
"""Client -> server requests (PROTOCOL.md §3)."""

NOTIFICATIONS: dict[str, type[Notification]] = {
    t.METHOD: t
    for t in (
        ThreadStartedNotification,
        ThreadModeChangedNotification,
        ThreadTokenUsageNotification,
        TurnStartedNotification,
        TurnCompletedNotification,
        TurnDiffUpdatedNotification,
        TurnRetryingNotification,
        ItemStartedNotification,
        ItemUpdatedNotification,
        ItemCompletedNotification,
        ItemDiscardedNotification,
        AgentMessageDeltaNotification,
        ReasoningDeltaNotification,
        CommandOutputDeltaNotification,
        HookStartedNotification,
        HookCompletedNotification,
        McpServerStatusChangedNotification,
    )
}
"""Server -> client notifications (PROTOCOL.md §4), each type naming its method."""

_SERVER_REQUEST_TYPES: tuple[type[ServerRequest[Any]], ...] = (
    CommandApprovalParams,
    FileChangeApprovalParams,
    FileReadApprovalParams,
    HookTrustParams,
    HookCallbackParams,
    McpToolCallApprovalParams,
    McpElicitationParams,
)
SERVER_REQUESTS: dict[str, Request] = {
    t.METHOD: Request(t, t.RESULT) for t in _SERVER_REQUEST_TYPES
}
"""Server -> client requests (PROTOCOL.md §5), each params type naming its method and result."""
