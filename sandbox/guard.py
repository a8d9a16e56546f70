"""Protected entries survive a workspace-write command under every launcher.

bwrap keeps protected paths read-only with mounts; Landlock cannot (it grants whole trees), so the
roots are granted whole and this module enforces the protected set around each command instead,
under every launcher (under bwrap it is a second line):

- before the command, `Guard.record` keeps each protected entry of each root: the content of
  protected files, the listing and content of protected directories (they are small; past a cap
  only their size and times are kept), and that a missing one is missing. It also notes every
  `.git` and protected name found deeper down (nested repositories, `sub/.vscode`, ...).
- after it, `Guard.restore` puts back what changed, removes protected entries the command created
  and removes every new `.git` file or directory below a root, then says what it undid.
- a root that had no `.git` may get one (`git init .`): `sandbox.new_repo` keeps it through the
  allowlist (from bwrap's staging directory, or in place under Landlock); in one that had, the
  symlinks a command left where git writes through them (`logs/HEAD -> ~/.bashrc`) go;
- in every repository, rebase/cherry-pick state that would run a program when the user continues
  outside the sandbox (`exec` todo lines, a foreign merge strategy) goes (`sandbox.git_state`).

Every change is made through directory file descriptors opened with O_NOFOLLOW, so a command
that swapped a directory for a symlink cannot steer the restore outside the root.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sandbox.git_state import sanitize_sequencer_state
from sandbox.layout import is_claimed_mountpoint
from sandbox.new_repo import adopt_staged, drop_links_in_git_dir, sanitize_in_place
from sandbox.policy import (
    GIT_DIR,
    GIT_READ_ONLY,
    HOME_PROTECTED,
    PROJECT_PROTECTED,
    Policy,
    protected_cover_points,
)
from sandbox.walk import named_below

MAX_KEPT_BYTES = 16 * 1024 * 1024
"""Content kept per command, all protected files together; past it only size and times."""
MAX_FILE_BYTES = 1024 * 1024
"""A protected file larger than this is compared by size and times, not restored."""
MAX_WALK_ENTRIES = 500_000
"""Directory entries looked at when searching a root for new repositories and protected names."""

# Names protected at any depth; a directory of that name is guarded as a whole.
_ANY_DEPTH = frozenset(name for name in (*PROJECT_PROTECTED, *HOME_PROTECTED) if "/" not in name)
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


@dataclass(frozen=True)
class _Node:
    kind: str  # "file", "dir", "link" or "other"
    mode: int
    stamp: tuple[int, int, int]  # inode, size, mtime_ns: detects changes to content not kept
    data: bytes | None = None
    target: str | None = None


@dataclass
class _Budget:
    left: int = MAX_KEPT_BYTES


@dataclass(frozen=True)
class GuardReport:
    """What the guard undid after one command, one sentence per entry, for the model and user."""

    restored: tuple[str, ...] = ()
    unrestorable: tuple[str, ...] = ()

    @property
    def lines(self) -> list[str]:
        return [*self.restored, *self.unrestorable]


@dataclass
class Guard:
    """The protected state of some roots, recorded before one command."""

    points: dict[Path, tuple[Path, dict[str, _Node] | None]] = field(default_factory=lambda: {})
    """absolute point -> (its root, its tree: relative path -> node; None when it was absent)"""
    nested: dict[Path, set[tuple[str, int]]] = field(default_factory=lambda: {})
    """root -> (relative path, inode) of every `.git` and protected name below the root level"""
    parents: dict[Path, int] = field(default_factory=lambda: {})
    """each point's parent directory -> its inode when recorded (see `restore_points`)"""
    new_repositories: list[Path] = field(default_factory=lambda: [])
    """roots that had no `.git` (or only bwrap's empty mount point for one): `sandbox.new_repo`"""

    @classmethod
    def record(cls, policy: Policy, homes: Sequence[Path] = ()) -> Guard:
        guard = cls()
        budget = _Budget()
        for root in _roots(policy):
            git_dir = root / GIT_DIR
            new_repository = not os.path.lexists(git_dir) or is_claimed_mountpoint(git_dir)
            if new_repository:
                guard.new_repositories.append(root)
            for point in protected_cover_points(root, policy, homes):
                if new_repository and _under(point, git_dir):
                    continue
                if point != root and _under(point, root):
                    guard.points[point] = (root, _snapshot(root, point, budget))
            found = set(_walk_named(root))
            guard.nested[root] = found
            for relative, _inode in found:
                for point in _points_of_named(root / relative):
                    guard.points.setdefault(point, (root, _snapshot(root, point, budget)))
        for point in guard.points:
            with contextlib.suppress(OSError):
                guard.parents[point.parent] = os.stat(point.parent, follow_symlinks=False).st_ino
        return guard

    early: list[str] = field(default_factory=lambda: [])
    """What `restore_points` undid while the command still ran (sandbox.guard_watch)."""

    def restore_points(
        self, restored: list[str], unrestorable: list[str], *, existing_only: bool = False
    ) -> None:
        """Put back the recorded entries (not the search for new nested ones: that walks).
        `existing_only` leaves entries that were missing alone: while a command runs, removing
        what it just made (`git init` writing .git/config) would break legitimate work, and so
        would writing into a directory the command put in place of the recorded one (`mv .git x
        && mkdir .git && cp -r x/. .git` races the restore): such entries wait for the end."""
        for point, (root, tree) in sorted(self.points.items(), key=lambda p: len(p[0].parts)):
            if existing_only and (tree is None or not self._same_parent(point)):
                continue
            _restore_point(root, point, tree, restored, unrestorable, mid_run=existing_only)

    def _same_parent(self, point: Path) -> bool:
        try:
            now = os.stat(point.parent, follow_symlinks=False).st_ino
        except OSError:
            return False
        return self.parents.get(point.parent) == now

    def restore(self, staged: Mapping[Path, Path] | None = None) -> GuardReport:
        """Undo what the command did to protected entries; `staged` maps a root to the staging
        directory bwrap gave the command as its missing `.git` (`PrivateDirs`)."""
        restored: list[str] = list(self.early)
        unrestorable: list[str] = []
        self.restore_points(restored, unrestorable)
        for root, found in self.nested.items():
            repositories = [relative for relative, _ in found if Path(relative).name == GIT_DIR]
            if root not in self.new_repositories:
                repositories.append(GIT_DIR)
            for relative in repositories:
                restored += _drop_links_in(root, relative)
        for root in self.new_repositories:
            staging = (staged or {}).get(root)
            try:
                restored += adopt_staged(root, staging) if staging else sanitize_in_place(root)
                restored += _sequencer_state_in(root, GIT_DIR)
            except OSError as error:
                unrestorable.append(
                    f"could not check the repository the command made at {root}/.git ({error}): "
                    "check its hooks and config before running git there"
                )
        for root, before in self.nested.items():
            known = {relative for relative, _ in before}
            for relative, inode in _walk_named(root):
                if (relative, inode) in before:
                    continue
                point = root / relative
                if point in self.points:
                    continue  # restored above
                if relative in known and Path(relative).name != GIT_DIR:
                    continue  # the same name replaced: its own points were restored above
                if _remove(root, point):
                    restored.append(
                        f"the command created {_shown(root, point)}, which is protected "
                        "(a repository or a file other programs run); removed it"
                    )
        return GuardReport(tuple(restored), tuple(unrestorable))


