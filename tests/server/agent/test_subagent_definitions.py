"""Sub-agent definitions: Claude Code's files read as Claude reads them, bad ones refused with the
reason, later folders winning, and a child's mode never looser than its parent's."""

from __future__ import annotations

from pathlib import Path

import pytest

from server.agent.subagents.definitions import (
    EXPLORER,
    load_definitions,
    parse_definition,
    stricter,
)

CLAUDE_FILE = """---
name: code-reviewer
description: >-
  Expert code review specialist. Use immediately after writing code:
  it checks quality, security and maintainability.
tools: Read, Grep, Glob, Bash
model: inherit
color: red
---
You are a senior code reviewer.

Run git diff first.
"""


def test_a_claude_code_file_reads_with_its_tools_mapped() -> None:
    d = parse_definition(CLAUDE_FILE, "x.md")
    assert d.name == "code-reviewer"
    assert d.description.startswith("Expert code review specialist. Use immediately")
    assert d.tools == ("read_file", "search", "shell")  # Glob and Grep are both search
    assert d.model is None and d.mode is None and d.isolation is None
    assert d.instructions == "You are a senior code reviewer.\n\nRun git diff first."


def test_every_optional_field() -> None:
    d = parse_definition(
        "---\nname: w\ndescription: d\ntools: [apply_patch, Edit, Nope]\n"
        "disallowedTools: Bash\nmodel: small-model\nmode: readOnly\nmaxTurns: 4\n"
        "isolation: worktree\n---\nbody\n",
        "w.md",
    )
    assert d.tools == ("apply_patch", "edit_file")
    assert d.unknown_tools == ("Nope",)
    assert d.disallowed == ("shell",)
    assert (d.model, d.mode, d.max_turns, d.isolation) == ("small-model", "readOnly", 4, "worktree")
    offered = ["read_file", "shell", "apply_patch", "edit_file", "spawn_agent"]
    assert d.tool_names(offered) == ["apply_patch", "edit_file"]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("no front matter\n", "no YAML front matter"),
        ("---\nname: [\n---\nx\n", "not valid YAML"),
        ("---\n- a\n---\nx\n", "must be a mapping"),
        ("---\nname: a b\ndescription: d\n---\n", "`name` must be"),
        ("---\nname: a\n---\n", "`description` is required"),
        ("---\nname: a\ndescription: d\nmode: yolo\n---\n", "`mode` must be one of"),
        ("---\nname: a\ndescription: d\nmaxTurns: 0\n---\n", "`maxTurns` must be"),
        ("---\nname: a\ndescription: d\nisolation: vm\n---\n", "`isolation` can only"),
        ("---\nname: a\ndescription: d\ntools: 3\n---\n", "`tools` must be"),
    ],
)
def test_a_bad_file_says_what_is_wrong(text: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        parse_definition(text, "bad.md")


def test_folders_in_order_and_problems_reported(tmp_path: Path) -> None:
    home, root = tmp_path / "home", tmp_path / "ws"
    for folder, description in (
        (home / "agents", "from home"),
        (root / ".claude" / "agents", "from claude"),
        (root / ".tether" / "agents", "from tether"),
    ):
        folder.mkdir(parents=True)
        (folder / "a.md").write_text(f"---\nname: helper\ndescription: {description}\n---\nx\n")
    (home / "agents" / "broken.md").write_text("---\nname: b\n---\n")
    (root / ".tether" / "agents" / "explorer.md").write_text(
        "---\nname: explorer\ndescription: my own explorer\n---\nmine\n"
    )
    found, problems = load_definitions(home, [root])
    assert found["helper"].description == "from tether"
    assert found["explorer"].instructions == "mine"  # a workspace may replace a built-in
    assert "general" in found
    assert [p.split(": ", 1)[0] for p in problems] == [str(home / "agents" / "broken.md")]


def test_the_explorer_is_read_only() -> None:
    assert EXPLORER.mode == "readOnly"
    assert "apply_patch" not in EXPLORER.tool_names(["read_file", "apply_patch", "shell"])


@pytest.mark.parametrize(
    ("parent", "wanted", "runs"),
    [
        ("agent", "fullAccess", "agent"),
        ("readOnly", "agent", "readOnly"),
        ("fullAccess", "readOnly", "readOnly"),
        ("agent", None, "agent"),
    ],
)
def test_a_child_never_runs_looser_than_its_parent(
    parent: str, wanted: str | None, runs: str
) -> None:
    assert stricter(parent, wanted) == runs  # type: ignore[arg-type]
