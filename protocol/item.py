"""Items: the units a turn is made of (messages, tool calls, commands, file changes, ...)."""

from typing import Any, Literal

from protocol.base import Range, SandboxKind, Wire
from protocol.findings import Finding, OverallCorrectness, ReviewTarget

ItemStatus = Literal[
    "pending",
    "inProgress",
    "completed",
    "failed",
    "declined",
    "applied",
    "partiallyApplied",
    "reverted",
]
"""Status of a toolCall, commandExecution or fileChange item. `pending` waits for approval;
the last three are used by fileChange only."""

HunkStatus = Literal["pending", "applied", "rejected", "reverted"]


class TextInput(Wire, tag_field="type", tag="text"):
    """Text the user typed."""

    text: str


class FileInput(Wire, tag_field="type", tag="file"):
    """A file the user attached (its current content, open buffer first, reaches the model)."""

    path: str


class SelectionInput(Wire, tag_field="type", tag="selection"):
    """A selection in a file the user attached."""

    path: str
    range: Range


class ImageInput(Wire, tag_field="type", tag="image"):
    """An image the user attached, sent to the model as an image: a local file (`path`,
    absolute) or a base64 `data:` URL (`url`); exactly one of them. PNG, JPEG, GIF or WebP, at
    most 10 MiB; a bad one is refused with -32602 before the turn starts."""

    path: str | None = None
    url: str | None = None


UserInput = TextInput | FileInput | SelectionInput | ImageInput


class Hunk(Wire):
    """One hunk of a unified diff. Starts are 1-based as in `@@ -a,b +c,d @@`; `lines` keep their
    " ", "-", "+" prefixes."""

    index: int
    old_start: int
    old_lines: int
    new_start: int
    new_lines: int
    lines: list[str]
    status: HunkStatus


class FileChange(Wire):
    """The change to one file: an absolute path, its unified diff and structured hunks."""

    path: str
    kind: Literal["add", "delete", "update"]
    diff: str
    hunks: list[Hunk]
    move_path: str | None = None
    """For a rename: the new absolute path (`path` is the old one)."""


class PlanStep(Wire):
    text: str
    status: Literal["pending", "inProgress", "completed"]


class UserMessageItem(Wire, tag_field="type", tag="userMessage"):
    id: str
    content: list[UserInput]


class AgentMessageItem(Wire, tag_field="type", tag="agentMessage"):
    id: str
    text: str


class ReasoningItem(Wire, tag_field="type", tag="reasoning"):
    id: str
    text: str


class ToolCallItem(Wire, tag_field="type", tag="toolCall"):
    """A read, listing, search or plan update the agent made."""

    id: str
    tool: str
    arguments: Any
    status: ItemStatus
    summary: str | None = None
    output: str | None = None
    """What the tool returned to the model (capped), so the user sees what the model saw."""


class CommandExecutionItem(Wire, tag_field="type", tag="commandExecution"):
    id: str
    command: str
    cwd: str
    status: ItemStatus
    output: str
    sandbox: SandboxKind | Literal["container"]
    """Where the command ran: one of the OS sandboxes, or "container" (an executor's
    container or Pod, `launcher` names the engine and `image` its image)."""
    exit_code: int | None = None
    duration_ms: int | None = None
    launcher: str | None = None
    """The OS mechanism that enforced `sandbox` (bwrap, landlock, seatbelt, none), or the
    container engine (podman, kubernetes)."""
    image: str | None = None
    """The container image the command ran in (sandbox "container")."""
    reason: str | None = None
    """The model's justification, or why the command was refused or needs approval."""
    timed_out: bool | None = None
    truncated: bool | None = None
    containment: Literal["cgroup", "pidNamespace", "subreaper"] | None = None
    """What ends the command's whole process tree with it (a sandboxed command)."""
    restored: list[str] | None = None
    """What the sandbox undid after the command: protected paths it changed or created."""
    tracking_note: str | None = None
    """Set when what the command changed is recorded only in part (special files skipped,
    files too large or too many to keep, the workspace folder gone): undo and the turn diff
    may miss those files."""


class FileChangeItem(Wire, tag_field="type", tag="fileChange"):
    id: str
    status: ItemStatus
    changes: list[FileChange]
    reason: str | None = None
    """Why the change is pending, failed or in conflict, in words for the user."""


class PlanItem(Wire, tag_field="type", tag="plan"):
    id: str
    steps: list[PlanStep]
    explanation: str | None = None


class ContextCompactionItem(Wire, tag_field="type", tag="contextCompaction"):
    id: str
    summary: str


class McpToolCallResult(Wire):
    """What an MCP tool returned: its content blocks as the server sent them (MCP's text, image,
    audio, resource_link and resource shapes; image data left out), its structured content, and
    the text the model was given (capped, with a note when cut)."""

    content: list[Any]
    output: str
    structured_content: Any | None = None
    is_error: bool = False
    truncated: bool = False


class McpToolCallItem(Wire, tag_field="type", tag="mcpToolCall"):
    """A call of a tool on an MCP server. `pending` waits for `approval/mcpToolCall`; `failed`
    when the tool reported an error (`result.isError`), timed out, or its server went away."""

    id: str
    server: str
    tool: str
    arguments: Any
    status: ItemStatus
    result: McpToolCallResult | None = None
    error: str | None = None
    duration_ms: int | None = None


class ErrorItem(Wire, tag_field="type", tag="error"):
    id: str
    message: str


SubagentStatus = Literal["pending", "inProgress", "completed", "failed", "interrupted", "closed"]
"""`pending`: waiting for a free slot (at most `max_subagents` run at once) or, for a child that
writes, for the one before it to end; `closed`: the parent closed it (`close_agent`)."""


class SubagentItem(Wire, tag_field="type", tag="subagent"):
    """A child agent the parent spawned (`spawn_agent`), updated live while it works. The
    child is a thread of its own (`agentThreadId`, readable and resumable like any thread)."""

    id: str
    agent_thread_id: str
    agent_type: str
    prompt: str
    status: SubagentStatus
    summary: str | None = None
    """The child's final message (cut), or why it ended early."""
    activity: str | None = None
    """What the child does now (its current tool call), for the card."""
    agent_turn_ids: list[str] = []
    """The child's turns run for this item (its diff and `turn/revert` go with the parent's)."""
    changed_files: list[str] = []
    """Absolute paths the child changed: its part of the parent turn's diff."""
    isolation: Literal["worktree"] | None = None
    """Set when the child works in a git worktree of its own; its diff comes back to the
    parent as a `fileChange` the user reviews."""


class ReviewItem(Wire, tag_field="type", tag="review"):
    """A code review's result (`review/start`): the findings on lines the change touched
    (others are dropped), and the verdict on the whole change."""

    id: str
    target: ReviewTarget
    findings: list[Finding]
    overall_correctness: OverallCorrectness
    overall_explanation: str
    overall_confidence_score: float
    dropped_findings: int = 0
    """How many findings the model reported outside the diff (left out)."""


Item = (
    UserMessageItem
    | AgentMessageItem
    | ReasoningItem
    | ToolCallItem
    | CommandExecutionItem
    | FileChangeItem
    | PlanItem
    | ContextCompactionItem
    | McpToolCallItem
    | ErrorItem
    | ReviewItem
    | SubagentItem
)
