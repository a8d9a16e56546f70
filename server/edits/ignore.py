"""Which paths of a workspace are not its state: `.git`, `node_modules`, `.gitignore`d trees
and our own in-flight temporary files.

Snapshots skip them, and the file watcher should ignore the same paths (issue 5: it
"respects .gitignore and ignores .git internals and node_modules"), so the rules live here
once. `.gitignore` files apply at every depth, a deeper file overriding a shallower one,
and a directory that is ignored hides everything below it, as in git. Parsed files are
cached and re-read when their mtime changes.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pathspec

from server.edits.atomic import is_atomic_temp
from server.edits.safe_read import read_bounded

GITIGNORE_CAP = 1024 * 1024
ALWAYS_IGNORED = frozenset({".git", "node_modules"})

ScopedSpec = tuple[str, pathspec.PathSpec]
"""A parsed .gitignore and the relative directory (with a trailing "/", or "") it sits in."""


class IgnoreRules:
    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(os.path.abspath(root))
        self._cache: dict[Path, tuple[int, pathspec.PathSpec | None]] = {}

    def ignored(self, path: str | os.PathLike[str], is_dir: bool | None = None) -> bool:
        """Whether `path` (absolute, or relative to the root) is ignored; paths outside the
        root are not. `is_dir` is looked up on disk when not given."""
        absolute = Path(os.path.abspath(self.root / path))
        try:
            parts = absolute.relative_to(self.root).parts
        except ValueError:
            return False
        if not parts:
            return False
        if ALWAYS_IGNORED.intersection(parts) or is_atomic_temp(parts[-1]):
            return True
        specs: list[ScopedSpec] = []
        for depth, name in enumerate(parts):
            rel_dir = "".join(part + "/" for part in parts[:depth])
            specs = self.extend(specs, self.root.joinpath(*parts[:depth]), rel_dir)
            last = depth == len(parts) - 1
            directory = (absolute.is_dir() if is_dir is None else is_dir) if last else True
            if matches(rel_dir + name, directory, specs):
                return True
        return False

    def extend(self, specs: list[ScopedSpec], directory: Path, rel_dir: str) -> list[ScopedSpec]:
        """`specs` plus the .gitignore of `directory`, if it has one."""
        spec = self._spec(directory)
        return [*specs, (rel_dir, spec)] if spec is not None else specs

    def watch_filter(self) -> Callable[[object, str], bool]:
        """A `watch_filter` for `watchfiles.awatch`: True for paths worth reporting."""

        def keep(_change: object, path: str) -> bool:
            return not self.ignored(path)

        return keep

    def _spec(self, directory: Path) -> pathspec.PathSpec | None:
        file = directory / ".gitignore"
        try:
            mtime = file.stat().st_mtime_ns
        except OSError:
            self._cache.pop(directory, None)
            return None
        cached = self._cache.get(directory)
        if cached is not None and cached[0] == mtime:
            return cached[1]
        try:  # a FIFO or a huge file named .gitignore must not stall a walk
            text = read_bounded(file, GITIGNORE_CAP).decode("utf-8", errors="replace")
        except OSError:
            return None
        spec = pathspec.GitIgnoreSpec.from_lines(text.splitlines())
        self._cache[directory] = (mtime, spec)
        return spec


def matches(rel: str, is_dir: bool, specs: list[ScopedSpec]) -> bool:
    """Whether the innermost .gitignore with an opinion on `rel` ignores it."""
    ignored = False
    for base, spec in specs:
        result = spec.check_file(rel[len(base) :] + ("/" if is_dir else ""))
        if result.include is not None:
            ignored = result.include
    return ignored
