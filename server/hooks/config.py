"""Where hooks come from, which of them match an event, and which are trusted.

Every source has Claude Code's shape, `{"hooks": {Event: [{matcher, hooks: [{type, command,
timeout}]}]}}` (config.toml's `[hooks]` table is the inner `{Event: [...]}`). Sources, in the
order their hooks run and report:

- user: `TETHER_HOME/hooks.json`, `[hooks]` in `TETHER_HOME/config.toml`, and with
  `hooks_import_claude = true` Claude Code's `~/.claude/settings.json`;
- project, per workspace root: `<root>/.tether/hooks.json`, and with the import
  `<root>/.claude/settings.json` and `<root>/.claude/settings.local.json`;
- the client's own hooks, declared in `initialize` (`client_hooks`; `tether_sdk`'s Python
  callables), which the server asks the client to run (`hook/callback`).

A project's hooks are code anyone who can write to the repository chose to run on the user's
machine, outside the sandbox; they run only once the user trusted that file's hook definition.
Trust is kept per file as the SHA-256 of its canonical definition in `TETHER_HOME/
hooks-trust.json`, so a changed definition is asked about again. A "no" is kept as well (with
its hash), so the user is asked once per definition, not on every turn.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

from protocol.hooks import ClientHookMatcher

EVENTS = (
    "PreToolUse",
    "PostToolUse",
    "PostToolUseFailure",
    "UserPromptSubmit",
    "Stop",
    "SubagentStart",
    "SubagentStop",
    "SessionStart",
    "SessionEnd",
    "PreCompact",
    "Notification",
)
DEFAULT_TIMEOUT_S = 60.0
TRUST_FILE = "hooks-trust.json"


@dataclass(frozen=True)
class HookCommand:
    """One command of one source, for one event and matcher."""

    event: str
    matcher: str
    command: str
    timeout_s: float
    source: HookSource
    callback_id: str | None = None
    """A hook the client runs itself (`hook/callback`): `command` is then its id, shown."""


@dataclass(frozen=True)
class HookSource:
    """One file (or config.toml's table) that defines hooks."""

    label: str
    """The file's path, or `<config.toml> [hooks]`: what the user is shown and trust is keyed by."""
    project: bool
    definition: dict[str, Any]
    """The `{Event: [groups]}` part, as written."""

    @property
    def digest(self) -> str:
        canonical = json.dumps(self.definition, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class HookConfig:
    sources: list[HookSource]
    commands: list[HookCommand]
    problems: list[str]

    def matching(self, event: str, subject: str | None) -> list[HookCommand]:
        """The commands for `event` whose matcher takes `subject` (the tool name, the
        SessionStart source, ...); events without a subject ignore matchers, as in Claude."""
        return [
            c
            for c in self.commands
            if c.event == event and (subject is None or matches(c.matcher, subject))
        ]


def matches(matcher: str, subject: str) -> bool:
    """Claude's matchers: empty or `*` matches everything, a name or a `|` list matches
    exactly, anything else is a regular expression that must match the whole name."""
    if matcher in ("", "*"):
        return True
    if re.fullmatch(r"[\w|-]+", matcher):
        return subject in matcher.split("|")
    try:
        return re.fullmatch(matcher, subject) is not None
    except re.error:
        return False


CLIENT_SOURCE = HookSource("the client (hook/callback)", project=False, definition={})
"""Where the client's own hooks come from: its code, trusted like the user's own files."""


def client_hooks(
    hooks: Mapping[str, list[ClientHookMatcher]],
) -> tuple[list[HookCommand], list[str]]:
    """The hooks a client declared in `initialize` (`protocol.hooks.ClientHookMatcher`), and
    the problems of those left out."""
    out: list[HookCommand] = []
    problems: list[str] = []
    for event, groups in hooks.items():
        if event not in EVENTS:
            problems.append(f"the client's hooks: unknown hook event `{event}` ignored")
            continue
        for group in groups:
            timeout = group.timeout if group.timeout and group.timeout > 0 else DEFAULT_TIMEOUT_S
            for callback in group.callback_ids:
                out.append(
                    HookCommand(event, group.matcher, callback, timeout, CLIENT_SOURCE, callback)
                )
    return out, problems


def load_hooks(
    home: Path,
    roots: Iterable[Path],
    *,
    toml_hooks: dict[str, Any] | None = None,
    import_claude: bool = False,
    user_home: Path | None = None,
    client: Iterable[HookCommand] = (),
) -> HookConfig:
    """Every source that exists, parsed; a broken file or entry is left out with a problem.
    `client`: the client's own hooks (`client_hooks`), run after the files' ones."""
    problems: list[str] = []
    sources: list[HookSource] = []

    def add_file(path: Path, project: bool) -> None:
        if not path.is_file():
            return
        try:
            data = json.loads(path.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            problems.append(f"{path}: not read ({exc}); its hooks are off")
            return
        hooks = data.get("hooks") if isinstance(data, dict) else None
        if hooks is None:
            return  # a Claude settings file without hooks
        if not isinstance(hooks, dict):
            problems.append(f"{path}: `hooks` must be an object of events; its hooks are off")
            return
        sources.append(HookSource(str(path), project, hooks))

    add_file(home / "hooks.json", project=False)
    if toml_hooks:
        sources.append(HookSource(f"{home / 'config.toml'} [hooks]", False, toml_hooks))
    claude_home = (user_home or Path.home()) / ".claude"
    if import_claude:
        add_file(claude_home / "settings.json", project=False)
    for root in roots:
        add_file(root / ".tether" / "hooks.json", project=True)
        if import_claude and root / ".claude" != claude_home:
            add_file(root / ".claude" / "settings.json", project=True)
            add_file(root / ".claude" / "settings.local.json", project=True)
    commands = [c for s in sources for c in commands_of(s, problems)]
    return HookConfig(sources, [*commands, *client], problems)


def commands_of(source: HookSource, problems: list[str]) -> list[HookCommand]:
    out: list[HookCommand] = []
    for event, groups in source.definition.items():
        if event not in EVENTS:
            problems.append(f"{source.label}: unknown hook event `{event}` ignored")
            continue
        if not isinstance(groups, list):
            problems.append(f"{source.label}: `{event}` must be a list of matcher groups")
            continue
        for group in groups:
            out.extend(_group_commands(source, event, group, problems))
    return out


def _group_commands(
    source: HookSource, event: str, group: Any, problems: list[str]
) -> list[HookCommand]:
    where = f"{source.label}: {event}"
    if not isinstance(group, dict) or not isinstance(group.get("hooks"), list):
        problems.append(f"{where}: each entry needs a `hooks` list; entry ignored")
        return []
    matcher = group.get("matcher") or ""
    if not isinstance(matcher, str):
        problems.append(f"{where}: `matcher` must be a string; entry ignored")
        return []
    out: list[HookCommand] = []
    for hook in group["hooks"]:
        if not isinstance(hook, dict) or hook.get("type", "command") != "command":
            problems.append(f"{where}: only hooks of type `command` run; one ignored")
            continue
        command, timeout = hook.get("command"), hook.get("timeout", DEFAULT_TIMEOUT_S)
        if not isinstance(command, str) or not command.strip():
            problems.append(f"{where}: a hook without a `command` ignored")
            continue
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
            problems.append(f"{where}: `timeout` {timeout!r} is not a positive number; 60 s used")
            timeout = DEFAULT_TIMEOUT_S
        out.append(HookCommand(event, matcher, command, float(timeout), source))
    return out


TrustState = Literal["trusted", "declined", "unknown"]


class Trusted(Protocol):
    """What trust is kept for: a hook file, or a project's MCP server (`server.mcp.config`)."""

    @property
    def label(self) -> str: ...
    @property
    def project(self) -> bool: ...
    @property
    def digest(self) -> str: ...


class TrustStore:
    """The user's answers about project definitions: label -> {digest, trusted}, in
    `file_name` under TETHER_HOME (hooks and MCP servers keep one file each)."""

    def __init__(self, home: Path, file_name: str = TRUST_FILE) -> None:
        self.path = home / file_name

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            return {}
        return data if isinstance(data, dict) else {}

    def state(self, source: Trusted) -> TrustState:
        if not source.project:
            return "trusted"
        entry = self._read().get(source.label)
        if not isinstance(entry, dict) or entry.get("digest") != source.digest:
            return "unknown"
        return "trusted" if entry.get("trusted") is True else "declined"

    def remember(self, source: Trusted, trusted: bool) -> None:
        data = self._read()
        data[source.label] = {"digest": source.digest, "trusted": trusted}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
        tmp.replace(self.path)