def _drop_links_in(root: Path, relative: str) -> list[str]:
    """`sandbox.new_repo.drop_links_in_git_dir` for the repository at `root/relative`, reached
    without following symlinks (one that is no longer a directory has nothing to clean)."""
    git_fd = _open_parents(root, root / relative / "HEAD", create=False)
    if git_fd is None:
        return []
    try:
        return drop_links_in_git_dir(git_fd, relative) + sanitize_sequencer_state(git_fd, relative)
    finally:
        os.close(git_fd)


def _sequencer_state_in(root: Path, relative: str) -> list[str]:
    """`sandbox.git_state.sanitize_sequencer_state` for a repository the command made."""
    git_fd = _open_parents(root, root / relative / "HEAD", create=False)
    if git_fd is None:
        return []
    try:
        return sanitize_sequencer_state(git_fd, relative)
    finally:
        os.close(git_fd)


def _roots(policy: Policy) -> list[Path]:
    return [Path(os.path.realpath(r)) for r in policy.writable_roots if os.path.isdir(r)]


def _points_of_named(path: Path) -> list[Path]:
    """The entries to guard for a protected name found below the root level."""
    if path.name == GIT_DIR and path.is_dir() and not path.is_symlink():
        return [path / name for name in GIT_READ_ONLY]
    return [path]


