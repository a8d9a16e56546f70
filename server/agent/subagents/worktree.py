"""A git worktree of its own for a sub-agent defined with `isolation: worktree`.

The worktree is checked out at the workspace's HEAD in `<TETHER_HOME>-worktrees` (beside
TETHER_HOME, which is a secret path, and outside every root), so the child's edits and commands
never touch the parent's files. When the child has ended, `changes` lists what differs from HEAD
there, file by file, for the parent to propose as one `fileChange` the user reviews; then the
worktree is removed (`git worktree remove`). What the user had not committed in the workspace
is not in the worktree: the child starts from HEAD.

git runs with the environment scrubbed of credentials (`sandbox.env.scrub_env`), like hooks.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from sandbox.env import scrub_env
from server.agent.errors import ToolFailed

GIT_TIMEOUT_S = 60.0
FILE_CAP = 2_000_000
"""A file larger than this that the child changed is named in the report, not proposed."""


@dataclass(frozen=True)
class Worktree:
    top: Path
    """The workspace's git top (the repository the worktree belongs to)."""
    path: Path
    cwd: Path
    """The child's working directory: the parent's, inside the worktree."""

    def inside(self, workspace_path: Path) -> Path:
        return self.path / workspace_path.relative_to(self.top)

    def outside(self, worktree_path: Path) -> Path:
        return self.top / worktree_path.relative_to(self.path)


async def _git(*args: str, cwd: Path) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        "git",
        *args,
        cwd=cwd,
        env=scrub_env(os.environ),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), GIT_TIMEOUT_S)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        return 1, f"git {args[0]} took longer than {GIT_TIMEOUT_S:.0f} s"
    return proc.returncode or 0, out.decode("utf-8", errors="replace")


async def create_worktree(cwd: Path, home: Path, name: str) -> Worktree:
    """A detached worktree at HEAD of `cwd`'s repository; ToolFailed says why there is none."""
    if shutil.which("git") is None:
        raise ToolFailed("isolation: worktree needs git, which is not installed here.")
    code, out = await _git("rev-parse", "--show-toplevel", cwd=cwd)
    if code != 0:
        raise ToolFailed(f"isolation: worktree needs a git repository; {cwd} is in none.")
    top = Path(out.strip()).resolve()
    code, _ = await _git("rev-parse", "--verify", "--quiet", "HEAD", cwd=top)
    if code != 0:
        raise ToolFailed(
            "isolation: worktree needs a commit to start from; the repository has none."
        )
    path = home / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if home.is_symlink() or Path(os.path.realpath(home)).is_relative_to(top):
        # A link (a command may plant one when a root holds TETHER_HOME's parent) would put
        # the checkout, and the child's writable root, wherever it points.
        raise ToolFailed(
            f"isolation: worktree: {home} is a symlink or inside the repository; worktrees "
            "are made only in a real directory outside it."
        )
    code, out = await _git("worktree", "add", "--detach", str(path), "HEAD", cwd=top)
    if code != 0:
        raise ToolFailed(f"Could not make a git worktree: {out.strip()}")
    return Worktree(top, path, path / cwd.resolve().relative_to(top))


async def changes(tree: Worktree) -> tuple[list[tuple[Path, str | None]], list[str]]:
    """What the child left different from HEAD: (workspace path, new text or None for a
    deletion) per file, and notes on files that cannot be proposed (binary, too large)."""
    code, out = await _git(
        "status", "--porcelain=v1", "-z", "--untracked-files=all", "--no-renames", cwd=tree.path
    )
    if code != 0:
        return [], [f"git status failed in the worktree: {out.strip()}"]
    found: list[tuple[Path, str | None]] = []
    notes: list[str] = []
    for entry in filter(None, out.split("\0")):
        rel = entry[3:]
        source = tree.path / rel
        target = tree.top / rel
        if source.is_symlink() or (source.exists() and not source.is_file()):
            notes.append(f"{rel}: not a regular file; not proposed")
            continue
        if not source.exists():
            found.append((target, None))
            continue
        data = source.read_bytes()
        if len(data) > FILE_CAP or b"\0" in data:
            notes.append(f"{rel}: binary or larger than {FILE_CAP} bytes; not proposed")
            continue
        try:
            found.append((target, data.decode("utf-8")))
        except UnicodeDecodeError:
            notes.append(f"{rel}: not UTF-8 text; not proposed")
    return found, notes


async def remove_worktree(tree: Worktree) -> None:
    """Remove the worktree and git's record of it; never raises."""
    code, _ = await _git("worktree", "remove", "--force", str(tree.path), cwd=tree.top)
    if code != 0:
        await asyncio.to_thread(shutil.rmtree, tree.path, True)
        await _git("worktree", "prune", cwd=tree.top)
