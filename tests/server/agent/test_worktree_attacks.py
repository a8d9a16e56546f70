"""A worktree child's checkout where a planted link points: `<TETHER_HOME>-worktrees` as a
symlink (a sandboxed command can make one when a root holds TETHER_HOME's parent) is refused
before git writes anything; a real directory works (the control)."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import pytest

from server.agent.errors import ToolFailed
from server.agent.subagents.worktree import create_worktree, remove_worktree


def repo(path: Path) -> Path:
    path.mkdir()
    git = ["git", "-C", str(path), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "init", "-q"], check=True)
    (path / "a.txt").write_text("a\n")
    subprocess.run([*git, "add", "a.txt"], check=True)
    subprocess.run([*git, "commit", "-qm", "a"], check=True)
    return path


def test_a_worktree_base_that_is_a_link_is_refused(tmp_path: Path) -> None:
    top = repo(tmp_path / "ws")
    target = tmp_path / "where-the-link-points"
    target.mkdir()
    base = tmp_path / "home-worktrees"
    base.symlink_to(target)
    with pytest.raises(ToolFailed, match="symlink"):
        asyncio.run(create_worktree(top, base, "item_1"))
    assert list(target.iterdir()) == []
    inside = top / "trees"
    with pytest.raises(ToolFailed, match="inside the repository"):
        asyncio.run(create_worktree(top, inside, "item_2"))
    # The control: a real directory beside the repository.
    real = tmp_path / "real-worktrees"
    tree = asyncio.run(create_worktree(top, real, "item_3"))
    assert (tree.path / "a.txt").read_text() == "a\n"
    asyncio.run(remove_worktree(tree))
    assert not tree.path.exists()
