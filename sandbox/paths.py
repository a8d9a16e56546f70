"""Path checks for the backend's own file tools, applied before a path is read or written.

Every path is resolved with realpath first. Reaching outside the workspace roots is not refused
here (the approval layer asks the user, PROTOCOL.md section 6), but a path that *looks* inside the
roots and resolves outside them is an escape trick and raises `PathDenied`: `..`, a symlink, a hard
link, `/proc/<pid>/root`-style aliases, or another spelling (case) of a workspace path.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sandbox.policy import Policy, homes_of, is_protected, secret_paths_for


class PathDenied(Exception):
    """A path was refused; the message is written for the model and says what to do instead."""


@dataclass(frozen=True)
class PathVerdict:
    """Where a requested path really leads, for the approval layer to decide on.

    `path` is the realpath to use from now on. `root` is the workspace root holding it (None when
    outside every root); `protected` names the protected entry it falls under (".git", ".vscode",
    ...) as given or as resolved: a `.vscode` that is a symlink to `tools/vscode` is protected
    either way. `secret` is true under a secret path such as ~/.ssh.
    """

    path: Path
    requested: Path
    root: Path | None
    protected: str | None
    secret: bool

    @property
    def inside_roots(self) -> bool:
        return self.root is not None


def resolve_for_read(
    path: str | os.PathLike[str], *, cwd: Path, policy: Policy, homes: Sequence[Path] | None = None
) -> PathVerdict:
    """Resolve a path the file tools will read; raises PathDenied on escape tricks."""
    return _resolve(path, cwd=cwd, policy=policy, homes=homes)


def resolve_for_write(
    path: str | os.PathLike[str], *, cwd: Path, policy: Policy, homes: Sequence[Path] | None = None
) -> PathVerdict:
    """Resolve a path the file tools will write, create or delete; raises PathDenied on tricks."""
    verdict = _resolve(path, cwd=cwd, policy=policy, homes=homes)
    if verdict.path.is_dir():
        raise PathDenied(f"{verdict.requested} is a directory; give the path of a file to write.")
    return verdict


def _resolve(
    path: str | os.PathLike[str], *, cwd: Path, policy: Policy, homes: Sequence[Path] | None
) -> PathVerdict:
    if "\0" in os.fspath(path):
        raise PathDenied("The path contains a NUL byte; give a plain file path.")
    if not cwd.is_absolute():
        raise ValueError(f"cwd must be absolute, got {cwd}")
    requested = Path(os.path.join(cwd, os.fspath(path)))
    _refuse_proc_alias(requested, requested)
    real = Path(os.path.realpath(requested))
    _refuse_proc_alias(real, requested)
    roots = [Path(os.path.realpath(root)) for root in policy.roots]
    real_root = _containing_root(real, roots)
    if real_root is None:
        if _containing_root(requested, [*policy.roots, *roots]) is not None:
            raise PathDenied(_escape_message(requested, real))
        alias_root = _root_by_identity(real, roots)
        if alias_root is not None:
            canonical = alias_root / _tail_below_identity(real, alias_root)
            raise PathDenied(
                f"{requested} names a workspace file under another spelling (letter case or an "
                f"alias); use the canonical path {canonical}."
            )
        protected = None
    else:
        _refuse_hard_link(real, requested)
        protected = (
            is_protected(real_root, real.relative_to(real_root), policy)
            or _as_given(Path(os.path.normpath(requested)), policy)
            or _behind_protected_link(real, real_root, policy)
        )
    secrets = [
        Path(os.path.realpath(p))
        for p in secret_paths_for(policy, tuple(homes) if homes is not None else homes_of())
    ]
    secret = any(_is_under(real, s) for s in secrets)
    return PathVerdict(real, requested, real_root, protected, secret)


def _is_under(path: Path, base: Path) -> bool:
    return path.parts[: len(base.parts)] == base.parts


def _containing_root(path: Path, roots: Sequence[Path]) -> Path | None:
    return next((root for root in roots if _is_under(path, root)), None)


def _refuse_proc_alias(path: Path, requested: Path) -> None:
    # /proc/<pid>/{root,cwd,fd,...} and /dev/fd re-enter the filesystem from another angle and
    # change meaning with the process that opens them; no file tool needs them.
    if len(path.parts) > 1 and path.parts[1] == "proc":
        raise PathDenied(
            f"{requested} goes through /proc, which aliases other paths; use the real file path."
        )


def _escape_message(requested: Path, real: Path) -> str:
    if ".." in requested.parts:
        how = "its '..' components lead"
    else:
        link = _first_symlink(requested)
        how = f"the symlink {link} leads" if link else "it leads"
    return (
        f"{requested} looks like a workspace path but {how} outside the workspace, to {real}. "
        "Use the real path; reaching outside the workspace needs the user's approval."
    )


def _first_symlink(path: Path) -> Path | None:
    current = Path(path.anchor)
    for part in path.parts[1:]:
        current = current / part
        if current.is_symlink():
            return current
    return None


def _refuse_hard_link(real: Path, requested: Path) -> None:
    try:
        info = real.lstat()
    except OSError:
        return
    if stat.S_ISREG(info.st_mode) and info.st_nlink > 1:
        raise PathDenied(
            f"{requested} has {info.st_nlink} hard links, so it may be the same file as one "
            "outside the workspace. Copy it to a new file (e.g. `cp` it) and work on the copy."
        )


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        info = path.stat()
    except OSError:
        return None
    return (info.st_dev, info.st_ino)


def _root_by_identity(real: Path, roots: Sequence[Path]) -> Path | None:
    """The root that is the same directory as an ancestor of `real` under another spelling."""
    wanted = {ident: root for root in roots if (ident := _identity(root)) is not None}
    for ancestor in [real, *real.parents]:
        ident = _identity(ancestor)
        if ident is not None and ident in wanted:
            return wanted[ident]
    return None


def _tail_below_identity(real: Path, root: Path) -> Path:
    root_ident = _identity(root)
    for ancestor in [real, *real.parents]:
        if _identity(ancestor) == root_ident:
            return real.relative_to(ancestor)
    return Path()


def _behind_protected_link(real: Path, root: Path, policy: Policy) -> str | None:
    """The protected name at the root that is a symlink leading to (an ancestor of) `real`:
    with `.vscode -> tools/vscode`, `tools/vscode/tasks.json` is what the editor runs."""
    try:
        entries = [e for e in os.scandir(root) if e.is_symlink()]
    except OSError:
        return None
    for entry in entries:
        name = is_protected(root, entry.name, policy)
        if name is not None and _is_under(real, Path(os.path.realpath(entry.path))):
            return name
    return None


def _as_given(requested: Path, policy: Policy) -> str | None:
    """The protected entry the path falls under as spelled (symlinks not followed)."""
    for root in dict.fromkeys([*policy.roots, *(Path(os.path.realpath(r)) for r in policy.roots)]):
        if _is_under(requested, root) and requested != root:
            return is_protected(root, requested.relative_to(root), policy)
    return None
