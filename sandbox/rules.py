"""Command rules: the rules.toml files, prefix matching, session approvals and rule suggestions.

A rule is a prefix of argv tokens with a decision: allow, prompt or forbid. Rules come from the
user's `TETHER_HOME/rules.toml`, each workspace root's `.tether/rules.toml` (PROTOCOL.md §6) and,
in memory, the thread's acceptForSession answers (`SessionRules`).

How a command line is judged (`RuleSet.evaluate`):
- forbid, then prompt, wins over everything, whichever file it comes from: restrictive rules
  combine by "most restrictive wins", so a workspace file can add restrictions but never lift
  one from the user's file. They also see through wrappers (`sudo rm`, `env X=1 rm`, `xargs rm`)
  and path-qualified names (`/bin/rm`), and find commands hidden in substitutions and `bash -c`.
- when forbid rules exist, a line that hides what it runs (`$CMD`, `eval`, `bash -c "$S"`,
  a shell fed on stdin, `source <(...)`, `trap`, `alias`, `coproc`, `hash -p`) is set to ask:
  the forbid rules cannot be checked against it.
- allow needs every simple command to match an allow rule (or be known-safe) and the line to
  have no flagged construct: redirections, substitutions, subshells never match a rule.
  Matching is token by token on the command as written: `./git` or `/usr/bin/git` is not
  `git`, and an allow prefix trusts whatever arguments follow it, which is why commands it
  allows still run in the workspace-write sandbox.

Broad prefixes. An always-allow prefix such as `bash`, `python`, `env`, `sudo`, `xargs`, `find`
or `npm` (through `npm exec`) lets the model run any program at all, so it is worth as much as
giving up approvals. We never suggest one; `persist_rule` and `SessionRules.allow_prefix` refuse
one unless the caller passes `force=True` after warning the user; and a workspace file, which
whoever controls the repository can write, can never allow one, forced or not (those rules are
ignored and reported). Every other workspace allow rule stays bounded by the workspace-write
sandbox, and with no OS sandbox available it asks instead (see `sandbox.approval_policy`).

A rules file that exists but cannot be read, or holds a malformed restrictive rule, makes the
`RuleSet` incomplete: we cannot know what it forbids, so the policy stops auto-approving until
the user fixes the file, and `problems` says what to fix.
"""

from __future__ import annotations

import os
import re
import shlex
import tempfile
import threading
import tomllib
from collections.abc import Generator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal, cast

from sandbox.commands import Construct, ParsedCommand, SimpleCommand
from sandbox.parse_worker import parse_isolated
from sandbox.safe_commands import is_safe_simple_command
from sandbox.wrappers import WRAPPERS, basename, command_starts, strip_wrappers

RuleDecision = Literal["allow", "prompt", "forbid"]
RuleScope = Literal["user", "workspace", "session"]
_DECISIONS: tuple[RuleDecision, ...] = ("allow", "prompt", "forbid")
_NOTE_KEYS = frozenset({"justification", "comment", "note"})


class RuleError(ValueError):
    """A rule cannot be saved; the message says why and what to do instead."""


@dataclass(frozen=True, slots=True)
class Rule:
    """One prefix rule and where it came from (a file path, or "this thread" for session)."""

    prefix: tuple[str, ...]
    decision: RuleDecision
    scope: RuleScope
    source: str

    def describe(self) -> str:
        return f"the {self.decision} rule `{shlex.join(self.prefix)}` in {self.source}"


@dataclass(frozen=True, slots=True)
class RuleVerdict:
    """What the rules say about a whole command line; `decision` None means they do not decide."""

    decision: RuleDecision | None
    rules: tuple[Rule, ...]
    reason: str


def user_rules_path(home: Path) -> Path:
    return home / "rules.toml"


def workspace_rules_path(root: Path) -> Path:
    return root / ".tether" / "rules.toml"


