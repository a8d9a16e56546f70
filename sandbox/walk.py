"""Walking a workspace root from directory fds, and watching it so that walks can be skipped.

One walker for the three things that look at a whole root: the server's workspace snapshots,
the guard's search for nested repositories and protected names (`sandbox.guard`), and bwrap's
list of what to cover (`sandbox.protect`). `walk` goes depth first from directory fds opened
with O_NOFOLLOW (a directory swapped for a symlink mid-walk is not entered), enters a directory
seen before (a bind-mount loop) once, holds at most `max_depth` fds, and stops past
`max_entries`; what it skipped is counted in `WalkStats`.

`TreeWatch` keeps a root's directories under inotify so that per-command work does not grow
with the workspace: it collects the relative paths that changed (`take_changes`) and keeps the
index of nested protected names (`named_below`) up to date. `sync` is a barrier: it creates a
file in a private directory watched by the same inotify instance and waits for that event;
the kernel queues events in the order the changes happened, so every change made before
`sync` was called has been seen when it returns. A watch cannot be trusted, and callers walk
instead, when: inotify is missing, the watch limit is reached (`fs.inotify.max_user_watches`,
or the `max_watches` given), or the kernel's queue overflowed (`Changes.lost`, until the next
`take_changes`), or the root (or a mount below it) is on a network, FUSE or virtio
filesystem (`remote_filesystem`): inotify reports what this machine's processes change there
(the commands included), not what another machine or the host of a VM changes, so a baseline
kept from events could be stale.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import re
import select
import struct
import sys
import tempfile
import threading
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sandbox.policy import GIT_DIR, HOME_PROTECTED, PROJECT_PROTECTED

DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
NESTED_NAMES = frozenset(
    name.casefold() for name in (GIT_DIR, *PROJECT_PROTECTED, *HOME_PROTECTED) if "/" not in name
)
"""Names the guard and bwrap look for at any depth (compared case-folded); never descended."""

Descend = Callable[[str, os.DirEntry[str]], bool]
"""Whether to enter the directory `entry` whose relative path is the first argument."""


@dataclass
class WalkStats:
    unreadable: int = 0
    loops: int = 0
    """Directories reached a second time (a bind-mount loop), or nested too deep."""
    entries: int = 0
    stopped: bool = False
    """The walk stopped at `max_entries` (or was told to): what it did not reach is unknown."""


@dataclass(frozen=True)
class Found:
    """One entry: its relative POSIX path, its DirEntry, and an fd of the directory holding it
    (valid only until the walk moves on)."""

    rel: str
    entry: os.DirEntry[str]
    dir_fd: int


def walk(
    root: str | os.PathLike[str],
    descend: Descend | None = None,
    *,
    start: str = "",
    max_entries: int = 1_000_000,
    max_depth: int = 200,
    stats: WalkStats | None = None,
) -> Generator[Found]:
    """Every entry below `root` (or below its subdirectory `start`), parents before children.
    A directory is entered when `descend` says so (all when None); stop early by closing the
    generator. Raises OSError when `root` (or `start`) itself cannot be opened."""
    stats = stats if stats is not None else WalkStats()
    top = os.open(os.path.join(root, start) if start else root, DIR_FLAGS)
    info = os.fstat(top)
    seen = {(info.st_dev, info.st_ino)}
    prefix = start.rstrip("/") + "/" if start else ""
    stack: list[tuple[int, str, Iterator[os.DirEntry[str]]]] = []
    try:
        stack.append((top, prefix, _listing(top, stats)))
        while stack:
            fd, rel_dir, listing = stack[-1]
            entry = next(listing, None)
            if entry is None:
                os.close(fd)
                stack.pop()
                continue
            stats.entries += 1
            if stats.entries > max_entries:
                stats.stopped = True
                return
            rel = rel_dir + entry.name
            yield Found(rel, entry, fd)
            if not _is_dir(entry) or (descend is not None and not descend(rel, entry)):
                continue
            if len(stack) >= max_depth:
                stats.loops += 1
                continue
            child = _open_child(fd, entry.name, seen, stats)
            if child is not None:
                stack.append((child, rel + "/", _listing(child, stats)))
    finally:
        for fd, *_rest in stack:
            with contextlib.suppress(OSError):
                os.close(fd)


def _listing(fd: int, stats: WalkStats) -> Iterator[os.DirEntry[str]]:
    """A directory's entries as they are read (100,000 of them are never held at once); a
    read error (the directory removed under us) ends it early."""
    try:
        with os.scandir(fd) as listing:
            yield from listing
    except OSError:
        stats.unreadable += 1


def _is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir(follow_symlinks=False)
    except OSError:
        return False


def _open_child(parent: int, name: str, seen: set[tuple[int, int]], stats: WalkStats) -> int | None:
    try:
        fd = os.open(name, DIR_FLAGS, dir_fd=parent)
    except OSError:  # gone, unreadable, or swapped for a symlink since it was listed
        stats.unreadable += 1
        return None
    info = os.fstat(fd)
    identity = (info.st_dev, info.st_ino)
    if identity in seen:
        os.close(fd)
        stats.loops += 1
        return None
    seen.add(identity)
    return fd


def is_nested_name(name: str) -> bool:
    return name.casefold() in NESTED_NAMES


def _not_named(_rel: str, entry: os.DirEntry[str]) -> bool:
    return not is_nested_name(entry.name)


def named_below(root: Path, max_entries: int = 1_000_000) -> list[tuple[str, int]]:
    """(relative path, inode) of every entry below `root` whose name is in `NESTED_NAMES`
    (compared case-folded), without descending into them: from the root's `TreeWatch` when
    one is live (after a `sync`), else by a walk of at most `max_entries` entries."""
    watch = watching(root)
    if watch is not None:
        named = watch.named_now()
        if named is not None:
            return _with_inodes(root, named)
    found: list[tuple[str, int]] = []
    with contextlib.suppress(OSError):
        for item in walk(root, _not_named, max_entries=max_entries):
            if is_nested_name(item.entry.name):
                with contextlib.suppress(OSError):
                    found.append((item.rel, item.entry.inode()))
    return found


def _with_inodes(root: Path, rels: set[str]) -> list[tuple[str, int]]:
    found: list[tuple[str, int]] = []
    for rel in sorted(rels):
        with contextlib.suppress(OSError):
            found.append((rel, os.lstat(root / rel).st_ino))
    return found


# -- watching ------------------------------------------------------------------------------

_IN_MODIFY, _IN_ATTRIB, _IN_CLOSE_WRITE = 0x2, 0x4, 0x8
_IN_MOVED_FROM, _IN_MOVED_TO, _IN_CREATE, _IN_DELETE = 0x40, 0x80, 0x100, 0x200
_IN_DELETE_SELF, _IN_MOVE_SELF = 0x400, 0x800
_IN_Q_OVERFLOW, _IN_IGNORED, _IN_ISDIR = 0x4000, 0x8000, 0x40000000
_IN_ONLYDIR, _IN_DONT_FOLLOW = 0x01000000, 0x02000000
_MASK = (
    _IN_MODIFY | _IN_ATTRIB | _IN_CLOSE_WRITE | _IN_MOVED_FROM | _IN_MOVED_TO | _IN_CREATE
    | _IN_DELETE | _IN_DELETE_SELF | _IN_MOVE_SELF | _IN_ONLYDIR | _IN_DONT_FOLLOW
)  # fmt: skip
_EVENT = struct.Struct("iIII")
SYNC_TIMEOUT_S = 10.0
MAX_PENDING = 500_000
"""Changed paths one consumer may leave untaken; past it they count as lost."""


@dataclass
class Changes:
    """What changed below a root since the previous `take_changes`."""

    paths: set[str] = field(default_factory=set[str])
    """Relative paths with an event: files and directories created, written, chmodded, removed
    or renamed (both names), and every entry of a directory that appeared (moved in, made)."""
    lost: bool = False
    """Events were lost (queue overflow, or the watch failed): anything may have changed."""


class TreeWatch:
    """inotify over every directory of a root but those with nested protected names (see the
    module docstring). Start it, then `sync` before each `take_changes`."""

    def __init__(self, root: Path, max_watches: int | None = None) -> None:
        self.root = root
        self.max_watches = max_watches if max_watches is not None else _watch_limit()
        self.blind: str | None = None
        """Why this watch cannot be trusted (for good); None while it can."""
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._sinks: dict[int, Changes] = {0: Changes()}
        """What each consumer has not taken yet (0: the snapshots; see `subscribe`)."""
        self._named: set[str] = set()
        self._by_wd: dict[int, str] = {}
        self._by_rel: dict[str, int] = {}
        self._fd = -1
        self._libc: ctypes.CDLL | None = None
        self._barrier_dir = ""
        self._barrier_wd = -1
        self._sent = 0
        self._seen = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.users = 0

    def start(self) -> None:
        """Watch every directory (one walk); on failure `blind` says why."""
        if sys.platform != "linux":
            self.blind = "file change events are not available on this system"
            return
        remote = remote_filesystem(self.root)
        if remote is not None:
            point, kind = remote
            self.blind = (
                f"{point} is a {kind} filesystem, where changes made from another machine "
                "raise no file change events"
            )
            return
        self._libc = ctypes.CDLL(None, use_errno=True)
        self._fd = self._libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        if self._fd < 0:
            self.blind = f"inotify is not available ({os.strerror(ctypes.get_errno())})"
            return
        self._barrier_dir = tempfile.mkdtemp(prefix="tether-watch-")
        self._barrier_wd = self._add(self._barrier_dir, _IN_CREATE | _IN_ONLYDIR)
        with self._lock:
            self._add_tree("", mark=False)
        if self.blind is not None:
            self.close()
            return
        self._thread = threading.Thread(target=self._run, name="tether-tree-watch", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(2.0)
        if self._fd >= 0:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = -1
        if self._barrier_dir:
            with contextlib.suppress(OSError):
                os.rmdir(self._barrier_dir)
        with self._cond:
            self._cond.notify_all()

    @property
    def watched_dirs(self) -> int:
        return len(self._by_rel)

    def sync(self, timeout: float = SYNC_TIMEOUT_S) -> bool:
        """Wait until every change made before this call has been seen; False when the watch
        cannot be trusted (blind, or the barrier did not come back in time)."""
        if self.blind is not None or self._fd < 0:
            return False
        with self._lock:
            self._sent += 1
            ticket = self._sent
        name = os.path.join(self._barrier_dir, f"b{ticket}")
        try:
            os.close(os.open(name, os.O_CREAT | os.O_WRONLY | os.O_CLOEXEC, 0o600))
            os.unlink(name)
        except OSError as exc:
            self.blind = f"the watch's own barrier could not be written ({exc.strerror})"
            return False
        with self._cond:
            self._cond.wait_for(lambda: self._seen >= ticket or self.blind is not None, timeout)
            return self._seen >= ticket and self.blind is None

    def subscribe(self) -> int:
        """A consumer of its own (`take_changes(consumer)`), e.g. the between-turns summary."""
        with self._lock:
            consumer = max(self._sinks) + 1
            self._sinks[consumer] = Changes()
            return consumer

    def take_changes(self, consumer: int = 0) -> Changes:
        """The changes seen since this consumer's last call (call `sync` first)."""
        with self._lock:
            changes, self._sinks[consumer] = self._sinks[consumer], Changes()
        if self.blind is not None:
            changes.lost = True
        return changes

    def named_now(self) -> set[str] | None:
        """Relative paths of the nested protected names, current as of now; None when the
        watch cannot be trusted (walk instead)."""
        if not self.sync():
            return None
        with self._lock:
            if self._sinks[0].lost:
                return None
            return set(self._named)

    # -- the reader thread and what it keeps --------------------------------------------------

    def _add(self, path: str, mask: int = _MASK) -> int:
        assert self._libc is not None
        if self.max_watches is not None and len(self._by_rel) >= self.max_watches:
            self.blind = f"more than {self.max_watches} directories to watch (Tether's limit)"
            return -1
        wd = self._libc.inotify_add_watch(self._fd, os.fsencode(path), mask)
        if wd < 0:
            error = ctypes.get_errno()
            if error == errno.ENOSPC:
                limit = _read_limit()
                self.blind = "the inotify watch limit was reached" + (
                    f" (fs.inotify.max_user_watches = {limit})" if limit else ""
                )
        return wd

    def _add_tree(self, start: str, *, mark: bool) -> None:
        """Watch `start` (relative, "" for the root) and every directory below it; with `mark`,
        every entry found counts as changed (it appeared before its directory was watched)."""
        top = str(self.root / start) if start else str(self.root)
        if start and is_nested_name(start.rpartition("/")[2]):
            self._named.add(start)
            return
        wd = self._add(top)
        if wd < 0:
            return
        self._map(wd, start)
        try:
            for item in walk(self.root, _not_named, start=start):
                if self.blind is not None:
                    return
                if mark:
                    self._changed(item.rel)
                if is_nested_name(item.entry.name):
                    self._named.add(item.rel)
                elif _is_dir(item.entry):
                    child = self._add(os.path.join(self.root, item.rel))
                    if child >= 0:
                        self._map(child, item.rel)
        except OSError:
            return  # gone again already: its removal event follows

    def _map(self, wd: int, rel: str) -> None:
        old = self._by_wd.get(wd)
        if old is not None and self._by_rel.get(old) == wd:
            del self._by_rel[old]
        self._by_wd[wd] = rel
        self._by_rel[rel] = wd

    def _forget_tree(self, rel: str) -> None:
        """A directory moved away or removed: drop its watches and its names' index."""
        assert self._libc is not None
        prefix = rel + "/"
        for path in [p for p in self._by_rel if p == rel or p.startswith(prefix)]:
            wd = self._by_rel.pop(path)
            self._by_wd.pop(wd, None)
            self._libc.inotify_rm_watch(self._fd, wd)
        self._named = {n for n in self._named if n != rel and not n.startswith(prefix)}

    def _run(self) -> None:
        buffer = b""
        while not self._stop.is_set():
            try:
                ready, _, _ = select.select([self._fd], [], [], 0.2)
                if not ready:
                    continue
                buffer += os.read(self._fd, 1 << 20)
            except (BlockingIOError, InterruptedError):
                continue
            except (OSError, ValueError):
                break
            with self._cond:
                buffer = self._handle(buffer)
                self._cond.notify_all()

    def _handle(self, buffer: bytes) -> bytes:
        offset = 0
        while offset + _EVENT.size <= len(buffer):
            wd, mask, _cookie, length = _EVENT.unpack_from(buffer, offset)
            end = offset + _EVENT.size + length
            if end > len(buffer):
                break
            name = os.fsdecode(buffer[offset + _EVENT.size : end].rstrip(b"\0"))
            offset = end
            self._event(wd, mask, name)
        return buffer[offset:]

    def _event(self, wd: int, mask: int, name: str) -> None:
        if mask & _IN_Q_OVERFLOW:
            self._lost()
            return
        if wd == self._barrier_wd:
            if name.startswith("b") and name[1:].isdigit():
                self._seen = max(self._seen, int(name[1:]))
            return
        if mask & _IN_IGNORED:
            rel = self._by_wd.pop(wd, None)
            if rel is not None and self._by_rel.get(rel) == wd:
                del self._by_rel[rel]
            return
        base = self._by_wd.get(wd)
        if base is None:
            return  # a directory we stopped watching
        if mask & (_IN_DELETE_SELF | _IN_MOVE_SELF):
            if base:
                self._changed(base)
            return
        rel = f"{base}/{name}" if base else name
        self._changed(rel)
        if mask & _IN_MOVED_FROM and mask & _IN_ISDIR:
            self._forget_tree(rel)  # still watched where it went: stop; MOVED_TO adds it back
        elif mask & (_IN_DELETE | _IN_MOVED_FROM):
            prefix = rel + "/"  # a removed directory's watches end by themselves (IN_IGNORED)
            self._named = {n for n in self._named if n != rel and not n.startswith(prefix)}
        elif mask & (_IN_CREATE | _IN_MOVED_TO):
            if is_nested_name(name):
                self._named.add(rel)
            elif mask & _IN_ISDIR:
                self._add_tree(rel, mark=True)
        if self.blind is not None:
            self._lost()
            self._stop.set()

    def _changed(self, rel: str) -> None:
        for sink in self._sinks.values():
            if len(sink.paths) >= MAX_PENDING:
                sink.lost, sink.paths = True, set()  # cheaper to walk than to remember
            sink.paths.add(rel)

    def _lost(self) -> None:
        for sink in self._sinks.values():
            sink.lost = True


