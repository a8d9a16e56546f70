"""Where protected entries are covered, including the ones that do not exist yet."""

from __future__ import annotations

from pathlib import Path

from sandbox.protect import ProtectedTarget, protected_targets


def test_existing_entries_are_covered_where_they_are(tmp_path: Path) -> None:
    (tmp_path / ".git" / "hooks").mkdir(parents=True)
    (tmp_path / ".git" / "config").write_text("")
    targets = protected_targets(tmp_path, [".git/hooks", ".git/config"])
    assert targets == [
        ProtectedTarget(tmp_path / ".git" / "hooks", True),
        ProtectedTarget(tmp_path / ".git" / "config", True),
    ]


def test_missing_repository_is_covered_at_dot_git(tmp_path: Path) -> None:
    targets = protected_targets(tmp_path, [".git/hooks", ".git/config", ".vscode"])
    assert targets == [
        ProtectedTarget(tmp_path / ".git", False),
        ProtectedTarget(tmp_path / ".vscode", False),
    ]


def test_worktree_pointer_file_is_covered_itself(tmp_path: Path) -> None:
    (tmp_path / ".git").write_text("gitdir: /elsewhere\n")
    assert protected_targets(tmp_path, [".git/hooks"]) == [ProtectedTarget(tmp_path / ".git", True)]


def test_symlinked_entry_is_flagged(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / ".vscode").symlink_to(tmp_path / "real")
    [target] = protected_targets(tmp_path, [".vscode"])
    assert target.is_symlink


def test_nested_duplicates_and_bad_entries_are_dropped(tmp_path: Path) -> None:
    (tmp_path / ".tether").mkdir()
    targets = protected_targets(tmp_path, [".tether", ".tether/rules.toml", "../x", "/abs", ""])
    assert targets == [ProtectedTarget(tmp_path / ".tether", True)]
