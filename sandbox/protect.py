"""Where a protected entry must be covered so that it can be neither changed nor created.

`.git/hooks` is covered at `.git/hooks` when `.git` is a directory, but at `.git` itself when `.git`
is missing (so no repository can be made with hostile hooks) or is a file (a worktree's pointer,
which could be repointed at a hostile git directory).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ProtectedTarget:
    path: Path
    exists: bool
    is_symlink: bool = False


def protected_targets(root: Path, protected: Sequence[str]) -> list[ProtectedTarget]:
    """The paths under `root` to keep read-only, deduplicated, outermost first."""
    targets: dict[Path, ProtectedTarget] = {}
    for entry in protected:
        target = _cover_point(root, Path(entry))
        if target is not None and not any(_under(target.path, t) for t in targets):
            targets[target.path] = target
    kept = [t for t in targets.values() if not any(_strictly_under(t.path, o) for o in targets)]
    return sorted(kept, key=lambda t: len(t.path.parts))


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
            return ProtectedTarget(current, False)
        if not last and not current.is_dir():
            return ProtectedTarget(current, True)
    return ProtectedTarget(current, True)


def _under(path: Path, base: Path) -> bool:
    return path.parts[: len(base.parts)] == base.parts


def _strictly_under(path: Path, base: Path) -> bool:
    return path != base and _under(path, base)