REMOTE_TYPES = frozenset(
    {"nfs", "nfs4", "cifs", "smb3", "smbfs", "9p", "ceph", "glusterfs", "afs", "lustre", "gpfs"}
    | {"virtiofs", "vboxsf", "vmhgfs", "beegfs", "ocfs2", "gfs2", "orangefs"}
)
"""Filesystem types another machine (or a VM's host) can write to: inotify misses those writes."""
LOCAL_FUSE = frozenset(
    {"fuse-overlayfs", "fuse.fuse-overlayfs", "fuseblk", "fuse.bindfs", "fuse.gocryptfs"}
    | {"fuse.encfs"}
)
"""FUSE filesystems with no writer but this machine (rootless containers' storage, NTFS
disks, bind and encryption layers over a local directory)."""
_OCTAL = re.compile(r"\\([0-7]{3})")


def remote_filesystem(root: Path, mountinfo: str | None = None) -> tuple[str, str] | None:
    """(mount point, type) of the mount holding `root`, or one below it, whose filesystem is
    network, FUSE (but `LOCAL_FUSE`) or a VM's shared folder; None when every one is local.
    `mountinfo` is the text of /proc/self/mountinfo (read when None)."""
    if mountinfo is None:
        try:
            mountinfo = Path("/proc/self/mountinfo").read_text()
        except OSError:
            return None
    real = os.path.realpath(root).rstrip("/") or "/"
    holding, holding_type = "", ""
    for line in mountinfo.splitlines():
        fields = line.split()
        if "-" not in fields or len(fields) < 5:
            continue
        point = _OCTAL.sub(lambda m: chr(int(m.group(1), 8)), fields[4])  # \040: a space
        kind = fields[fields.index("-") + 1]
        inside = point == real or point.startswith(real.rstrip("/") + "/")
        holds = real == point or real.startswith(point.rstrip("/") + "/")
        if inside and point != real and _is_remote(kind):
            return point, kind
        if holds and len(point) >= len(holding):
            holding, holding_type = point, kind
    if holding and _is_remote(holding_type):
        return holding, holding_type
    return None