@dataclass(frozen=True)
class RuleSet:
    """The rules of the user's and the workspace files, and what went wrong reading them."""

    rules: tuple[Rule, ...] = ()
    problems: tuple[str, ...] = ()
    incomplete: bool = False

    def with_rule(self, rule: Rule) -> RuleSet:
        """This set plus a rule just persisted, so it applies without reloading the files."""
        return self if rule in self.rules else replace(self, rules=(*self.rules, rule))

    def evaluate(self, parsed: ParsedCommand, extra_allow: Sequence[Rule] = ()) -> RuleVerdict:
        """Judge a command line; `extra_allow` are session prefixes approved for this thread."""
        for decision in ("forbid", "prompt"):
            hit = _first_restrictive_hit(self.rules, decision, parsed.commands)
            if hit is not None:
                command, rule = hit
                verb = "forbidden" if decision == "forbid" else "set to always ask"
                reason = f"`{shlex.join(command.argv)}` is {verb} by {rule.describe()}"
                return RuleVerdict(decision, (rule,), reason)
        hidden = [f for f in parsed.flags if f.construct in _HIDING_CONSTRUCTS]
        if hidden and any(rule.decision == "forbid" for rule in self.rules):
            reason = (
                f"{hidden[0].describe()} hides what will run, so your forbid rules cannot be "
                "checked against it; the user must approve it"
            )
            return RuleVerdict("prompt", (), reason)
        if not parsed.plain or not parsed.commands:
            why = parsed.describe_flags() or "it runs no command"
            return RuleVerdict(None, (), f"no rule can approve this command because of {why}")
        allow = sorted(
            (r for r in (*self.rules, *extra_allow) if r.decision == "allow"),
            key=lambda r: ("user", "session", "workspace").index(r.scope),
        )
        deciding: list[Rule] = []
        for command in parsed.commands:
            rule = next((r for r in allow if _allow_matches(r.prefix, command)), None)
            if rule is not None:
                deciding.append(rule)
            elif not is_safe_simple_command(command):
                return RuleVerdict(None, (), f"no allow rule matches `{shlex.join(command.argv)}`")
        if not deciding:
            return RuleVerdict(None, (), "no allow rule matches")
        sources = "; ".join(dict.fromkeys(rule.describe() for rule in deciding))
        return RuleVerdict("allow", tuple(deciding), f"allowed by {sources}")


# Constructs that can run a command no rule sees (`$CMD`, `eval "$X"`, `bash -c "$S"`,
# `echo "$X" | sh`, `trap "$X" EXIT`).
_HIDING_CONSTRUCTS = frozenset(
    {
        Construct.DYNAMIC_COMMAND_NAME,
        Construct.EVAL,
        Construct.NESTED_SHELL,
        Construct.SHELL_INPUT,
        Construct.DEFERRED,
        Construct.UNSUPPORTED,
    }
)


def _allow_matches(prefix: tuple[str, ...], command: SimpleCommand) -> bool:
    words = command.words[: len(prefix)]
    return len(words) == len(prefix) and all(
        word.literal and not word.pattern and word.text == token
        for word, token in zip(words, prefix, strict=True)
    )


def _first_restrictive_hit(
    rules: Sequence[Rule], decision: RuleDecision, commands: Sequence[SimpleCommand]
) -> tuple[SimpleCommand, Rule] | None:
    for command in commands:
        views = _restrictive_views(command.argv)
        for rule in rules:
            if rule.decision == decision and any(
                view[: len(rule.prefix)] == rule.prefix for view in views
            ):
                return command, rule
    return None


def _restrictive_views(argv: tuple[str, ...]) -> list[tuple[str, ...]]:
    """The argv forms a forbid or prompt rule is checked against.

    Behind a wrapper that is every word that could start the wrapped command, not only the one
    our option tables pick, so an option they miss cannot hide the command.
    """
    views = [argv, strip_wrappers(argv), *command_starts(argv)]
    return views + [(basename(v[0]), *v[1:]) for v in views if v]


# --- broad prefixes -----------------------------------------------------------------------------

