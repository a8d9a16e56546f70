"""Sub-agent definitions: the built-in `general` and `explorer`, and Markdown files with YAML
front matter, as Claude Code writes them.

Where they come from, later ones replacing earlier ones of the same name: the built-ins, then
`TETHER_HOME/agents/*.md`, then per workspace root `.claude/agents/*.md` and `.tether/agents/*.md`.

Front matter: `name` and `description` (required), `tools` and `disallowedTools` (a list or a
comma-separated string, Tether's or Claude's names: `Read`, `Grep`, `Bash`, ...), `model`
(`inherit`, the default, or a model id), `mode` (readOnly | agent | fullAccess; the child never
runs looser than its parent), `maxTurns` (model calls), `isolation: worktree`. The body is the
child's instructions. Other keys Claude knows (`color`, `permissionMode`, ...) are ignored.

A project's definitions are read without asking, like its AGENTS.md: they are instructions for
the model, and a child gets no power its parent lacks (same mode or stricter, same roots, rules,
session grants and hooks), which is why they need no trust prompt as a project's hooks do.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args

import yaml

from protocol.base import Mode
from protocol.subagent import AgentInfo
from server.hooks.claude_names import CLAUDE_NAMES

MODES: tuple[Mode, ...] = get_args(Mode)
SUBAGENT_TOOLS = ("spawn_agent", "wait_agents", "send_agent", "close_agent")
READ_TOOLS = ("read_file", "list_dir", "search", "shell")
WRITE_TOOLS = frozenset({"shell", "apply_patch", "edit_file"})
_FROM_CLAUDE = {v.lower(): k for k, v in CLAUDE_NAMES.items()} | {
    "glob": "search",
    "multiedit": "edit_file",
    "notebookedit": "edit_file",
}
_FRONT = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)(.*)\Z", re.S)
FILE_CAP = 256 * 1024


@dataclass(frozen=True)
class AgentDefinition:
    name: str
    description: str
    instructions: str
    source: str = "builtin"
    tools: tuple[str, ...] | None = None
    """Tether tool names it may use; None: all but the sub-agent tools."""
    disallowed: tuple[str, ...] = ()
    model: str | None = None
    """None: the parent's."""
    mode: Mode | None = None
    max_turns: int | None = None
    isolation: Literal["worktree"] | None = None
    unknown_tools: tuple[str, ...] = field(default=(), compare=False)

    def tool_names(self, offered: list[str], nested: bool = False) -> list[str]:
        """The tools of `offered` (the parent's, in order) this agent gets; the sub-agent
        tools only when it may spawn children of its own (`nested`)."""
        allowed = set(self.tools) if self.tools is not None else None
        return [
            t
            for t in offered
            if (nested and t in SUBAGENT_TOOLS)
            or (
                t not in SUBAGENT_TOOLS
                and (allowed is None or t in allowed)
                and t not in self.disallowed
            )
        ]

    def info(self) -> AgentInfo:
        return AgentInfo(
            name=self.name,
            description=self.description,
            source=self.source,
            mode=self.mode,
            tools=list(self.tools) if self.tools is not None else None,
            model=self.model,
            max_turns=self.max_turns,
            isolation=self.isolation,
        )


GENERAL = AgentDefinition(
    name="general",
    description="A general-purpose agent for a self-contained task: it reads, runs commands "
    "and edits like you, and reports what it did.",
    instructions="Do the task you were given completely, then answer with a short report: "
    "what you found or changed (files as paths relative to the workspace root) and anything "
    "left undone. Your final message is all the parent agent sees of your work.",
)
EXPLORER = AgentDefinition(
    name="explorer",
    description="A read-only agent that reads, searches and summarises code to answer a "
    "question; it changes nothing.",
    instructions="You explore the workspace to answer a question: read files, list "
    "directories, search, and run read-only commands. Change nothing. Answer with a concise "
    "summary of what you found, citing paths and line numbers. Your final message is all the "
    "parent agent sees of your work.",
    tools=READ_TOOLS,
    mode="readOnly",
)
BUILTIN = (GENERAL, EXPLORER)


def stricter(parent: Mode, wanted: Mode | None) -> Mode:
    """The child's mode: the one it asks for, but never looser than its parent's."""
    if wanted is None:
        return parent
    return MODES[min(MODES.index(parent), MODES.index(wanted))]


