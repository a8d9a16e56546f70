"""Approvals: requests the server sends the client when the user must decide (PROTOCOL.md §5)."""

from typing import Literal

from protocol.base import SandboxKind, ServerRequest, Wire
from protocol.item import FileChange


class CommandApprovalResult(Wire):
    decision: Literal["accept", "acceptForSession", "acceptAlways", "decline", "cancel"]
    rule: list[str] | None = None
    scope: Literal["user", "workspace"] | None = None


class CommandApprovalParams(ServerRequest[CommandApprovalResult]):
    METHOD = "approval/commandExecution"
    RESULT = CommandApprovalResult

    thread_id: str
    turn_id: str
    item_id: str
    command: str
    cwd: str
    sandbox: SandboxKind
    suggested_rules: list[list[str]]
    reason: str | None = None
    escalation: Literal["network", "outsideRoots", "noSandbox"] | None = None
    """Set when the command would run with more than the workspace-write sandbox allows."""
    rule_warnings: dict[str, str] | None = None
    """For suggested rules that are risky (a bare interpreter allows anything): the rule joined by
    spaces -> a warning to show before the user picks it."""
    parent_thread_id: str | None = None
    """Set when a sub-agent asks: the parent's thread (`threadId` is the sub-agent's)."""
    agent_type: str | None = None
    """Set when a sub-agent asks: its name, for "explorer wants to ..."."""


class HunkSelection(Wire):
    """Hunks of one file, by their `index`."""

    path: str
    indexes: list[int]


class FileChangeApprovalResult(Wire):
    decision: Literal["accept", "acceptForSession", "decline", "cancel"]
    accepted: list[HunkSelection] | None = None


class FileChangeApprovalParams(ServerRequest[FileChangeApprovalResult]):
    METHOD = "approval/fileChange"
    RESULT = FileChangeApprovalResult

    thread_id: str
    turn_id: str
    item_id: str
    changes: list[FileChange]
    reason: str | None = None
    parent_thread_id: str | None = None
    """Set when a sub-agent asks: the parent's thread (`threadId` is the sub-agent's)."""
    agent_type: str | None = None
    """Set when a sub-agent asks: its name, for "explorer wants to ..."."""


class FileReadApprovalResult(Wire):
    decision: Literal["accept", "acceptForSession", "decline", "cancel"]
    """acceptForSession: reads under the same directory need no approval for the rest of the
    thread."""


class FileReadApprovalParams(ServerRequest[FileReadApprovalResult]):
    """`approval/fileRead` (a Tether addition): the agent wants to read outside the workspace
    roots, which PROTOCOL.md §6 puts behind an approval in readOnly and agent modes."""

    METHOD = "approval/fileRead"
    RESULT = FileReadApprovalResult

    thread_id: str
    turn_id: str
    item_id: str
    path: str
    reason: str | None = None
    parent_thread_id: str | None = None
    """Set when a sub-agent asks: the parent's thread (`threadId` is the sub-agent's)."""
    agent_type: str | None = None
    """Set when a sub-agent asks: its name, for "explorer wants to ..."."""
