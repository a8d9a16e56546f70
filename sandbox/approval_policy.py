"""The approval policy: the table of PROTOCOL.md §6 as pure functions, one per kind of action.

`decide_command` says whether a command runs without asking, needs the user's approval or is
refused, and in which sandbox it runs once allowed; `decide_file_access` does the same for the
file tools. Neither touches the disk or the server: callers pass in the mode, the loaded rules,
the thread's session approvals and what the machine offers.

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
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from sandbox.commands import ParsedCommand
from sandbox.launchers import LauncherName
from sandbox.parse_worker import parse_isolated
from sandbox.policy import SandboxLabel
from sandbox.rules import RuleSet, RuleVerdict, SessionRules, suggest_rules
from sandbox.safe_commands import is_known_safe

Mode = Literal["readOnly", "agent", "fullAccess"]
CommandAction = Literal["auto", "prompt", "refuse"]
FileAction = Literal["auto", "prompt"]
FileAccessKind = Literal["read", "write"]

_NO_SANDBOX_NOTE = "no OS sandbox is available on this machine, so it runs unsandboxed"


@dataclass(frozen=True, slots=True)
class CommandDecision:
    """What to do with one command line.

    `sandbox` is where it runs if it runs (for a prompt: once the user accepts); `reason` is
    meant for the user and the model; `suggested_rules` are prefixes to offer for acceptAlways.
    """

    action: CommandAction
    sandbox: SandboxLabel
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
    launcher: LauncherName,
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
        return CommandDecision("auto", "none", "full access: commands run without a sandbox")
    if wants_escalation:
        return _decide_escalation(parsed, session)
    known_safe = is_known_safe(parsed)
    if known_safe and sandbox_available:
        return CommandDecision("auto", "readOnly", "a known-safe read-only command")
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
        "workspace roots), which needs the user's approval",
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
        return CommandDecision(
            "auto", "workspaceWrite", "agent mode: runs in the workspace sandbox"
        )
    if mode == "agent":
        reason = (
            "agent mode runs commands in an OS sandbox, but no OS sandbox is available on this "
            "machine; approve to run it unsandboxed, or switch to fullAccess"
        )
        return CommandDecision("prompt", "none", reason, suggest_rules(parsed))
    why = parsed.describe_flags()
    reason = "read-only mode: this command may change files, so it needs approval"
    if why:
        reason = f"read-only mode: this command needs approval ({why} cannot be checked)"
    if not sandbox_available:
        reason = f"{reason}; once approved, {_NO_SANDBOX_NOTE}"
    sandbox: SandboxLabel = "workspaceWrite" if sandbox_available else "none"
    return CommandDecision("prompt", sandbox, reason, suggest_rules(parsed))


def decide_file_access(
    kind: FileAccessKind,
    inside_roots: bool,
    protected: bool,
    mode: Mode,
    session_edits_ok: bool,
) -> FileDecision:
    """Apply PROTOCOL.md §6 to a file tool's read or edit.

    `protected` is for paths such as `.git/`, `.tether/` and `.vscode/` (see sandbox.policy);
    `session_edits_ok` is an acceptForSession of file changes in this thread, which covers
    ordinary edits inside the workspace only, never protected paths or outside ones.
    """
    if mode == "fullAccess":
        return FileDecision("auto", "full access")
    if kind == "read":
        if inside_roots:
            return FileDecision("auto", "reading inside the workspace")
        return FileDecision("prompt", "reading a file outside the workspace roots needs approval")
    if not inside_roots:
        return FileDecision("prompt", "editing a file outside the workspace roots needs approval")
    if protected:
        return FileDecision(
            "prompt",
            "this path is protected (it can change how tools, git or Tether behave); "
            "editing it needs approval",
        )
    if mode == "agent":
        return FileDecision("auto", "agent mode: edits apply at once and can be undone per hunk")
    if session_edits_ok:
        return FileDecision("auto", "the user accepted edits in this workspace for the session")
    return FileDecision("prompt", "read-only mode: each edit needs approval, hunk by hunk")
