"""MCP servers (a Tether addition): their status per thread, the trust a project's servers need,
the approval of a tool call, and the questions (elicitations) a server asks the user.

Servers are configured in `TETHER_HOME/config.toml`, `<root>/.tether/config.toml`
(`[mcp_servers.<name>]`, Codex's keys) and `<root>/.mcp.json` (Claude Code's format). Each
thread starts its own set in the background when it opens; a server defined by the project
starts only once the user trusted its definition (`mcpServer/trust`).
"""

from typing import Any, Literal

from protocol.base import LauncherKind, Notification, ServerRequest, Wire

McpServerStatus = Literal["starting", "ready", "failed", "disabled", "untrusted"]
"""`untrusted`: a project's server the user has not trusted (or declined) in this definition;
it does not start until `mcpServer/trust` accepts it. `failed` servers are retried with backoff
(`error` says why and when); `disabled`: `enabled = false` in its config."""

McpSandbox = Literal["workspaceWrite", "none", "remote"]
"""How a server's process is confined: `workspaceWrite` (the thread's launcher, writes only in
the workspace roots, no network unless the server's `network = true`), `none` (the server's
`sandbox = "none"` opt-out, or no OS sandbox on this machine), `remote` (an HTTP server: not a
process Tether starts)."""

McpApprovalMode = Literal["auto", "prompt", "approve"]
"""Per-tool `approval_mode` (Codex's): `auto` follows the annotations and the mode, `prompt`
always asks, `approve` never asks."""


class McpToolAnnotations(Wire):
    """The hints the server gave for a tool (MCP's ToolAnnotations); untrusted, only used to ask
    less."""

    title: str | None = None
    read_only_hint: bool | None = None
    destructive_hint: bool | None = None
    idempotent_hint: bool | None = None
    open_world_hint: bool | None = None


class McpTool(Wire):
    name: str
    """The tool's name on its server."""
    model_name: str
    """The name the model calls it by: `mcp__<server>__<tool>`, cleaned, at most 64 chars."""
    description: str | None = None
    annotations: McpToolAnnotations | None = None
    approval_mode: McpApprovalMode = "auto"


class McpServer(Wire):
    name: str
    status: McpServerStatus
    transport: Literal["stdio", "http"]
    sandbox: McpSandbox
    source: str
    """The file that defines it (a config.toml or .mcp.json path)."""
    tool_count: int = 0
    tools: list[McpTool] = []
    error: str | None = None
    """Why it failed (or why it is untrusted/disabled), in words for the user."""
    required: bool = False
    network: bool = False
    """A stdio server with `network = true`: its sandbox lets it reach the network."""
    project: bool = False
    """Defined by the workspace (`.tether/config.toml` or `.mcp.json`): needs the user's trust."""
    digest: str | None = None
    """For a project server: the SHA-256 of its definition, which `mcpServer/trust` names."""
    trust: Literal["trusted", "declined", "unknown"] | None = None
    """For a project server: the user's answer about this definition."""
    command: str | None = None
    """What runs: the stdio command line, or the HTTP URL (secrets never shown)."""
    restarts: int = 0
    """How often it was restarted after a crash in this thread."""
    launcher: LauncherKind | None = None
    """For a running stdio server: the OS mechanism that enforces its sandbox."""


class McpServerListParams(Wire):
    thread_id: str


class McpServerListResult(Wire):
    servers: list[McpServer]
    problems: list[str] = []
    """What was wrong in the configuration files (entries left out, files not read), in
    words for the user; also shown once as a `window/showMessage` warning."""


class McpServerReloadParams(Wire):
    thread_id: str
    name: str | None = None
    """Restart this server (even if its definition is unchanged); without it, re-read the
    configuration: changed and new servers (re)start, removed ones stop."""


class McpServerTrustParams(Wire):
    thread_id: str
    name: str
    digest: str
    """The `digest` from `mcpServer/list`: trust is for the definition the user saw."""
    decision: Literal["accept", "decline"]


class McpServerStatusChangedNotification(Notification):
    """`mcpServer/statusChanged`: a server of the thread changed status or its tool list."""

    METHOD = "mcpServer/statusChanged"

    thread_id: str
    server: McpServer


class McpToolCallApprovalResult(Wire):
    decision: Literal["accept", "acceptForSession", "acceptAlways", "decline", "cancel"]
    """acceptForSession: this tool runs unasked for the rest of the thread; acceptAlways: also
    writes `approval_mode = "approve"` for it into TETHER_HOME/config.toml."""


class McpToolCallApprovalParams(ServerRequest[McpToolCallApprovalResult]):
    """`approval/mcpToolCall`: the model calls an MCP tool the mode and annotations do not
    allow unasked."""

    METHOD = "approval/mcpToolCall"
    RESULT = McpToolCallApprovalResult

    thread_id: str
    turn_id: str
    item_id: str
    server: str
    tool: str
    arguments: Any
    annotations: McpToolAnnotations | None = None
    reason: str | None = None


class McpElicitationResult(Wire):
    action: Literal["accept", "decline", "cancel"]
    content: dict[str, Any] | None = None
    """form mode, accept: the answers, keyed by the schema's property names."""


class McpElicitationParams(ServerRequest[McpElicitationResult]):
    """`mcpServer/elicitation`: a server asks the user (MCP elicitation/create). `form`: fill in
    `requestedSchema` (a flat object of string, number, boolean and enum properties); `url`:
    open `url` and finish there, then answer accept (or decline/cancel)."""

    METHOD = "mcpServer/elicitation"
    RESULT = McpElicitationResult

    thread_id: str
    server: str
    mode: Literal["form", "url"]
    message: str
    turn_id: str | None = None
    requested_schema: dict[str, Any] | None = None
    url: str | None = None
    elicitation_id: str | None = None
