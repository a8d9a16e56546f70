"""Tether's tools as Claude Code names them, and updatedInput's way back."""

from __future__ import annotations

import os
from pathlib import Path

from server.hooks.claude_names import claude_inputs, claude_name, tether_args


def test_names() -> None:
    assert [claude_name(t) for t in ("shell", "read_file", "edit_file", "apply_patch")] == [
        "Bash",
        "Read",
        "Edit",
        "Write",
    ]
    assert [claude_name(t) for t in ("search", "list_dir", "update_plan")] == [
        "Grep",
        "LS",
        "TodoWrite",
    ]
    assert claude_name("mcp__github__create_issue") == "mcp__github__create_issue"


def test_inputs_and_back(tmp_path: Path) -> None:
    (read,) = claude_inputs("read_file", {"path": "a.py", "start_line": 3, "end_line": 7}, tmp_path)
    assert read == {"file_path": str(tmp_path / "a.py"), "offset": 3, "limit": 5}
    back = tether_args(
        "read_file", {"path": "a.py"}, {"file_path": "/x", "offset": 2, "limit": 3}, tmp_path
    )
    assert back == {"path": "/x", "start_line": 2, "end_line": 4}

    (bash,) = claude_inputs("shell", {"command": "ls", "timeout_s": 2.5}, tmp_path)
    assert bash == {"command": "ls", "timeout": 2500}
    assert tether_args(
        "shell", {"command": "ls", "workdir": "src"}, {"command": "ls -a"}, tmp_path
    ) == {
        "command": "ls -a",
        "workdir": "src",
    }

    (plan,) = claude_inputs(
        "update_plan", {"steps": [{"text": "a", "status": "inProgress"}]}, tmp_path
    )
    assert plan == {"todos": [{"content": "a", "status": "in_progress"}]}
    todos = {"todos": [{"content": "b", "status": "completed"}]}
    assert tether_args("update_plan", {"steps": []}, todos, tmp_path) == {
        "steps": [{"text": "b", "status": "completed"}]
    }

    (grep,) = claude_inputs("search", {"pattern": "x", "case_insensitive": True}, tmp_path)
    assert grep == {"pattern": "x", "path": str(tmp_path), "-i": True}
    assert tether_args("mcp__s__t", {"a": 1}, {"a": 2}, tmp_path) == {"a": 2}


def test_a_patch_is_one_write_per_file_with_its_new_text(tmp_path: Path) -> None:
    (tmp_path / "old.txt").write_text("one\ntwo\n")
    patch = (
        "*** Begin Patch\n*** Add File: new.txt\n+hello\n"
        "*** Update File: old.txt\n@@\n one\n-two\n+three\n*** End Patch"
    )
    writes = claude_inputs("apply_patch", {"patch": patch}, tmp_path)
    assert [(w["file_path"], w["content"]) for w in writes] == [
        (str(tmp_path / "new.txt"), "hello\n"),
        (str(tmp_path / "old.txt"), "one\nthree\n"),
    ]
    assert all(w["patch"] == patch for w in writes)
    (broken,) = claude_inputs("apply_patch", {"patch": "garbage"}, tmp_path)
    assert broken == {"file_path": "", "content": "", "patch": "garbage"}


def test_new_content_for_one_file_of_a_patch(tmp_path: Path) -> None:
    (tmp_path / "old.txt").write_text("one\ntwo\n")
    patch = (
        "*** Begin Patch\n*** Add File: new.txt\n+hello\n"
        "*** Update File: old.txt\n@@\n one\n-two\n+three\n*** End Patch"
    )
    target = str(tmp_path / "old.txt")
    args = tether_args(
        "apply_patch", {"patch": patch}, {"file_path": target, "content": "1\n2\n"}, tmp_path
    )
    writes = claude_inputs("apply_patch", args, tmp_path)
    assert [(w["file_path"], w["content"]) for w in writes] == [
        (str(tmp_path / "new.txt"), "hello\n"),
        (target, "1\n2\n"),
    ]
    elsewhere = {"file_path": str(tmp_path / "other.txt"), "content": "x"}
    assert tether_args("apply_patch", {"patch": patch}, elsewhere, tmp_path) == {"patch": patch}


def test_a_patch_naming_a_fifo_or_a_symlink_out_is_not_read(tmp_path: Path) -> None:
    """A hook's Write event is built before the edit's own checks: a FIFO it opened would hang
    the server, a symlink would show the hook a file outside the workspace."""
    workspace = tmp_path / "ws"
    workspace.mkdir()
    (tmp_path / "secret").write_text("top secret\n")
    os.mkfifo(workspace / "pipe")
    (workspace / "link").symlink_to(tmp_path / "secret")
    (workspace / "plain").write_text("top secret\n")
    for name in ("pipe", "link", "../secret", str(tmp_path / "secret"), "plain"):
        patch = f"*** Begin Patch\n*** Update File: {name}\n@@\n-top secret\n+x\n*** End Patch"
        writes = claude_inputs("apply_patch", {"patch": patch}, workspace)
        if name == "plain":  # the control: a regular file below the workspace is read
            assert [w["content"] for w in writes] == ["x\n"]
        else:
            assert [w["content"] for w in writes] == [""], name
