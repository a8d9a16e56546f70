"""The gate every tool passes before it touches anything: PROTOCOL.md §6 for one thread's turn.

It resolves paths (escape tricks are refused by `sandbox.paths`), asks the user when the mode
says so, and remembers what the user allowed for the session. The decisions themselves come
from `sandbox.approval_policy`; this module does the asking and the bookkeeping.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from protocol.approval import CommandApprovalParams, CommandApprovalResult, FileReadApprovalParams
from protocol.base import LauncherKind, Mode, SandboxKind, ServerRequest
from protocol.item import CommandExecutionItem, Item
from sandbox.approval_policy import CommandDecision, decide_command, decide_file_access
from sandbox.paths import PathDenied, PathVerdict, resolve_for_read, resolve_for_write
from sandbox.policy import DEFAULT_SECRET_PATHS, Policy, PolicyKind
from sandbox.rules import RuleError, broad_prefix_reason, load_rules, remember_approval
from server.agent.stream import TurnStream
from server.agent.threads import ThreadState
from server.agent.tools.base import ToolFailed, TurnCancelled
from server.config import Settings

T = TypeVar("T")

COMMAND_MEMORY_CAP = 16 * 1024**3
"""A runaway command is killed at 16 GiB rather than taking the machine (and the editor) down."""


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


def thread_policy(state: ThreadState, home: Path | None, kind: PolicyKind) -> Policy:
    """The sandbox policy of one thread's commands or file tools."""
    # Tether's own state (sessions, rules, keys) stays out of reach wherever TETHER_HOME is.
    secrets = (*DEFAULT_SECRET_PATHS, *([str(home)] if home else []))
    return Policy(
        kind=kind,
        roots=tuple(state.roots),
        secret_paths=secrets,  # type: ignore[arg-type]
        max_memory_bytes=COMMAND_MEMORY_CAP,
    )


def write_root(roots: list[Path], path: Path) -> Path:
    """The directory a write to `path` (as the gate resolved it) must stay below: its workspace
    root, or `/` for an approved write outside the roots. No directory on the way may be a
    symlink either way (`server.edits.atomic`), so a swap after the check cannot redirect it."""
    return next((root for root in roots if path.is_relative_to(root)), Path("/"))


def undo_refusal(state: ThreadState, path: Path, home: Path | None = None) -> str | None:
    """Why an undo (`change/revert`, `turn/revert`) may not write `path`, or None when it may.

    The checks of a fresh edit: escape tricks and secrets are refused; protected paths and paths
    outside the roots need fullAccess (an undo cannot ask, and the user's click approved the
    content, not a path that may have changed meaning since). A path that now leads elsewhere
    through a symlink is refused too: the undo would write somewhere the change never touched.
    """
    mode = state.thread.mode
    kind: PolicyKind = "fullAccess" if mode == "fullAccess" else "workspaceWrite"
    try:
        verdict = resolve_for_write(
            path, cwd=Path(state.thread.cwd), policy=thread_policy(state, home, kind)
        )
    except PathDenied as exc:
        return f"{exc} The undo was not applied."
    if verdict.path != path:
        return (
            f"{path} now leads to {verdict.path} through a symlink; the undo was not applied. "
            "Put the directory back, or restore the file by hand."
        )
    if mode == "fullAccess":
        return None
    if verdict.secret:
        return f"{path} is a secret file (credentials); the undo was not applied."
    if verdict.protected is not None or not verdict.inside_roots:
        where = f"protected ({verdict.protected})" if verdict.protected else "outside the workspace"
        return (
            f"{path} is {where}, so an undo may not write it in {mode} mode; it was left as it "
            "is. Restore it by hand, or switch to fullAccess and undo again."
        )
    return None


