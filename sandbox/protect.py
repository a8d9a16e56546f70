"""Where the protected set (`sandbox.policy`) must be covered for one root so that a command can
neither change nor create any of it.

`protected_targets(root, entries)` places relative entries: `.git/hooks` is covered at
`.git/hooks` when `.git` is a directory, but at `.git` itself when `.git` is missing (so no
repository can be made with hostile hooks) or is a file (a worktree's pointer, which could be
repointed at a hostile git directory).

`command_targets(root, policy, homes)` is everything a launcher keeps read-only under a root:
those entries, the home start-up files and Tether's own files inside the root, and what only the
disk shows: every entry of a `.git` directory outside `GIT_WRITABLE`, and repositories and
protected names below the root (`sub/x/.git`, `docs/.vscode`), found by a bounded walk. A missing
entry of `.git` that git reads as a file gets a file placeholder (`commondir` holds ".", which
means "this directory", so git behaves as without one); other missing entries get an empty
directory.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from sandbox.policy import (
    GIT_DIR,
    GIT_READ_ONLY,
    HOME_PROTECTED,
    PROJECT_PROTECTED,
    Policy,
    git_writable,
    protected_cover_points,
)
from sandbox.walk import named_below

# Missing entries of a `.git` directory that git reads as files, and what their placeholder holds
# (git dies on a `commondir` that is a directory or empty; "." is the repository's own directory).
# Every other missing entry gets an empty directory, which git status and snapshots do not show.
GIT_FILE_PLACEHOLDERS: dict[str, bytes] = {
    "commondir": b".\n",
    "config": b"",
    "config.worktree": b"",
}

# The walk for nested repositories and protected names stops after this many directories
# (deeper ones are still found by `sandbox.guard` after the command) and skips trees that hold
# no project settings but many files.
WALK_DIR_LIMIT = 5000
_WALK_SKIP = frozenset({"node_modules", "__pycache__", ".venv", "venv", ".tox", ".mypy_cache"})
_NESTED_NAMES = frozenset(
    name.casefold() for name in (*PROJECT_PROTECTED, *HOME_PROTECTED) if "/" not in name
)


@dataclass(frozen=True)
class ProtectedTarget:
    """One path to keep read-only. `exists` false: a placeholder keeps it from being created
    (`placeholder` holds a file placeholder's bytes; None means an empty directory)."""

    path: Path
    exists: bool
    is_symlink: bool = False
    placeholder: bytes | None = None


def protected_targets(root: Path, protected: Sequence[str]) -> list[ProtectedTarget]:
    """The paths under `root` to keep read-only for relative `protected` entries, deduplicated,
    outermost first."""
    return _deduplicated(_cover_point(root, Path(entry)) for entry in protected)


def command_targets(
    root: Path, policy: Policy, homes: Sequence[Path] = (), walk_limit: int = WALK_DIR_LIMIT
) -> list[ProtectedTarget]:
    """Everything under `root` a command must not write or create (see the module docstring),
    deduplicated, outermost first."""

    def found() -> Iterator[ProtectedTarget | None]:
        for point in protected_cover_points(root, policy, homes):
            yield _cover_point(root, point.relative_to(root))
        yield from _git_entries(root / GIT_DIR)
        for nested in _walk(root, walk_limit):
            if nested.is_symlink():
                # A mount would follow it, and refusing every command over a link deep in the
                # tree (dotfiles repositories are full of them) costs too much: the guard
                # (`sandbox.guard`) puts such a link back after the command instead.
                continue
            if nested.name == GIT_DIR and nested.is_dir():
                yield from (_cover_point(root, nested.relative_to(root) / n) for n in GIT_READ_ONLY)
                yield from _git_entries(nested)
            else:
                yield _cover_point(root, nested.relative_to(root))

    return _deduplicated(found())


def _git_entries(git_dir: Path) -> Iterator[ProtectedTarget]:
    """Existing entries of a `.git` directory that commands may not write."""
    if git_dir.is_symlink() or not git_dir.is_dir():
        return
    for entry in os.scandir(git_dir):
        if not git_writable(entry.name):
            yield ProtectedTarget(Path(entry.path), True, is_symlink=entry.is_symlink())


def _walk(root: Path, limit: int) -> Iterator[Path]:
    """Entries named like a repository or a protected name below (not at) `root`, outside the
    trees of `_WALK_SKIP`: from the root's live watch, else a walk of at most `limit` entries per
    directory on average (`sandbox.walk.named_below`)."""
    for relative, _inode in named_below(root, max_entries=limit * 100):
        parts = relative.split("/")
        if len(parts) > 1 and not _WALK_SKIP.intersection(parts[:-1]):
            yield root / relative


def _cover_point(root: Path, entry: Path) -> ProtectedTarget | None:
    if entry.is_absolute() or ".." in entry.parts or not entry.parts:
        return None
    current = root
    for index, part in enumerate(entry.parts):
        current = current / part
        last = index == len(entry.parts) - 1
        if current.is_symlink():
            # Mounts follow symlinks, so a launcher cannot pin the link itself; it must refuse.
            return ProtectedTarget(current, True, is_symlink=True)
        if not current.exists():
            return ProtectedTarget(current, False, placeholder=_placeholder(current, last))
        if not last and not current.is_dir():
            return ProtectedTarget(current, True)
    return ProtectedTarget(current, True)


def _placeholder(path: Path, last: bool) -> bytes | None:
    in_git_dir = path.parent.name == GIT_DIR
    return GIT_FILE_PLACEHOLDERS.get(path.name) if last and in_git_dir else None


def _deduplicated(candidates: Iterator[ProtectedTarget | None]) -> list[ProtectedTarget]:
    targets: dict[Path, ProtectedTarget] = {}
    for target in candidates:
        if target is not None and not any(_under(target.path, t) for t in targets):
            targets[target.path] = target
    kept = [t for t in targets.values() if not any(_strictly_under(t.path, o) for o in targets)]
    return sorted(kept, key=lambda t: len(t.path.parts))


def _under(path: Path, base: Path) -> bool:
    return path.parts[: len(base.parts)] == base.parts


def _strictly_under(path: Path, base: Path) -> bool:
    return path != base and _under(path, base)
