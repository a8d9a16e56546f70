"""The test hooks (tests/hooks/scripts) against Claude Code's documented contract alone: fed
the stdin Claude Code documents for the event, they give the documented exit codes and JSON.
tests/e2e/test_hooks.py runs the same scripts, unchanged, under Tether."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

SCRIPTS = Path(__file__).resolve().parent / "scripts"


def claude_event(event: str, **fields: Any) -> dict[str, Any]:
    """The common fields as the Claude Code hooks reference shows them."""
    return {
        "session_id": "abc123",
        "transcript_path": "/home/user/.claude/projects/p/abc123.jsonl",
        "cwd": "/home/user/project",
        "permission_mode": "default",
        "hook_event_name": event,
        **fields,
    }


def run(name: str, payload: dict[str, Any], env: dict[str, str] | None = None) -> Any:
    runner = ["bash"] if name.endswith(".sh") else [sys.executable]
    return subprocess.run(
        [*runner, str(SCRIPTS / name)],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        timeout=30,
        env=env,
    )


def bash(command: str) -> dict[str, Any]:
    return claude_event(
        "PreToolUse",
        tool_name="Bash",
        tool_input={"command": command, "description": "x"},
        tool_use_id="toolu_01",
    )


def test_command_validators() -> None:
    assert run("block_rm.sh", bash("rm -rf build")).returncode == 2
    assert run("block_rm.sh", bash("ls && rm -fr /")).returncode == 2
    assert run("block_rm.sh", bash("rm file.txt")).returncode == 0
    found = run("validate_bash.py", bash("grep -r TODO ."))
    assert found.returncode == 2 and "rg" in found.stderr
    assert run("validate_bash.py", bash("rg TODO")).returncode == 0


def test_formatter_after_an_edit(tmp_path: Path) -> None:
    target = tmp_path / "a.py"
    target.write_text("x = 1   \ny = 2\t\n")
    payload = claude_event(
        "PostToolUse",
        tool_name="Edit",
        tool_input={"file_path": str(target), "old_string": "x", "new_string": "x"},
        tool_response={"filePath": str(target), "success": True},
        tool_use_id="toolu_02",
    )
    assert run("format_after_edit.sh", payload).returncode == 0
    assert target.read_text() == "x = 1\ny = 2\n"


def test_prompt_context_injector(tmp_path: Path) -> None:
    (tmp_path / "NOTES.md").write_text("Use make check.")
    env = {"CLAUDE_PROJECT_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    done = run("prompt_context.py", claude_event("UserPromptSubmit", prompt="hi"), env)
    out = json.loads(done.stdout)
    assert done.returncode == 0
    assert out["hookSpecificOutput"]["additionalContext"] == "Project notes: Use make check."
    blocked = run("prompt_context.py", claude_event("UserPromptSubmit", prompt="password: x"), env)
    assert json.loads(blocked.stdout)["decision"] == "block"


def test_stop_hook_loop_guard() -> None:
    first = run("stop_until_checked.sh", claude_event("Stop", stop_hook_active=False))
    assert json.loads(first.stdout) == {
        "decision": "block",
        "reason": "Run the tests before you stop.",
    }
    again = run("stop_until_checked.sh", claude_event("Stop", stop_hook_active=True))
    assert again.returncode == 0 and again.stdout == ""