class Gate:
    def __init__(
        self, state: ThreadState, stream: TurnStream, launcher: LauncherKind, settings: Settings
    ) -> None:
        self.state = state
        self.stream = stream
        self.launcher: LauncherKind = launcher
        self.settings = settings
        self.home = settings.home

    @property
    def mode(self) -> Mode:
        return self.state.thread.mode

    @property
    def cwd(self) -> Path:
        return Path(self.state.thread.cwd)

    def _policy(self, kind: PolicyKind) -> Policy:
        return thread_policy(self.state, self.home, kind)

    def file_policy(self) -> Policy:
        return self._policy("fullAccess" if self.mode == "fullAccess" else "workspaceWrite")

    def _resolve(self, resolve: Callable[..., PathVerdict], requested: str) -> PathVerdict:
        """`sandbox.paths`' verdict on a path; an escape trick becomes a message for the model."""
        try:
            return resolve(requested, cwd=self.cwd, policy=self.file_policy())
        except PathDenied as exc:
            raise ToolFailed(str(exc)) from None

    async def readable(self, requested: str, item: Item) -> Path:
        """The real path to read, after the user approved a read outside the roots if needed."""
        verdict = self._resolve(resolve_for_read, requested)
        if verdict.secret and self.mode != "fullAccess":
            raise ToolFailed(
                f"{requested} is a secret file (credentials); Tether keeps it away "
                "from the model. Ask the user to share what you need."
            )
        decision = decide_file_access(
            "read",
            inside_roots=verdict.inside_roots,
            protected=False,
            mode=self.mode,
            session_edits_ok=False,
        )
        if decision.action == "auto" or self._read_allowed(verdict.path):
            return verdict.path
        answer = await self.ask(
            item,
            FileReadApprovalParams(
                thread_id=self.state.thread.id,
                turn_id=self.stream.turn.id,
                item_id=item.id,
                path=str(verdict.path),
                reason=decision.reason,
            ),
        )
        if answer.decision == "decline":
            raise ToolFailed(f"The user declined reading {verdict.path} (outside the workspace).")
        if answer.decision == "acceptForSession":
            self.state.read_grants.append(verdict.path.parent)
        return verdict.path

    def write_root(self, path: Path) -> Path:
        """See `write_root`: where a write to the resolved `path` must stay."""
        return write_root(self.state.roots, path)

    def writable(self, requested: str) -> Path:
        """The real path an edit would write; escape tricks and secrets are refused."""
        verdict = self._write_verdict(requested)
        return verdict.path

    def _write_verdict(self, requested: str) -> PathVerdict:
        verdict = self._resolve(resolve_for_write, requested)
        if verdict.secret and self.mode != "fullAccess":
            raise ToolFailed(
                f"{requested} is a secret file (credentials); Tether does not let "
                "the agent write it."
            )
        return verdict

    def edit_approval_reason(self, paths: list[Path]) -> str | None:
        """Why the user must approve an edit of these paths, or None when it applies at once."""
        reasons: list[str] = []
        for path in paths:
            verdict = self._write_verdict(str(path))
            decision = decide_file_access(
                "write",
                inside_roots=verdict.inside_roots,
                protected=verdict.protected is not None,
                mode=self.mode,
                session_edits_ok=self.state.session_edits_ok,
            )
            if decision.action == "prompt":
                reasons.append(decision.reason)
        return " ".join(dict.fromkeys(reasons)) or None

    # commands

    def command_cwd(self, workdir: str | None) -> Path:
        """Where a command runs: the cwd, or a directory inside the roots."""
        if not workdir:
            return self.cwd
        verdict = self._resolve(resolve_for_read, workdir)
        if not verdict.path.is_dir():
            raise ToolFailed(f"workdir {workdir} is not a directory.")
        if not verdict.inside_roots and self.mode != "fullAccess":
            raise ToolFailed(
                f"workdir {workdir} is outside the workspace; run commands inside "
                "it (use absolute paths in the command to read elsewhere)."
            )
        return verdict.path

    def decide_command(self, command: str, *, escalate: bool) -> CommandDecision:
        rules = load_rules(self.home, self.state.roots)
        for problem in rules.problems:
            if problem not in self.state.rule_problems_shown:
                self.state.rule_problems_shown.add(problem)
                self.stream.warn(f"rules: {problem}")
        return decide_command(
            command,
            self.mode,
            rules,
            self.state.session_rules,
            launcher=self.launcher,
            wants_escalation=escalate,
        )

    def launcher_for(self, sandbox: SandboxKind) -> LauncherKind:
        return "none" if sandbox == "none" else self.launcher

    def command_policy(self, sandbox: SandboxKind) -> Policy:
        kinds: dict[SandboxKind, PolicyKind] = {
            "readOnly": "readOnly",
            "workspaceWrite": "workspaceWrite",
            "none": "fullAccess",
        }
        return self._policy(kinds[sandbox])

    async def approve_command(
        self, item: CommandExecutionItem, decision: CommandDecision, *, escalate: bool
    ) -> bool:
        """Ask the user; remember acceptForSession and acceptAlways answers. False: declined."""
        suggested = decision.suggested_rules
        answer = await self.ask(
            item,
            CommandApprovalParams(
                thread_id=self.state.thread.id,
                turn_id=self.stream.turn.id,
                item_id=item.id,
                command=item.command,
                cwd=item.cwd,
                sandbox=item.sandbox,
                suggested_rules=suggested,
                reason=item.reason or decision.reason,
                escalation="network"
                if escalate
                else (
                    "noSandbox" if item.sandbox == "none" and self.mode != "fullAccess" else None
                ),
                rule_warnings=rule_warnings(suggested) or None,
            ),
        )
        if answer.decision == "decline":
            return False
        if answer.decision in ("acceptForSession", "acceptAlways"):
            self._remember(answer, item.command, escalate)
        return True

    def _remember(self, answer: CommandApprovalResult, command: str, escalate: bool) -> None:
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
                rules=load_rules(self.home, self.state.roots),
                session=self.state.session_rules,
                home=self.home,
                workspace_root=self._root_of_cwd(),
                escalated=escalate,
            )
        except (RuleError, OSError) as exc:
            self.stream.warn(f"Approval not remembered as asked: {exc}. This command runs once.")

    def _root_of_cwd(self) -> Path:
        return next(
            (r for r in self.state.roots if self.cwd.is_relative_to(r)), self.state.roots[0]
        )

    def _read_allowed(self, path: Path) -> bool:
        return any(path.is_relative_to(d) for d in self.state.read_grants)

    async def ask(self, item: Item, params: ServerRequest[T]) -> T:
        """Put the item in `pending`, ask the client, and return the answer; "cancel" stops the
        turn. While pending, an interrupt cancels the request (`$/cancelRequest`)."""
        previous = getattr(item, "status", None)
        item.status = "pending"  # type: ignore[union-attr]
        self.stream.updated(item)
        answer = await self.stream.request(params)
        if getattr(answer, "decision", None) == "cancel":
            item.status = "declined"  # type: ignore[union-attr]
            self.stream.completed(item)
            raise TurnCancelled
        item.status = previous or "inProgress"  # type: ignore[union-attr]
        self.stream.updated(item)
        return answer