_ALWAYS_BROAD = frozenset({"su", "pkexec", "find", "parallel", "watch", "ssh", "script"})
# Run program text or a script named by their arguments; broad unless a token pins the program.
_INTERPRETERS = frozenset(
    {
        "bash", "sh", "zsh", "dash", "ksh", "mksh", "fish", "csh", "tcsh", "node", "nodejs",
        "deno", "bun", "ruby", "perl", "php", "lua", "luajit", "Rscript", "julia", "osascript",
        "pwsh", "powershell", "awk", "gawk", "mawk", "nawk", "sed", "tclsh", "source", ".",
        "eval", "git", "npx", "bunx", "pnpx", "uvx", "pypy", "pypy3",
    }
)  # fmt: skip
_PYTHON = re.compile(r"python(\d+(\.\d+)?)?")
# Tools with a subcommand that runs any command: the bare tool and that subcommand are broad.
_RUNNERS: dict[str, frozenset[str]] = {
    "npm": frozenset({"exec", "x"}),
    "pnpm": frozenset({"exec", "dlx"}),
    "yarn": frozenset({"exec", "dlx"}),
    "uv": frozenset({"run", "tool"}),
    "pipx": frozenset({"run"}),
    "poetry": frozenset({"run"}),
    "pdm": frozenset({"run"}),
    "hatch": frozenset({"run"}),
    "conda": frozenset({"run"}),
    "bundle": frozenset({"exec"}),
    "docker": frozenset({"run", "exec"}),
    "kubectl": frozenset({"exec"}),
    "nix": frozenset({"run", "shell", "develop"}),
    "make": frozenset(),
    "just": frozenset(),
}


def broad_prefix_reason(prefix: Sequence[str]) -> str | None:
    """Why an always-allow `prefix` would let any program run, or None if it would not."""
    if not prefix:
        return "an empty prefix matches every command"
    name = basename(prefix[0])
    pinned = [token for token in prefix[1:] if not token.startswith("-")]
    shown = shlex.join(prefix)
    if name in ("sudo", "doas"):
        return f"`{shown}` runs commands as root"
    if name in WRAPPERS:
        inner = strip_wrappers(prefix)
        if not inner:
            return f"`{shown}` runs whatever command follows it"
        return broad_prefix_reason(inner)
    if name in _ALWAYS_BROAD:
        return f"`{shown}` can run any command through its arguments"
    if (name in _INTERPRETERS or _PYTHON.fullmatch(name)) and not pinned:
        return f"`{shown}` runs any program text, script or command it is given"
    runners = _RUNNERS.get(name)
    if runners is not None and not pinned:
        how = f" (through `{name} {sorted(runners)[0]}`)" if runners else ""
        return f"`{shown}` can run any command{how}"
    if runners and len(pinned) == 1 and pinned[0] in runners:
        return f"`{shown}` can run any command"
    return None


# --- loading ------------------------------------------------------------------------------------


def load_rules(home: Path, roots: Sequence[Path]) -> RuleSet:
    """Read the user's rules file and each workspace root's; a missing file is no rules."""
    rules: list[Rule] = []
    problems: list[str] = []
    incomplete = False
    files: list[tuple[Path, RuleScope]] = [(user_rules_path(home), "user")]
    for root in roots:
        files.append((workspace_rules_path(root), "workspace"))
    for path, scope in files:
        found, found_problems, broken = _read_rules_file(path, scope)
        rules.extend(found)
        problems.extend(found_problems)
        incomplete = incomplete or broken
    return RuleSet(tuple(rules), tuple(problems), incomplete)


def _read_rules_file(path: Path, scope: RuleScope) -> tuple[list[Rule], list[str], bool]:
    """Rules of one file, problems for the user, and whether a restrictive rule may be lost."""
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return [], [], False
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        return [], [f"{path}: cannot read the rules file ({error}); fix or remove it"], True
    entries: object = document.get("rules", [])
    problems = [f"{path}: unknown key `{key}` ignored" for key in document if key != "rules"]
    if not isinstance(entries, list):
        return [], [*problems, f"{path}: `rules` must be an array of [[rules]] tables"], True
    rules: list[Rule] = []
    incomplete = False
    for number, entry in enumerate(cast(list[object], entries), start=1):
        rule, problem = _rule_from_entry(entry, scope, str(path))
        if problem:
            problems.append(f"{path}: rule {number}: {problem}")
        if rule is None:
            incomplete = incomplete or not _says_allow(entry)
        elif (
            scope == "workspace"
            and rule.decision == "allow"
            and (broad := broad_prefix_reason(rule.prefix))
        ):
            problems.append(
                f"{path}: rule {number} ignored: a workspace file may not allow {broad}; "
                "add it to your user rules file if you really mean it"
            )
        else:
            rules.append(rule)
    return rules, problems, incomplete


