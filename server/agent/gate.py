"""The gate every tool passes before it touches anything: PROTOCOL.md §6 for one thread.

One call per action. Each says what happens and, when the mode says so, asks the user first:
- `clear_read(stream, item, path)`: the real path to read; ToolFailed when refused or declined.
- `clear_write(path)`: the real path an edit would write; ToolFailed for escape tricks, secrets.
- `clear_file_change(stream, item, paths)`: `EditsCleared` (which hunks) or `Declined`.
- `clear_command(stream, command, ...)`: `CommandCleared` (sandbox policy), `Refused` or
  `Declined`; the gate opens the command item, since what it shows (sandbox, reason) is its verdict.
- `clear_undo(path)`: None, or why an undo may not write `path`.
- `clear_mcp_tool(stream, item, ...)`: None (run it) or `Declined`, for an MCP tool call.

`hook_permission` is a PreToolUse hook's `permissionDecision` for the tool call under way (the
turn sets it around the call): `allow` skips an approval the mode would ask for, but never a
refusal (forbid rules, secrets, escape tricks) nor an escalation out of the sandbox; `ask` asks
even where the mode would not. `deny` never gets here: the turn does not run the tool.

The decisions come from `sandbox.approval_policy` (pure functions, fullAccess's exceptions
included: this module asks no question of the mode itself); this module resolves paths
(escape tricks are refused by `sandbox.paths`), builds every approval request, and owns the
session grants: what the user allowed for the rest of the thread (acceptForSession of commands,
reads, edits). There is one Gate per thread; the `Agent` keeps it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal, TypeVar

from protocol.approval import (
    CommandApprovalParams,
    CommandApprovalResult,
    FileChangeApprovalParams,
    FileReadApprovalParams,
    HunkSelection,
)
from protocol.base import LauncherKind, Mode, SandboxKind, ServerRequest
from protocol.item import CommandExecutionItem, FileChangeItem, Item, McpToolCallItem
from protocol.mcp import McpToolAnnotations, McpToolCallApprovalParams
from sandbox.approval_policy import (
    CommandDecision,
    FileDecision,
    McpApprovalMode,
    decide_command,
    decide_file_access,
    decide_mcp_tool,
    decide_undo,
    decide_workdir,
    escalation_of,
    file_policy_kind,
    reader_sandbox,
)
from sandbox.paths import PathDenied, PathVerdict, resolve_for_read, resolve_for_write
from sandbox.policy import DEFAULT_SECRET_PATHS, Policy, PolicyKind, policy_kind_of
from sandbox.rules import (
    RuleError,
    SessionRules,
    broad_prefix_reason,
    load_rules,
    remember_approval,
)
from server.agent.conversation import Conversation
from server.agent.errors import ToolFailed, TurnCancelled
from server.agent.ids import new_id
from server.agent.stream import TurnStream

T = TypeVar("T")
G = TypeVar("G", bound="Gate")

HOOK_ASKS = "a PreToolUse hook asks for your approval"
COMMAND_MEMORY_CAP = 16 * 1024**3
"""A runaway command is killed at 16 GiB rather than taking the machine (and the editor) down."""


@dataclass(frozen=True)
class CommandCleared:
    """Run the command (its item is open, `inProgress`) under `policy`."""

    item: CommandExecutionItem
    policy: Policy


@dataclass(frozen=True)
class EditsCleared:
    """Apply the edit: every hunk when `accepted` is None, else only the listed ones."""

    accepted: list[HunkSelection] | None


@dataclass(frozen=True)
class Refused:
    """Not allowed, nobody asked (a forbid rule); the item is completed as declined."""

    item: Item
    reason: str


@dataclass(frozen=True)
class Declined:
    """The user said no; a command item is completed as declined."""

    item: Item


@dataclass
class SessionGrants:
    """What the user allowed for the rest of the thread."""

    commands: SessionRules = field(default_factory=SessionRules)
    read_dirs: list[Path] = field(default_factory=lambda: [])
    """Directories outside the roots the user allowed reading."""
    edits: bool = False
    """acceptForSession on a file change: edits in this workspace apply without asking."""
    mcp_tools: set[tuple[str, str]] = field(default_factory=lambda: set[tuple[str, str]]())
    """(server, tool) pairs the user let run unasked for the rest of the thread."""


def rule_warnings(rules: list[list[str]]) -> dict[str, str]:
    """What each offered always-allow prefix really allows, for the ones worth a second look:
    a broad prefix (an interpreter runs anything) or a bare program name (any arguments)."""
    warnings: dict[str, str] = {}
    for rule in rules:
        broad = broad_prefix_reason(rule)
        if broad is not None:
            warnings[" ".join(rule)] = f"{broad}: as good as full access"
        elif len(rule) == 1:
            warnings[" ".join(rule)] = f"allows `{rule[0]}` with any arguments"
    return warnings


class Gate:
    def __init__(
        self,
        conversation: Conversation,
        launcher: LauncherKind,
        home: Path,
    ) -> None:
        self._conversation = conversation
        self.launcher: LauncherKind = launcher
        self._home = home
        self._grants = SessionGrants()
        self._problems_shown: set[str] = set()
        self.hook_permission: Literal["allow", "ask"] | None = None
        self.container: tuple[str, str] | None = None
        """(engine, image) when the thread's commands run in containers: their items say
        sandbox "container"; approvals still name the policy the command runs under."""

    def share_grants(self, parent: Gate) -> None:
        """Take the parent thread's session grants, as a sub-agent's gate does: what the user
        allowed the parent for the session holds for its children, and what they allow a
        child holds for the parent."""
        self._grants = parent._grants

    def variant(self, rules: type[G]) -> G:
        """This gate with a subclass's rules for one turn (`server.agent.inline`): same thread,
        same session grants."""
        if type(self) is rules:
            return self
        other = rules(self._conversation, self.launcher, self._home)
        other._grants, other._problems_shown = self._grants, self._problems_shown
        other.container = self.container
        return other

    @property
    def mode(self) -> Mode:
        return self._conversation.mode

    @property
    def _cwd(self) -> Path:
        return self._conversation.cwd

    @property
    def _roots(self) -> list[Path]:
        return self._conversation.roots

    def _policy(self, kind: PolicyKind) -> Policy:
        # Tether's own state (sessions, rules, keys) stays out of reach wherever TETHER_HOME is.
        secrets = (*DEFAULT_SECRET_PATHS, str(self._home))
        return Policy(
            kind=kind,
            roots=tuple(self._roots),
            secret_paths=secrets,  # type: ignore[arg-type]
            max_memory_bytes=COMMAND_MEMORY_CAP,
        )

    def mcp_server_policy(self, network: bool) -> Policy:
        """Where a stdio MCP server runs: the workspace-write sandbox of the thread's roots,
        with the network only when its config says `network = true`."""
        return replace(self._policy("workspaceWrite"), network=network)

    def file_policy(self) -> Policy:
        """The policy the file tools' paths are checked against."""
        return self._policy(file_policy_kind(self.mode))

    def reader_sandbox(self) -> tuple[Policy, LauncherKind] | None:
        """Where a reader the agent runs itself (ripgrep) runs; None: unsandboxed."""
        sandbox = reader_sandbox(self.mode)
        if sandbox == "none":
            return None
        return self._command_policy(sandbox), self._launcher_for(sandbox)

    def _resolve(self, resolve: Callable[..., PathVerdict], requested: str) -> PathVerdict:
        """`sandbox.paths`' verdict on a path; an escape trick becomes a message for the model."""
        try:
            return resolve(requested, cwd=self._cwd, policy=self.file_policy())
        except PathDenied as exc:
            raise ToolFailed(str(exc)) from None

    # files

    async def clear_read(self, stream: TurnStream, item: Item, requested: str) -> Path:
        """The real path to read, after the user approved a read outside the roots if needed."""
        verdict = self._resolve(resolve_for_read, requested)
        decision = decide_file_access(
            "read",
            inside_roots=verdict.inside_roots,
            protected=False,
            mode=self.mode,
            session_edits_ok=False,
            secret=verdict.secret,
        )
        if decision.action == "refuse":
            raise ToolFailed(f"{requested} is {decision.reason}")
        if self.hook_permission == "allow" or self._read_granted(verdict.path):
            return verdict.path
        if decision.action == "auto" and self.hook_permission != "ask":
            return verdict.path
        answer = await self._ask(
            stream,
            item,
            FileReadApprovalParams(
                thread_id=self._conversation.id,
                turn_id=stream.turn.id,
                item_id=item.id,
                path=str(verdict.path),
                reason=decision.reason,
            ),
        )
        if answer.decision == "decline":
            raise ToolFailed(f"The user declined reading {verdict.path} (outside the workspace).")
        if answer.decision == "acceptForSession":
            self._grants.read_dirs.append(verdict.path.parent)
        return verdict.path

    def hides_secrets(self) -> bool:
        """Whether what the file tools show the model leaves secret files out."""
        decision = decide_file_access(
            "read",
            inside_roots=True,
            protected=False,
            mode=self.mode,
            session_edits_ok=False,
            secret=True,
        )
        return decision.action == "refuse"

    def _read_granted(self, path: Path) -> bool:
        return any(path.is_relative_to(d) for d in self._grants.read_dirs)

    def clear_write(self, requested: str) -> Path:
        """The real path an edit would write; escape tricks and secrets are refused."""
        return self._write_verdict(requested).path

    def _write_verdict(self, requested: str) -> PathVerdict:
        verdict = self._resolve(resolve_for_write, requested)
        if verdict.secret:
            decision = self._write_decision(verdict)
            if decision.action == "refuse":
                raise ToolFailed(f"{requested} is {decision.reason}")
        return verdict

    def _write_decision(self, verdict: PathVerdict) -> FileDecision:
        return decide_file_access(
            "write",
            inside_roots=verdict.inside_roots,
            protected=verdict.protected is not None,
            mode=self.mode,
            session_edits_ok=self._grants.edits,
            secret=verdict.secret,
        )

    async def clear_file_change(
        self, stream: TurnStream, item: FileChangeItem, paths: list[Path]
    ) -> EditsCleared | Declined:
        """Apply at once, or ask about the item's changes (hunk by hunk) when the mode says so;
        an acceptForSession lets later edits in the workspace apply without asking."""
        reason = self.edit_approval_reason(paths)
        if self.hook_permission == "allow":
            reason = None
        elif self.hook_permission == "ask":
            reason = reason or HOOK_ASKS
        if reason is None:
            return EditsCleared(None)
        item.reason = reason
        answer = await self._ask(
            stream,
            item,
            FileChangeApprovalParams(
                thread_id=self._conversation.id,
                turn_id=stream.turn.id,
                item_id=item.id,
                changes=item.changes,
                reason=reason,
            ),
        )
        if answer.decision == "decline":
            return Declined(item)
        if answer.decision == "acceptForSession":
            self._grants.edits = True
        return EditsCleared(answer.accepted)

    def edit_approval_reason(self, paths: list[Path]) -> str | None:
        """Why the user must approve an edit of these paths, or None when it applies at once."""
        reasons: list[str] = []
        for path in paths:
            decision = self._write_decision(self._write_verdict(str(path)))
            if decision.action == "prompt":
                reasons.append(decision.reason)
        return " ".join(dict.fromkeys(reasons)) or None

    def write_root(self, path: Path) -> Path:
        """The directory a write to `path` (as the gate resolved it) must stay below: its
        workspace root, or `/` for an approved write outside the roots. No directory on the way
        may be a symlink either way (`server.edits.atomic`), so a swap after the check cannot
        redirect it."""
        return next((root for root in self._roots if path.is_relative_to(root)), Path("/"))

    def clear_undo(self, path: Path) -> str | None:
        """Why an undo (`change/revert`, `turn/revert`) may not write `path`, or None when it may.

        The checks of a fresh edit: escape tricks and secrets are refused; protected paths and
        paths outside the roots need fullAccess (an undo cannot ask, and the user's click
        approved the content, not a path that may have changed meaning since). A path that now
        leads elsewhere through a symlink is refused too: the undo would write somewhere the
        change never touched.
        """
        try:
            verdict = resolve_for_write(path, cwd=self._cwd, policy=self.file_policy())
        except PathDenied as exc:
            return f"{exc} The undo was not applied."
        if verdict.path != path:
            return (
                f"{path} now leads to {verdict.path} through a symlink; the undo was not applied. "
                "Put the directory back, or restore the file by hand."
            )
        why = decide_undo(verdict.inside_roots, verdict.protected, verdict.secret, self.mode)
        return None if why is None else f"{path} is {why}"

    # commands

    async def clear_command(
        self,
        stream: TurnStream,
        command: str,
        *,
        workdir: str | None,
        escalate: bool,
        justification: str | None,
    ) -> CommandCleared | Refused | Declined:
        """Open the command's item and decide: run (in which sandbox), refuse, or ask first.
        acceptForSession and acceptAlways answers are remembered."""
        cwd = self._command_cwd(workdir)
        decision = self._with_hook_permission(
            self._decide_command(stream, command, escalate=escalate), escalate
        )
        item = CommandExecutionItem(
            id=new_id("item"),
            command=command,
            cwd=str(cwd),
            status="inProgress",
            output="",
            sandbox=decision.sandbox,
            launcher=self._launcher_for(decision.sandbox),
            reason=justification or None,
        )
        if self.container is not None:
            item.sandbox, (item.launcher, item.image) = "container", self.container
        stream.started(item)
        if decision.action == "refuse":
            item.status, item.reason = "declined", decision.reason
            stream.completed(item)
            return Refused(item, decision.reason)
        if decision.action == "prompt" and not await self._approve(
            stream, item, decision, escalate=escalate
        ):
            item.status = "declined"
            stream.completed(item)
            return Declined(item)
        return CommandCleared(item, self._command_policy(decision.sandbox))

    def _command_cwd(self, workdir: str | None) -> Path:
        """Where a command runs: the cwd, or a directory inside the roots."""
        if not workdir:
            return self._cwd
        verdict = self._resolve(resolve_for_read, workdir)
        if not verdict.path.is_dir():
            raise ToolFailed(f"workdir {workdir} is not a directory.")
        if not decide_workdir(verdict.inside_roots, self.mode):
            raise ToolFailed(
                f"workdir {workdir} is outside the workspace; run commands inside "
                "it (use absolute paths in the command to read elsewhere)."
            )
        return verdict.path

    def _decide_command(
        self, stream: TurnStream, command: str, *, escalate: bool
    ) -> CommandDecision:
        rules = load_rules(self._home, self._roots)
        for problem in rules.problems:
            if problem not in self._problems_shown:
                self._problems_shown.add(problem)
                stream.warn(f"rules: {problem}")
        return decide_command(
            command,
            self.mode,
            rules,
            self._grants.commands,
            launcher=self.launcher,
            wants_escalation=escalate,
        )

    def _with_hook_permission(self, decision: CommandDecision, escalate: bool) -> CommandDecision:
        if decision.action == "refuse" or self.hook_permission is None:
            return decision
        if self.hook_permission == "ask" and decision.action == "auto":
            return replace(decision, action="prompt", reason=HOOK_ASKS)
        escalation = escalation_of(escalate, decision.sandbox, self.mode)
        if self.hook_permission == "allow" and decision.action == "prompt" and escalation is None:
            return replace(decision, action="auto")
        return decision

    def _launcher_for(self, sandbox: SandboxKind) -> LauncherKind:
        return "none" if sandbox == "none" else self.launcher

    def _command_policy(self, sandbox: SandboxKind) -> Policy:
        return self._policy(policy_kind_of(sandbox))

    async def _approve(
        self,
        stream: TurnStream,
        item: CommandExecutionItem,
        decision: CommandDecision,
        *,
        escalate: bool,
    ) -> bool:
        """Ask the user; remember acceptForSession and acceptAlways answers. False: declined."""
        suggested = decision.suggested_rules
        answer = await self._ask(
            stream,
            item,
            CommandApprovalParams(
                thread_id=self._conversation.id,
                turn_id=stream.turn.id,
                item_id=item.id,
                command=item.command,
                cwd=item.cwd,
                sandbox=decision.sandbox,
                suggested_rules=suggested,
                reason=item.reason or decision.reason,
                escalation=escalation_of(escalate, decision.sandbox, self.mode),
                rule_warnings=rule_warnings(suggested) or None,
            ),
        )
        if answer.decision == "decline":
            return False
        if answer.decision in ("acceptForSession", "acceptAlways"):
            self._remember(stream, answer, item.command, escalate)
        return True

    def _remember(
        self, stream: TurnStream, answer: CommandApprovalResult, command: str, escalate: bool
    ) -> None:
        """Keep an acceptForSession/acceptAlways answer; a rule that cannot be kept (not a
        prefix of the command, too broad) still lets this command run, and the user is told."""
        decision = "acceptAlways" if answer.decision == "acceptAlways" else "acceptForSession"
        if decision == "acceptAlways" and (escalate or not answer.rule):
            # Rules never cover escalations, and "always" needs a prefix: keep it for the session.
            decision = "acceptForSession"
        try:
            remember_approval(
                decision,
                command,
                rule=answer.rule,
                scope=answer.scope,
                rules=load_rules(self._home, self._roots),
                session=self._grants.commands,
                home=self._home,
                workspace_root=self._root_of_cwd(),
                escalated=escalate,
            )
        except (RuleError, OSError) as exc:
            stream.warn(f"Approval not remembered as asked: {exc}. This command runs once.")

    def _root_of_cwd(self) -> Path:
        return next((r for r in self._roots if self._cwd.is_relative_to(r)), self._roots[0])

    # MCP tools

    async def clear_mcp_tool(
        self,
        stream: TurnStream,
        item: McpToolCallItem,
        *,
        annotations: McpToolAnnotations | None,
        approval_mode: McpApprovalMode,
        remember_always: Callable[[], None],
    ) -> Declined | None:
        """Run the call (None) or not (`Declined`), asking first when `decide_mcp_tool` says
        so; acceptForSession is kept for the thread, acceptAlways also by `remember_always`
        (which writes the user's config)."""
        hints = annotations or McpToolAnnotations()
        action, reason = decide_mcp_tool(
            self.mode,
            read_only_hint=bool(hints.read_only_hint),
            open_world_hint=hints.open_world_hint is not False,
            approval_mode=approval_mode,
        )
        if (item.server, item.tool) in self._grants.mcp_tools or self.hook_permission == "allow":
            action = "auto"
        elif self.hook_permission == "ask":
            action, reason = "prompt", reason or HOOK_ASKS
        if action == "auto":
            return None
        answer = await self._ask(
            stream,
            item,
            McpToolCallApprovalParams(
                thread_id=self._conversation.id,
                turn_id=stream.turn.id,
                item_id=item.id,
                server=item.server,
                tool=item.tool,
                arguments=item.arguments,
                annotations=annotations,
                reason=reason,
            ),
        )
        if answer.decision == "decline":
            item.status = "declined"
            stream.completed(item)
            return Declined(item)
        if answer.decision in ("acceptForSession", "acceptAlways"):
            self._grants.mcp_tools.add((item.server, item.tool))
        if answer.decision == "acceptAlways":
            try:
                remember_always()
            except (OSError, ValueError) as exc:
                stream.warn(
                    f"Approval not written to config.toml: {exc}. It holds for this thread."
                )
        return None

    # asking

    async def _ask(self, stream: TurnStream, item: Item, params: ServerRequest[T]) -> T:
        """Put the item in `pending`, ask the client, and return the answer; "cancel" stops the
        turn. While pending, an interrupt cancels the request (`$/cancelRequest`)."""
        previous = getattr(item, "status", None)
        item.status = "pending"  # type: ignore[union-attr]
        stream.updated(item)
        answer = await stream.request(params)
        if getattr(answer, "decision", None) == "cancel":
            item.status = "declined"  # type: ignore[union-attr]
            stream.completed(item)
            raise TurnCancelled
        item.status = previous or "inProgress"  # type: ignore[union-attr]
        stream.updated(item)
        return answer
