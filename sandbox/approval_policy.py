"""The approval policy: the table of PROTOCOL.md §6 as pure functions, one per kind of action.

`decide_command` says whether a command runs without asking, needs the user's approval or is
refused, and in which sandbox it runs once allowed; `decide_file_access` does the same for the
file tools, `decide_workdir` for where a command may run and `decide_undo` for what an undo may
write; `file_policy_kind` and `reader_sandbox` say under which policy the file tools and the
agent's own readers (ripgrep) run, `escalation_of` what an approval prompt calls an escalation,
`decide_mcp_tool` whether an MCP server's tool call asks first.
None touches the disk or the server: callers pass in the mode, the loaded rules, the thread's
session approvals and what the machine offers. The vocabulary (`Mode`, `SandboxKind`,
`LauncherKind`) is the protocol's (`protocol.base`), the one the client and the CLI show.

Reasons are shown to the user (in an approval prompt, on a refused item) and given to the model:
they speak of modes by their names in the client (Read-only, Agent, Full access) and of what a
sandbox lets a command do ("can write in this folder, no network"), never of internal names.

Choices beyond the table, and why:
- forbid rules refuse in every mode, fullAccess included; prompt rules ask in every mode too.
- Known-safe commands run in the read-only sandbox in agent mode as well as in readOnly: they
  only read, so the stricter sandbox costs nothing and guards against a mistake in the safe list.
- With no OS sandbox on the machine (launcher `none`), a command that would have relied on one
  to run without asking asks instead, and the reason says so: agent mode's "any other command",
  an allow rule from a workspace file, and known-safe commands too, because the read-only
  sandbox is what makes a reader harmless when the workspace is hostile (`git status` runs a
  `core.fsmonitor` a repository can set). Allow rules from the user's own file and session
  approvals are the user's explicit word and still run, unsandboxed, with the reason saying so.
- An escalation (network or writes outside the roots) runs with no sandbox and always asks
  outside fullAccess, unless the user approved that escalation for the session; allow rules
  never cover escalations.
- A rules file that could not be read may hide forbid rules, so nothing auto-runs until fixed.
- fullAccess is the user's word that the agent may do anything they can: secret files (SSH keys,
  cloud credentials, Tether's own home) can be read and written, commands may run anywhere, an
  undo may write protected paths and outside the roots. In the other modes secrets are refused
  outright (no prompt: a prompt is one click from leaking a key), commands run inside the
  roots, and an undo never writes a protected path or one outside the roots (it cannot ask).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from protocol.base import LauncherKind, Mode, SandboxKind
from sandbox.commands import ParsedCommand
from sandbox.parse_worker import parse_isolated
from sandbox.policy import PolicyKind
from sandbox.rules import RuleSet, RuleVerdict, SessionRules, suggest_rules
from sandbox.safe_commands import is_known_safe

CommandAction = Literal["auto", "prompt", "refuse"]
FileAction = Literal["auto", "prompt", "refuse"]
FileAccessKind = Literal["read", "write"]
Escalation = Literal["network", "noSandbox"]

_NO_SANDBOX_NOTE = "no OS sandbox is available on this machine, so it runs unsandboxed"
_CONFINED = "it can write in this folder, no network"


@dataclass(frozen=True, slots=True)
class CommandDecision:
    """What to do with one command line.

    `sandbox` is where it runs if it runs (for a prompt: once the user accepts); `reason` is
    meant for the user and the model; `suggested_rules` are prefixes to offer for acceptAlways.
    """

    action: CommandAction
    sandbox: SandboxKind
    reason: str
    suggested_rules: list[list[str]] = field(default_factory=lambda: [])


@dataclass(frozen=True, slots=True)
class FileDecision:
    """Whether a file read or edit happens without asking, and why."""

    action: FileAction
    reason: str


def decide_command(
    command: str,
    mode: Mode,
    rules: RuleSet,
    session: SessionRules,
    *,
    launcher: LauncherKind,
    wants_escalation: bool,
) -> CommandDecision:
    """Apply PROTOCOL.md §6 to a command line the model wants to run.

    `launcher` is the OS sandbox commands run in on this machine; `none` when none works.
    """
    sandbox_available = launcher != "none"
    parsed = parse_isolated(command)  # in a child: a parser crash must not end the server
    verdict = rules.evaluate(parsed, session.prefix_rules(escalated=wants_escalation))
    if verdict.decision == "forbid":
        return CommandDecision(
            "refuse",
            "none",
            f"{verdict.reason}, so it was not run; reach the goal another way, "
            "or ask the user to change that rule",
        )
    decision = _decide_unforbidden(
        parsed, mode, verdict, session, sandbox_available, wants_escalation
    )
    if rules.incomplete and decision.action == "auto":
        problems = "; ".join(rules.problems)
        return CommandDecision(
            "prompt",
            decision.sandbox,
            f"a rules file could not be read, so its forbid rules may be missed ({problems}); "
            "fix the file to stop these prompts",
        )
    return decision


def _decide_unforbidden(
    parsed: ParsedCommand,
    mode: Mode,
    verdict: RuleVerdict,
    session: SessionRules,
    sandbox_available: bool,
    wants_escalation: bool,
) -> CommandDecision:
    if verdict.decision == "prompt":
        confined = sandbox_available and mode != "fullAccess" and not wants_escalation
        return CommandDecision("prompt", "workspaceWrite" if confined else "none", verdict.reason)
    if mode == "fullAccess":
        return CommandDecision("auto", "none", "Full access: commands run without a sandbox")
    if wants_escalation:
        return _decide_escalation(parsed, session)
    known_safe = is_known_safe(parsed)
    if known_safe and sandbox_available:
        return CommandDecision(
            "auto", "readOnly", "a known-safe command that only reads; it can't change anything"
        )
    if session.allows_command(parsed.source, escalated=False) or verdict.decision == "allow":
        return _decide_allowed(parsed, verdict, sandbox_available)
    if known_safe:
        return CommandDecision(
            "prompt",
            "none",
            "a known-safe read-only command, but no OS sandbox is available on this machine and "
            "even a reader can run code a workspace sets up (git status runs core.fsmonitor); "
            "approve to run it unsandboxed",
            suggest_rules(parsed, include_known_safe=True),
        )
    return _decide_other(parsed, mode, sandbox_available)


def _decide_escalation(parsed: ParsedCommand, session: SessionRules) -> CommandDecision:
    escalated_rules = session.prefix_rules(escalated=True)
    if session.allows_command(parsed.source, escalated=True) or (
        escalated_rules and RuleSet().evaluate(parsed, escalated_rules).decision == "allow"
    ):
        return CommandDecision(
            "auto", "none", "the user approved running this outside the sandbox for this session"
        )
    return CommandDecision(
        "prompt",
        "none",
        "the command asks to run outside the sandbox (network access or writes outside the "
        "workspace folders), which needs the user's approval",
    )


def _decide_allowed(
    parsed: ParsedCommand, verdict: RuleVerdict, sandbox_available: bool
) -> CommandDecision:
    reason = verdict.reason if verdict.decision == "allow" else "approved for this session"
    if sandbox_available:
        return CommandDecision("auto", "workspaceWrite", reason)
    from_workspace = [rule for rule in verdict.rules if rule.scope == "workspace"]
    if not from_workspace:
        return CommandDecision("auto", "none", f"{reason}; {_NO_SANDBOX_NOTE}")
    return CommandDecision(
        "prompt",
        "none",
        f"{from_workspace[0].describe()} would allow it, but a workspace file cannot run "
        "commands unsandboxed and no OS sandbox is available on this machine; approve to run "
        "it without one",
        suggest_rules(parsed),
    )


def _decide_other(parsed: ParsedCommand, mode: Mode, sandbox_available: bool) -> CommandDecision:
    if mode == "agent" and sandbox_available:
        return CommandDecision("auto", "workspaceWrite", f"Agent mode: {_CONFINED}")
    if mode == "agent":
        reason = (
            "Agent mode runs commands in an OS sandbox, but no OS sandbox is available on this "
            "machine; approve to run it unsandboxed, or switch to Full access"
        )
        return CommandDecision("prompt", "none", reason, suggest_rules(parsed))
    why = parsed.describe_flags()
    reason = "Read-only mode: this command may change files, so it needs approval"
    if why:
        reason = f"Read-only mode: this command needs approval ({why} cannot be checked)"
    reason = f"{reason}; once approved, {_CONFINED if sandbox_available else _NO_SANDBOX_NOTE}"
    sandbox: SandboxKind = "workspaceWrite" if sandbox_available else "none"
    return CommandDecision("prompt", sandbox, reason, suggest_rules(parsed))


def decide_file_access(
    kind: FileAccessKind,
    inside_roots: bool,
    protected: bool,
    mode: Mode,
    session_edits_ok: bool,
    secret: bool = False,
) -> FileDecision:
    """Apply PROTOCOL.md §6 to a file tool's read or edit.

    `protected` is for paths such as `.git/`, `.tether/` and `.vscode/` (see sandbox.policy);
    `secret` for credentials (`sandbox.paths`), refused outside fullAccess with a reason that
    completes "<path> is ..."; `session_edits_ok` is an acceptForSession of file changes in this
    thread, which covers ordinary edits inside the workspace only, never protected paths or
    outside ones.
    """
    if mode == "fullAccess":
        return FileDecision("auto", "Full access")
    if secret:
        if kind == "read":
            return FileDecision(
                "refuse",
                "a secret file (credentials); Tether keeps it away from the model. Ask the user "
                "to share what you need.",
            )
        return FileDecision(
            "refuse", "a secret file (credentials); Tether does not let the agent write it."
        )
    if kind == "read":
        if inside_roots:
            return FileDecision("auto", "reading inside the workspace")
        return FileDecision("prompt", "reading a file outside the workspace folders needs approval")
    if not inside_roots:
        return FileDecision("prompt", "editing a file outside the workspace folders needs approval")
    if protected:
        return FileDecision(
            "prompt",
            "this path is protected (it can change how tools, git or Tether behave); "
            "editing it needs approval",
        )
    if mode == "agent":
        return FileDecision("auto", "Agent mode: edits apply at once and can be undone per hunk")
    if session_edits_ok:
        return FileDecision("auto", "the user accepted edits in this workspace for the session")
    return FileDecision("prompt", "Read-only mode: each edit needs approval, hunk by hunk")


def decide_workdir(inside_roots: bool, mode: Mode) -> bool:
    """Whether a command may run in a directory: inside the roots, or anywhere in fullAccess."""
    return inside_roots or mode == "fullAccess"


def decide_undo(inside_roots: bool, protected: str | None, secret: bool, mode: Mode) -> str | None:
    """Why an undo may not write a path (completing "<path> is ..."), or None when it may.

    An undo cannot ask, and the user's click approved the content, not a path that may have
    changed meaning since: outside fullAccess it writes neither secrets, nor protected paths,
    nor paths outside the roots.
    """
    if mode == "fullAccess":
        return None
    if secret:
        return "a secret file (credentials); the undo was not applied."
    if protected is not None or not inside_roots:
        where = f"protected ({protected})" if protected else "outside the workspace"
        name = {"readOnly": "Read-only", "agent": "Agent"}[mode]
        return (
            f"{where}, so an undo may not write it in {name} mode; it was left as it is. "
            "Restore it by hand, or switch to Full access and undo again."
        )
    return None


def file_policy_kind(mode: Mode) -> PolicyKind:
    """The policy the file tools' paths are checked against (`sandbox.paths`)."""
    return "fullAccess" if mode == "fullAccess" else "workspaceWrite"