def _says_allow(entry: object) -> bool:
    """True for a malformed rule that meant to allow: losing it cannot let anything through."""
    return isinstance(entry, dict) and cast(dict[str, object], entry).get("decision") == "allow"


def _rule_from_entry(entry: object, scope: RuleScope, source: str) -> tuple[Rule | None, str]:
    if not isinstance(entry, dict):
        return None, "each rule must be a [[rules]] table with `prefix` and `decision`"
    table = cast(dict[str, object], entry)
    prefix = table.get("prefix")
    decision = table.get("decision")
    if not isinstance(prefix, list) or not prefix:
        return None, '`prefix` must be a non-empty list of strings, like ["git", "status"]'
    tokens = cast(list[object], prefix)
    if not all(isinstance(token, str) and token for token in tokens):
        return None, "every `prefix` token must be a non-empty string"
    if decision not in _DECISIONS:
        return None, f"`decision` must be one of allow, prompt, forbid (got {decision!r})"
    unknown = sorted(set(table) - {"prefix", "decision"} - _NOTE_KEYS)
    problem = f"unknown keys {unknown} ignored" if unknown else ""
    rule = Rule(tuple(cast(list[str], tokens)), decision, scope, source)
    return rule, problem


# --- persisting ---------------------------------------------------------------------------------

_write_lock = threading.Lock()


def persist_rule(
    path: Path,
    prefix: Sequence[str],
    *,
    scope: Literal["user", "workspace"],
    decision: RuleDecision = "allow",
    force: bool = False,
) -> Rule:
    """Append a rule to the rules file at `path` atomically, keeping what the file holds.

    Refuses a broad allow prefix unless `force` (never for a workspace file, whose broad allow
    rules are ignored on load). Saving a rule the file already has is a no-op.
    """
    rule = _checked_rule(prefix, decision, scope, str(path), force=force)
    with _write_lock, _directory_lock(path.parent):
        existing = _existing_text(path)
        document = _parse_existing(path, existing)
        if _entry_present(document, rule):
            return rule
        separator = "" if not existing or existing.endswith("\n") else "\n"
        updated = existing + separator + _toml_rule(rule)
        try:
            reread = tomllib.loads(updated).get("rules")
        except tomllib.TOMLDecodeError as error:
            raise RuleError(
                f"{path}: the rule cannot be appended ({error}); "
                "define rules only as [[rules]] tables, then try again"
            ) from error
        if (
            not isinstance(reread, list)
            or not reread
            or not _entry_present({"rules": reread}, rule)
        ):
            raise RuleError(
                f"{path}: the appended rule did not read back; the file was not changed"
            )
        _replace_file(path, updated)
    return rule


def _checked_rule(
    prefix: Sequence[str], decision: RuleDecision, scope: RuleScope, source: str, *, force: bool
) -> Rule:
    tokens = tuple(prefix)
    if not tokens or not all(tokens):
        raise RuleError('a rule needs a non-empty prefix of non-empty tokens, like ["npm", "test"]')
    if not all(map(_is_utf8, tokens)):
        raise RuleError("a rule token holds characters that cannot be saved as UTF-8 text")
    if decision not in _DECISIONS:
        raise RuleError(f"decision must be one of allow, prompt, forbid (got {decision!r})")
    broad = broad_prefix_reason(tokens) if decision == "allow" else None
    if broad and (scope == "workspace" or not force):
        where = (
            "a workspace file may never allow it"
            if scope == "workspace"
            else ("confirm with the user and pass force=True to save it anyway")
        )
        raise RuleError(f"always allowing {broad}, which is as good as full access; {where}")
    return Rule(tokens, decision, scope, source)


def _is_utf8(token: str) -> bool:
    try:
        token.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates, which JSON strings can carry
        return False
    return True


def _existing_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return ""
    except (OSError, UnicodeDecodeError) as error:
        raise RuleError(f"{path}: cannot read the rules file ({error}); fix it first") from error


def _parse_existing(path: Path, text: str) -> dict[str, object]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise RuleError(
            f"{path}: the rules file is not valid TOML ({error}); fix it before adding rules"
        ) from error