def load_definitions(home: Path, roots: list[Path]) -> tuple[dict[str, AgentDefinition], list[str]]:
    """Every definition by name, and the problems of files that could not be used."""
    found = {d.name: d for d in BUILTIN}
    problems: list[str] = []
    folders = [home / "agents"]
    for root in roots:
        folders += [root / ".claude" / "agents", root / ".tether" / "agents"]
    for folder in folders:
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob("*.md")):
            definition = _read(path, problems)
            if definition is not None:
                found[definition.name] = definition
    return found, problems


def _read(path: Path, problems: list[str]) -> AgentDefinition | None:
    try:
        if path.stat().st_size > FILE_CAP:
            problems.append(f"{path}: larger than {FILE_CAP // 1024} KiB; not used")
            return None
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(f"{path}: not read ({exc})")
        return None
    try:
        definition = parse_definition(text, str(path))
    except ValueError as exc:
        problems.append(f"{path}: {exc}; not used")
        return None
    if definition.unknown_tools:
        problems.append(f"{path}: no tool named {', '.join(definition.unknown_tools)}; ignored")
    return definition


def parse_definition(text: str, source: str) -> AgentDefinition:
    """One definition file; ValueError says what is wrong with it."""
    match = _FRONT.match(text.lstrip("\ufeff"))
    if match is None:
        raise ValueError("no YAML front matter (a `---` line, the fields, a `---` line)")
    try:
        front: Any = yaml.safe_load(match.group(1))
    except yaml.YAMLError as exc:
        raise ValueError(f"the front matter is not valid YAML ({exc})".replace("\n", " ")) from None
    if not isinstance(front, dict):
        raise ValueError("the front matter must be a mapping of fields")
    name, description = front.get("name"), front.get("description")
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}", name):
        raise ValueError("`name` must be letters, digits, `-`, `_` or `.` (at most 64)")
    if not isinstance(description, str) or not description.strip():
        raise ValueError("`description` is required")
    tools, unknown = _tools(front.get("tools"), "tools")
    disallowed, unknown_too = _tools(front.get("disallowedTools"), "disallowedTools")
    mode = front.get("mode")
    if mode is not None and mode not in MODES:
        raise ValueError(f"`mode` must be one of {', '.join(MODES)}")
    max_turns = front.get("maxTurns")
    if max_turns is not None and (
        not isinstance(max_turns, int) or isinstance(max_turns, bool) or max_turns < 1
    ):
        raise ValueError("`maxTurns` must be a positive whole number")
    isolation = front.get("isolation")
    if isolation not in (None, "worktree"):
        raise ValueError("`isolation` can only be `worktree`")
    model = front.get("model")
    if model is not None and not isinstance(model, str):
        raise ValueError("`model` must be a model id or `inherit`")
    return AgentDefinition(
        name=name,
        description=description.strip(),
        instructions=match.group(2).strip(),
        source=source,
        tools=tools,
        disallowed=disallowed or (),
        model=None if model in (None, "inherit") else model,
        mode=mode,
        max_turns=max_turns,
        isolation=isolation,
        unknown_tools=unknown + unknown_too,
    )


def _tools(value: Any, key: str) -> tuple[tuple[str, ...] | None, tuple[str, ...]]:
    """(Tether names, names that are no tool here) of a `tools`-like field."""
    if value is None:
        return None, ()
    if isinstance(value, str):
        names = [n.strip() for n in value.split(",") if n.strip()]
    elif isinstance(value, list) and all(isinstance(n, str) for n in value):  # type: ignore[misc]
        names = [str(n).strip() for n in value]  # type: ignore[misc]
    else:
        raise ValueError(f"`{key}` must be a list of tool names or a comma-separated string")
    known: list[str] = []
    unknown: list[str] = []
    for n in names:
        tether = n if n in CLAUDE_NAMES or n in SUBAGENT_TOOLS else _FROM_CLAUDE.get(n.lower())
        if tether is None and n.startswith("mcp__"):
            tether = n  # an MCP tool keeps its name
        (known if tether is not None else unknown).append(tether or n)
    return tuple(dict.fromkeys(known)), tuple(unknown)