def _under(path: Path, base: Path) -> bool:
    return path.parts[: len(base.parts)] == base.parts


def _shown(root: Path, point: Path) -> str:
    return str(point.relative_to(root)) if _under(point, root) else str(point)


# -- walking a root for nested repositories and protected names --------------------------------


def _walk_named(root: Path) -> Iterator[tuple[str, int]]:
    """(relative path, inode) of every `.git` and any-depth protected name below `root`,
    except the top-level `.git` (its entries are guarded as points). Does not descend into them.
    From the root's live watch when the server keeps one, else a walk (`sandbox.walk`)."""
    for relative, inode in named_below(root, MAX_WALK_ENTRIES):
        name = relative.rpartition("/")[2]
        if (name == GIT_DIR or name in _ANY_DEPTH) and relative != GIT_DIR:
            yield relative, inode


# -- recording ---------------------------------------------------------------------------------


def _snapshot(root: Path, point: Path, budget: _Budget) -> dict[str, _Node] | None:
    if is_claimed_mountpoint(point):
        return None  # bwrap's empty mount point for a missing entry: it is missing
    parent_fd = _open_parents(root, point, create=False)
    if parent_fd is None:
        return None
    try:
        return _read_tree(parent_fd, point.name, "", budget)
    finally:
        os.close(parent_fd)


def _read_tree(dir_fd: int, name: str, relative: str, budget: _Budget) -> dict[str, _Node] | None:
    node = _read_node(dir_fd, name, budget)
    if node is None:
        return None
    tree = {relative: node}
    if node.kind == "dir":
        fd = os.open(name, _DIR_FLAGS, dir_fd=dir_fd)
        try:
            for child in sorted(os.listdir(fd)):
                below = _read_tree(fd, child, f"{relative}/{child}" if relative else child, budget)
                tree.update(below or {})
        finally:
            os.close(fd)
    return tree


def _read_node(dir_fd: int, name: str, budget: _Budget) -> _Node | None:
    try:
        info = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return None
    stamp = (info.st_ino, info.st_size, info.st_mtime_ns)
    mode = stat.S_IMODE(info.st_mode)
    if stat.S_ISLNK(info.st_mode):
        return _Node("link", mode, stamp, target=os.readlink(name, dir_fd=dir_fd))
    if stat.S_ISDIR(info.st_mode):
        return _Node("dir", mode, stamp)
    if not stat.S_ISREG(info.st_mode):
        return _Node("other", mode, stamp)
    data = None
    if info.st_size <= min(MAX_FILE_BYTES, budget.left):
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=dir_fd)
        with os.fdopen(fd, "rb") as file:
            data = file.read()
        budget.left -= len(data)
    return _Node("file", mode, stamp, data=data)


# -- restoring ---------------------------------------------------------------------------------


def _restore_point(
    root: Path,
    point: Path,
    tree: dict[str, _Node] | None,
    restored: list[str],
    unrestorable: list[str],
    *,
    mid_run: bool = False,
) -> None:
    shown = _shown(root, point)
    if tree is None:
        if is_claimed_mountpoint(point):
            return  # bwrap made it to mount a mask on; the command could not write there
        if _remove(root, point):
            restored.append(f"the command created {shown}, which is protected; removed it")
        return
    parent_fd = _open_parents(root, point, create=not mid_run, fixed=restored)
    if parent_fd is None:
        if mid_run:
            return  # its directory is gone or replaced for now: the final restore sees to it
        unrestorable.append(f"could not restore {shown}: its parent directory is not reachable")
        return
    try:
        changed, lost = _restore_tree(parent_fd, point.name, "", tree)
    finally:
        os.close(parent_fd)
    if changed:
        restored.append(f"the command changed {shown}, which is protected; restored it")
    for relative in lost:
        where = f"{shown}/{relative}" if relative else shown
        unrestorable.append(
            f"the command changed {where}, which is protected, and it is too large to have been "
            "kept: check it before running git or opening it in the editor"
        )