def _entry_present(document: dict[str, object], rule: Rule) -> bool:
    entries = document.get("rules")
    if not isinstance(entries, list):
        return False
    return any(
        isinstance(entry, dict)
        and cast(dict[str, object], entry).get("prefix") == list(rule.prefix)
        and cast(dict[str, object], entry).get("decision") == rule.decision
        for entry in cast(list[object], entries)
    )


def _toml_rule(rule: Rule) -> str:
    tokens = ", ".join(_toml_string(token) for token in rule.prefix)
    return f'\n[[rules]]\nprefix = [{tokens}]\ndecision = "{rule.decision}"\n'


_TOML_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\f": "\\f",
    "\r": "\\r",
}


def _toml_string(value: str) -> str:
    """A TOML basic string; control characters and DEL are escaped as the spec requires."""
    out: list[str] = []
    for char in value:
        if char in _TOML_ESCAPES:
            out.append(_TOML_ESCAPES[char])
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04X}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


@contextmanager
def _directory_lock(directory: Path) -> Generator[None]:
    """Serialise writers across processes (another server on the same home or workspace)."""
    directory.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # Windows: the in-process lock is all we have
        yield
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _replace_file(path: Path, text: str) -> None:
    """Write to a temporary file beside `path`, flush it to disk, then rename it over `path`."""
    try:
        mode = path.stat().st_mode & 0o777
    except FileNotFoundError:
        mode = 0o644
    fd, temporary = tempfile.mkstemp(prefix=".rules-", suffix=".toml", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


# --- session rules ------------------------------------------------------------------------------


@dataclass
class SessionRules:
    """acceptForSession answers of one thread: exact command lines and argv prefixes.

    Each remembers whether it was granted for an escalation (network or writes outside the
    roots); an ordinary approval never covers a later escalation of the same command.
    """

    _commands: dict[str, bool] = field(default_factory=lambda: {})
    _prefixes: dict[tuple[str, ...], bool] = field(default_factory=lambda: {})

    def allow_command(self, command: str, *, escalated: bool = False) -> None:
        key = command.strip()
        self._commands[key] = self._commands.get(key, False) or escalated

    def allow_prefix(
        self, prefix: Sequence[str], *, escalated: bool = False, force: bool = False
    ) -> None:
        """Remember a prefix; raises RuleError for a broad prefix unless `force`."""
        rule = _checked_rule(prefix, "allow", "session", "this thread", force=force)
        self._prefixes[rule.prefix] = self._prefixes.get(rule.prefix, False) or escalated

    def allows_command(self, command: str, *, escalated: bool) -> bool:
        granted = self._commands.get(command.strip())
        return granted is not None and (granted or not escalated)

    def prefix_rules(self, *, escalated: bool) -> tuple[Rule, ...]:
        """Session prefixes as allow rules, only those granted for escalation if `escalated`."""
        return tuple(
            Rule(prefix, "allow", "session", "this thread")
            for prefix, for_escalation in self._prefixes.items()
            if for_escalation or not escalated
        )


# --- remembering an approval -------------------------------------------------------------------


def remember_approval(
    answer: Literal["acceptForSession", "acceptAlways"],
    command: str,
    *,
    rule: Sequence[str] | None,
    scope: Literal["user", "workspace"] | None,
    rules: RuleSet,
    session: SessionRules,
    home: Path,
    workspace_root: Path,
    escalated: bool,
    force: bool = False,
) -> RuleSet:
    """Record an acceptForSession or acceptAlways answer (PROTOCOL.md §5); return the rules now.

    acceptForSession remembers `rule` as a session prefix, or the exact command when no rule
    was chosen. acceptAlways appends `rule` to the user's file (the default scope) or to the
    workspace file of `workspace_root`, and the returned set includes it at once. A `rule` must
    be a prefix of one of the command's parts. Raises RuleError with a message for the user.
    """
    if rule is not None:
        _require_prefix_of(command, rule)
    if answer == "acceptForSession":
        if rule is None:
            session.allow_command(command, escalated=escalated)
        else:
            session.allow_prefix(rule, escalated=escalated, force=force)
        return rules
    if rule is None:
        raise RuleError("acceptAlways needs a `rule`: one of the suggested prefixes")
    where = scope or "user"
    path = user_rules_path(home) if where == "user" else workspace_rules_path(workspace_root)
    return rules.with_rule(persist_rule(path, rule, scope=where, force=force))


def _require_prefix_of(command: str, rule: Sequence[str]) -> None:
    prefix = tuple(rule)
    parts = parse_isolated(command).commands
    if not prefix or not any(_allow_matches(prefix, part) for part in parts):
        raise RuleError(
            f"the rule `{shlex.join(prefix)}` is not a prefix of any part of `{command}`; "
            "choose one of the suggested prefixes"
        )


# --- suggestions --------------------------------------------------------------------------------

_SUBCOMMAND_TOOLS = frozenset(
    {
        "git", "npm", "pnpm", "yarn", "bun", "deno", "cargo", "go", "uv", "pip", "pip3", "poetry",
        "pdm", "hatch", "docker", "podman", "kubectl", "helm", "gh", "make", "just", "mvn",
        "gradle", "gradlew", "mvnw", "dotnet", "rustup", "brew", "terraform", "nx", "turbo",
        "tox", "nox", "conda", "pre-commit", "ruff", "bundle", "rake", "rails", "mix", "swift",
        "zig", "flutter", "dart", "composer", "pixi", "rye", "bazel", "cmake", "ninja", "apt",
        "apt-get", "systemctl", "pnpx", "npx", "task", "invoke",
    }
)  # fmt: skip
# Tools whose second word names a group of subcommands, so a third word is still a subcommand.
_NESTED_SUBCOMMANDS: dict[str, frozenset[str]] = {
    "npm": frozenset({"run", "run-script"}),
    "pnpm": frozenset({"run"}),
    "yarn": frozenset({"run", "workspace"}),
    "bun": frozenset({"run"}),
    "docker": frozenset({"compose", "container", "image"}),
    "go": frozenset({"mod", "tool"}),
    "uv": frozenset({"pip", "tool"}),
    "git": frozenset({"stash", "remote", "submodule", "worktree"}),
    "gh": frozenset({"pr", "issue", "repo", "run", "release"}),
    "cargo": frozenset({"make"}),
}
_SUBCOMMAND = re.compile(r"[a-z][a-z0-9:_-]*")
_SCRIPT = re.compile(r"[\w./@+-]+")
_MAX_SUGGESTIONS = 4


def suggest_rules(
    command: str | ParsedCommand, *, include_known_safe: bool = False
) -> list[list[str]]:
    """Prefixes worth offering for "always allow", most specific first.

    Only subcommand words are taken (`git commit`, never the message of `git commit -m x`), no
    broad prefix is offered, known-safe commands need no rule (unless `include_known_safe`: with
    no OS sandbox they ask too), and a line with a flagged construct gets none because no rule
    could ever approve it.
    """
    parsed = parse_isolated(command) if isinstance(command, str) else command
    if not parsed.plain:
        return []
    suggestions: list[tuple[str, ...]] = []
    for simple in parsed.commands:
        if is_safe_simple_command(simple) and not include_known_safe:
            continue
        for prefix in _prefixes_for(simple):
            if prefix not in suggestions and broad_prefix_reason(prefix) is None:
                suggestions.append(prefix)
    return [list(prefix) for prefix in suggestions[:_MAX_SUGGESTIONS]]


def _prefixes_for(command: SimpleCommand) -> list[tuple[str, ...]]:
    words = [w.text if w.literal and not w.pattern else None for w in command.words]
    name, second, third = (*words[:3], None, None)[:3]
    if name is None:
        return []
    tool = basename(name)
    if tool in _SUBCOMMAND_TOOLS and second and _SUBCOMMAND.fullmatch(second):
        if third and _SUBCOMMAND.fullmatch(third) and second in _NESTED_SUBCOMMANDS.get(tool, ()):
            return [(name, second, third), (name, second), (name,)]
        return [(name, second), (name,)]
    if tool in _INTERPRETERS or _PYTHON.fullmatch(tool):
        return _interpreter_prefixes(name, second, third)
    return [(name,)]


def _interpreter_prefixes(
    name: str, second: str | None, third: str | None
) -> list[tuple[str, ...]]:
    """`python -m pytest` or `bash build.sh`: the module or script pins what runs."""
    if second == "-m" and third and _SCRIPT.fullmatch(third):
        return [(name, second, third)]
    if second and second[0] != "-" and _SCRIPT.fullmatch(second):
        return [(name, second)]
    return []