def _is_remote(kind: str) -> bool:
    if kind in LOCAL_FUSE:
        return False
    return kind in REMOTE_TYPES or kind == "fuse" or kind.startswith("fuse.")


def _watch_limit() -> int | None:
    """`TETHER_WATCH_LIMIT`: directories one root's watch may hold before it gives up and
    each command walks the root instead (default: as many as the kernel allows)."""
    try:
        return int(os.environ["TETHER_WATCH_LIMIT"])
    except (KeyError, ValueError):
        return None


def _read_limit() -> str | None:
    try:
        return Path("/proc/sys/fs/inotify/max_user_watches").read_text().strip()
    except OSError:
        return None


# -- one watch per root, shared by the server's snapshots and the sandbox's guard -------------

_WATCHES: dict[str, TreeWatch] = {}
_WATCHES_LOCK = threading.Lock()


def share_watch(root: Path, max_watches: int | None = None) -> TreeWatch:
    """The root's watch, started on first use; pair with `release_watch`."""
    key = os.path.realpath(root)
    with _WATCHES_LOCK:
        watch = _WATCHES.get(key)
        if watch is None or watch.blind is not None:
            watch = TreeWatch(Path(key), max_watches)
            watch.start()
            _WATCHES[key] = watch
        watch.users += 1
        return watch


def release_watch(watch: TreeWatch) -> None:
    with _WATCHES_LOCK:
        watch.users -= 1
        if watch.users <= 0:
            if _WATCHES.get(str(watch.root)) is watch:
                del _WATCHES[str(watch.root)]
            watch.close()


def watching(root: Path) -> TreeWatch | None:
    """The live watch of `root`, if something keeps one."""
    with _WATCHES_LOCK:
        watch = _WATCHES.get(os.path.realpath(root))
    return watch if watch is not None and watch.blind is None else None