def _restore_tree(
    dir_fd: int, name: str, relative: str, tree: dict[str, _Node]
) -> tuple[bool, list[str]]:
    """Make `name` (in `dir_fd`) match `tree` below `relative`; (anything changed, entries that
    differ but whose content was not kept)."""
    want = tree[relative]
    have = _read_node(dir_fd, name, _Budget(0))
    changed = False
    lost: list[str] = []
    if have is None or have.kind != want.kind or not _same(have, want, dir_fd, name):
        if (want.kind == "file" and want.data is None) or want.kind == "other":
            if have is None or have.stamp != want.stamp:
                lost.append(relative)
            return False, lost
        if want.kind == "file" and (have is None or have.kind == "file"):
            _replace_file(dir_fd, name, want)  # atomically: a reader never finds it missing
        else:
            if have is not None:
                _remove_at(dir_fd, name)
            _create(dir_fd, name, want)
        changed = True
    elif have.mode != want.mode and want.kind != "link":
        os.chmod(name, want.mode, dir_fd=dir_fd, follow_symlinks=False)
        changed = True
    if want.kind != "dir":
        return changed, lost
    fd = os.open(name, _DIR_FLAGS, dir_fd=dir_fd)
    try:
        prefix = f"{relative}/" if relative else ""
        wanted = {key[len(prefix) :] for key in tree if key.startswith(prefix) and key != relative}
        children = {child for child in wanted if "/" not in child}
        for extra in sorted(set(os.listdir(fd)) - children):
            _remove_at(fd, extra)
            changed = True
        for child in sorted(children):
            child_changed, child_lost = _restore_tree(fd, child, prefix + child, tree)
            changed |= child_changed
            lost += child_lost
    finally:
        os.close(fd)
    return changed, lost


def _same(have: _Node, want: _Node, dir_fd: int, name: str) -> bool:
    if want.kind == "link":
        return have.target == want.target
    if want.kind != "file" or want.data is None:
        return want.kind == "dir" or have.stamp == want.stamp
    if have.stamp[1] != len(want.data):
        return False
    fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=dir_fd)
    with os.fdopen(fd, "rb") as file:
        return file.read() == want.data


def _create(dir_fd: int, name: str, node: _Node) -> None:
    if node.kind == "dir":
        os.mkdir(name, node.mode, dir_fd=dir_fd)
        os.chmod(name, node.mode, dir_fd=dir_fd, follow_symlinks=False)
    elif node.kind == "link":
        os.symlink(node.target or "", name, dir_fd=dir_fd)
    else:
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        fd = os.open(name, flags, node.mode, dir_fd=dir_fd)
        with os.fdopen(fd, "wb") as file:
            file.write(node.data or b"")
        os.chmod(name, node.mode, dir_fd=dir_fd, follow_symlinks=False)


def _replace_file(dir_fd: int, name: str, node: _Node) -> None:
    temporary = f".{name}.tether-restore"
    _remove_at(dir_fd, temporary)
    _create(dir_fd, temporary, node)
    os.rename(temporary, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)


def _remove(root: Path, point: Path) -> bool:
    """Remove `point` without following symlinks; True when something was there."""
    parent_fd = _open_parents(root, point, create=False)
    if parent_fd is None:
        return False
    try:
        return _remove_at(parent_fd, point.name)
    finally:
        os.close(parent_fd)


def _remove_at(dir_fd: int, name: str) -> bool:
    try:
        info = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return False
    if stat.S_ISDIR(info.st_mode):
        shutil.rmtree(name, dir_fd=dir_fd)
    else:
        os.unlink(name, dir_fd=dir_fd)
    return True


def _open_parents(
    root: Path, point: Path, *, create: bool, fixed: list[str] | None = None
) -> int | None:
    """An fd of `point`'s parent, reached from `root` without following symlinks. With `create`,
    a missing parent is made and one that is not a directory (a symlink put there) is replaced;
    otherwise None is returned for either."""
    fd = os.open(root, _DIR_FLAGS)
    walked = root
    for part in point.relative_to(root).parts[:-1]:
        walked = walked / part
        try:
            next_fd = os.open(part, _DIR_FLAGS, dir_fd=fd)
        except OSError:
            if not create:
                os.close(fd)
                return None
            if _remove_at(fd, part) and fixed is not None:
                fixed.append(
                    f"the command replaced {_shown(root, walked)}, which holds protected "
                    "entries, by something that is not a directory; put a directory back"
                )
            os.mkdir(part, 0o755, dir_fd=fd)
            next_fd = os.open(part, _DIR_FLAGS, dir_fd=fd)
        os.close(fd)
        fd = next_fd
    return fd