def reader_sandbox(mode: Mode) -> SandboxKind:
    """Where a reader the agent runs itself (ripgrep for search and list_dir) runs."""
    return "none" if mode == "fullAccess" else "readOnly"


def escalation_of(wants_escalation: bool, sandbox: SandboxKind, mode: Mode) -> Escalation | None:
    """What an approval prompt calls a command that would run with more than the
    workspace-write sandbox allows: an asked-for escalation, or no sandbox outside fullAccess."""
    if wants_escalation:
        return "network"
    return "noSandbox" if sandbox == "none" and mode != "fullAccess" else None


McpApprovalMode = Literal["auto", "prompt", "approve"]


def decide_mcp_tool(
    mode: Mode, *, read_only_hint: bool, open_world_hint: bool, approval_mode: McpApprovalMode
) -> tuple[Literal["auto", "prompt"], str | None]:
    """Whether an MCP tool call runs unasked, and why it asks. The server's `approval_mode`
    for the tool decides first (`approve` never asks, `prompt` always does); else a tool that
    says it only reads and touches nothing outside the server (readOnlyHint and not
    openWorldHint) runs unasked in every mode, others ask in readOnly and agent and run in
    fullAccess. The hints are the server's word, not checked: a stdio server runs in the
    workspace-write sandbox all the same, which bounds what a lying tool can do."""
    if approval_mode == "approve":
        return "auto", None
    if approval_mode == "prompt":
        return "prompt", 'this tool is set to always ask (approval_mode = "prompt")'
    if read_only_hint and not open_world_hint:
        return "auto", None
    if mode == "fullAccess":
        return "auto", None
    what = "may reach outside systems" if open_world_hint else "may change things"
    return "prompt", f"this MCP tool {what} (it is not marked read-only)"
