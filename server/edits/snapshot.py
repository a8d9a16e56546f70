"""Cheap workspace snapshots: what a shell command changed, and what the files were before.

A snapshot is a manifest of every file under a root, (size, mtime_ns, ctime_ns, inode,
mode) plus the digest of its content in the blob store, packed ~100 bytes a file
(`EntryTable`). Like git's index, a file whose stat is unchanged since the previous snapshot
keeps its digest without being read, so a walk costs a stat per file plus the files that
changed. Files modified within `RACY_WINDOW_NS` of the previous snapshot are re-read anyway,
because a write in the same clock tick can leave the stat unchanged. A whole walk is taken
once per root (`tracked` keeps it current from inotify), or around each command when the
root cannot be watched; it can record stat only and leave the reading to `tracked`.

The walk skips what `ignore.IgnoreRules` ignores (`.git`, `node_modules`, `.gitignore`d
trees): build outputs and caches are large and rebuilt, not restored. Symlinks are recorded
by target and never followed; files larger than `max_blob_bytes` are recorded by stat only
and cannot be restored.

Whatever a command leaves, a snapshot ends and never blocks: the walk (`sandbox.walk`) goes
from directory fds with O_NOFOLLOW (a directory swapped for a symlink mid-walk is not entered),
reads files through `safe_read` (a FIFO or device is skipped, never opened), skips secret paths
and names that are not UTF-8, enters a directory seen before (a bind-mount loop) only
once, and stops reading content past a byte and time budget (stat-only from then on) and
walking past an entry cap or deadline (the manifest is then `complete=False`). What it
gave up is counted in `Manifest.report`, which says so in words for the user.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
import struct
import time
from collections.abc import Iterable, Iterator, MutableMapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import BinaryIO

import msgspec

from sandbox.walk import WalkStats, walk
from server.edits.atomic import is_atomic_temp, is_stale_atomic_temp
from server.edits.blobs import BlobStore
from server.edits.ignore import ALWAYS_IGNORED, IgnoreRules, ScopedSpec, matches
from server.edits.safe_read import NotReadable, TooLarge, open_regular, read_fd

RACY_WINDOW_NS = 2_000_000_000
DEFAULT_MAX_BLOB_BYTES = 32 * 1024 * 1024


@dataclass(frozen=True)
class SnapshotLimits:
    """How much one snapshot may cost before it degrades (see the module docstring)."""

    max_entries: int = 1_000_000
    """Entries walked; past it the walk stops (memory: ~200 bytes per file kept)."""
    read_budget_bytes: int = 512 * 1024 * 1024
    """New content read per snapshot; past it files are recorded by stat only."""
    read_deadline_s: float = 20.0
    walk_deadline_s: float = 60.0
    max_depth: int = 200
    """Directories nested deeper are skipped (each level holds one open fd)."""


DEFAULT_LIMITS = SnapshotLimits()


class RootUnavailable(OSError):
    """The workspace root itself cannot be opened (deleted, unmounted, not a directory)."""


class ManifestEntry(msgspec.Struct, frozen=True, array_like=True):
    """One file's stat and content; compact (a manifest of 200,000 files stays ~20 MB in
    memory and on disk, as an array per entry)."""

    size: int
    mtime_ns: int
    ctime_ns: int
    inode: int
    mode: int
    digest: str | None = None
    """Content digest; None for a symlink or a file too large or unreadable to store."""
    link: str | None = None
    """The target, when the entry is a symlink."""

    @classmethod
    def of(
        cls, info: os.stat_result, digest: str | None = None, link: str | None = None
    ) -> ManifestEntry:
        """The entry of a file as `os.stat` (not following links) saw it."""
        return cls(
            info.st_size,
            info.st_mtime_ns,
            info.st_ctime_ns,
            info.st_ino,
            stat.S_IMODE(info.st_mode),
            digest,
            link,
        )

    def same_stat(self, other: ManifestEntry) -> bool:
        return (self.size, self.mtime_ns, self.ctime_ns, self.inode, self.mode) == (
            other.size,
            other.mtime_ns,
            other.ctime_ns,
            other.inode,
            other.mode,
        )

    def same_content(self, other: ManifestEntry) -> bool:
        if self.link is not None or other.link is not None:
            return self.link == other.link
        if self.digest is None or other.digest is None:
            return self.same_stat(other)
        return self.digest == other.digest and self.mode == other.mode


@dataclass(frozen=True)
class SnapshotReport:
    """What a snapshot gave up, counted; all zero for a snapshot that saw everything."""

    special: int = 0
    """FIFOs, sockets and devices: skipped, never opened."""
    bad_names: int = 0
    """Entries whose name is not UTF-8 (nothing on the wire could name them)."""
    unreadable: int = 0
    """Directories or files that could not be opened, or vanished mid-walk."""
    large: int = 0
    """Files over the size cap, recorded by stat only."""
    over_budget: int = 0
    """Files recorded by stat only because the snapshot's read budget was spent."""
    loops: int = 0
    """Directories reached a second time (a bind-mount loop), or nested too deep."""
    secret: int = 0
    """Secret paths (credentials) below the root, never read."""
    stopped: bool = False
    """The walk stopped early (entry cap or deadline): the manifest is incomplete."""

    def degraded(self) -> bool:
        return any(getattr(self, f.name) for f in fields(self) if f.name != "secret")

    def describe(self) -> str | None:
        """In words for the user, or None when nothing that matters was given up."""
        if not self.degraded():
            return None
        parts = [
            f"{n} {what}"
            for n, what in (
                (self.special, "FIFOs, sockets or devices skipped (never opened)"),
                (self.bad_names, "names that are not UTF-8 skipped"),
                (self.unreadable, "entries that could not be read skipped"),
                (self.large, "large files tracked by size and time only"),
                (self.over_budget, "files tracked by size and time only (read budget spent)"),
                (self.loops, "directory loops or too-deep directories not entered"),
            )
            if n
        ]
        if self.stopped:
            parts.append("the walk stopped early (too many files or too slow)")
        return (
            "What commands change here is tracked only in part: "
            + "; ".join(parts)
            + ". Undo and the turn diff may miss those files."
        )


_PACK = struct.Struct("<QqqQH")
_PLAIN, _DIGEST, _LINK = b"\x00", b"\x01", b"\x02"
_NO_DIGEST = bytes(32)


class EntryTable(MutableMapping[str, ManifestEntry]):
    """Relative path -> ManifestEntry, each kept packed in one bytes object (~100 bytes with
    its digest instead of ~400 as a struct of ints), so that a manifest of 300,000 files stays
    well under 100 MiB."""

    def __init__(self, packed: dict[str, bytes] | None = None) -> None:
        self.packed: dict[str, bytes] = packed if packed is not None else {}
        self.per_dir: dict[str, int] = {}
        """Entries directly in each directory (relative, "" for the root)."""
        for rel in self.packed:
            parent = rel.rpartition("/")[0]
            self.per_dir[parent] = self.per_dir.get(parent, 0) + 1

    def __getitem__(self, rel: str) -> ManifestEntry:
        return _unpack(self.packed[rel])

    def __setitem__(self, rel: str, entry: ManifestEntry) -> None:
        if rel not in self.packed:
            parent = rel.rpartition("/")[0]
            self.per_dir[parent] = self.per_dir.get(parent, 0) + 1
        self.packed[rel] = _pack(entry)

    def __delitem__(self, rel: str) -> None:
        del self.packed[rel]
        parent = rel.rpartition("/")[0]
        self.per_dir[parent] -= 1

    def __iter__(self) -> Iterator[str]:
        return iter(self.packed)

    def __len__(self) -> int:
        return len(self.packed)

    def __contains__(self, rel: object) -> bool:
        return rel in self.packed

    def digests(self) -> set[str]:
        return {p[1 + _PACK.size :].hex() for p in self.packed.values() if p[:1] == _DIGEST}


def _pack(entry: ManifestEntry) -> bytes:
    head = _PACK.pack(entry.size, entry.mtime_ns, entry.ctime_ns, entry.inode, entry.mode)
    if entry.link is not None:
        return _LINK + head + entry.link.encode("utf-8", "surrogateescape")
    if entry.digest is not None:
        return _DIGEST + head + bytes.fromhex(entry.digest)
    return _PLAIN + head + _NO_DIGEST  # the same size: reading it in later reuses the block


def _unpack(packed: bytes) -> ManifestEntry:
    size, mtime_ns, ctime_ns, inode, mode = _PACK.unpack_from(packed, 1)
    tail = packed[1 + _PACK.size :]
    kind = packed[:1]
    digest = tail.hex() if kind == _DIGEST else None
    link = tail.decode("utf-8", "surrogateescape") if kind == _LINK else None
    return ManifestEntry(size, mtime_ns, ctime_ns, inode, mode, digest, link)


@dataclass
class Manifest:
    """Every file under `root` (absolute) by its POSIX path relative to it."""

    root: str
    taken_at_ns: int
    entries: EntryTable = field(default_factory=EntryTable)
    dirs: set[str] = field(default_factory=set[str])
    """Every directory walked, so a revert can remove the ones a command created."""
    report: SnapshotReport = SnapshotReport()
    complete: bool = True
    """False when the walk stopped early: absences prove nothing then."""

    def write(self, out: BinaryIO) -> None:
        """Save to `out` in chunks (a 300,000-file manifest is never encoded whole at once):
        a head, then length-prefixed maps of at most `_CHUNK` entries."""
        _write_framed(out, [self.root, self.taken_at_ns, self.complete, sorted(self.dirs)])
        chunk: dict[str, bytes] = {}
        for rel, packed in self.entries.packed.items():
            chunk[rel] = packed
            if len(chunk) >= _CHUNK:
                _write_framed(out, chunk)
                chunk = {}
        _write_framed(out, chunk)

    @staticmethod
    def read(data: bytes) -> Manifest:
        """What `write` saved; raises msgspec.DecodeError when it is damaged."""
        frames = _frames(data)
        header = next(frames, None)
        if header is None:
            raise msgspec.DecodeError("empty manifest")
        root, taken_at_ns, complete, dirs = msgspec.msgpack.decode(
            header, type=tuple[str, int, bool, list[str]]
        )
        packed: dict[str, bytes] = {}
        for frame in frames:
            packed.update(msgspec.msgpack.decode(frame, type=dict[str, bytes]))
        return Manifest(root, taken_at_ns, EntryTable(packed), set(dirs), complete=complete)


_CHUNK = 10_000
_LENGTH = struct.Struct("<I")


def _write_framed(out: BinaryIO, value: object) -> None:
    encoded = msgspec.msgpack.encode(value)
    out.write(_LENGTH.pack(len(encoded)))
    out.write(encoded)


def _frames(data: bytes) -> Iterator[bytes]:
    offset = 0
    while offset < len(data):
        if offset + _LENGTH.size > len(data):
            raise msgspec.DecodeError("truncated manifest")
        (length,) = _LENGTH.unpack_from(data, offset)
        offset += _LENGTH.size
        if offset + length > len(data):
            raise msgspec.DecodeError("truncated manifest")
        yield data[offset : offset + length]
        offset += length


@dataclass(frozen=True)
class ManifestChanges:
    created: tuple[str, ...]
    modified: tuple[str, ...]
    deleted: tuple[str, ...]

    def all(self) -> tuple[str, ...]:
        return tuple(sorted((*self.created, *self.modified, *self.deleted)))


def diff_manifests(before: Manifest, after: Manifest) -> ManifestChanges:
    """Relative paths created, modified and deleted between two snapshots of one root. When
    either walk stopped early, a path missing from one side may just not have been reached:
    only modifications are reported then (recording a "creation" would let a revert delete a
    file that was there all along)."""
    old, new = before.entries, after.entries
    both = before.complete and after.complete
    return ManifestChanges(
        created=tuple(sorted(new.keys() - old.keys())) if both else (),
        modified=tuple(
            sorted(p for p in old.keys() & new.keys() if not old[p].same_content(new[p]))
        ),
        deleted=tuple(sorted(old.keys() - new.keys())) if both else (),
    )


def take_snapshot(
    root: Path,
    blobs: BlobStore,
    previous: Manifest | None = None,
    max_blob_bytes: int = DEFAULT_MAX_BLOB_BYTES,
    exclude: Iterable[Path] = (),
    secrets: Iterable[Path] = (),
    limits: SnapshotLimits = DEFAULT_LIMITS,
    *,
    read_content: bool = True,
) -> Manifest:
    """Snapshot `root`, storing contents not already known from `previous`. Directories in
    `exclude` are skipped (the blob store itself, when it lives inside the workspace), and
    so are `secrets` (files or directories, never read). Without `read_content` new files are
    recorded by stat only (their digest stays None until `tracked` reads them in the
    background). Raises RootUnavailable when the root cannot be opened."""
    walk = _Walk(root, blobs, previous, max_blob_bytes, exclude, secrets, limits)
    walk.read_content = read_content
    return walk.run()


class _Walk:
    """One snapshot's walk (`sandbox.walk.walk`), recording what `take_snapshot` keeps."""

    def __init__(
        self,
        root: Path,
        blobs: BlobStore,
        previous: Manifest | None,
        max_blob_bytes: int,
        exclude: Iterable[Path],
        secrets: Iterable[Path],
        limits: SnapshotLimits,
    ) -> None:
        self.root = root
        self.blobs = blobs
        self.reuse = previous.entries if previous and previous.root == str(root) else EntryTable()
        self.racy_after = previous.taken_at_ns - RACY_WINDOW_NS if previous else 0
        self.max_blob_bytes = max_blob_bytes
        self.real_root = os.path.realpath(root)
        self.secrets = {os.path.realpath(p) for p in secrets}
        # Compared by relative path: no join per entry of a 200,000-file walk.
        self.skip = _below(self.real_root, {os.path.realpath(p) for p in exclude})
        self.secret_rels = _below(self.real_root, self.secrets)
        self.limits = limits
        self.read_content = True
        self.rules = IgnoreRules(root)
        self.entries = EntryTable()
        self.dirs: set[str] = set()
        self.specs: dict[str, list[ScopedSpec]] = {}
        self.counts: dict[str, int] = dict.fromkeys(
            ("special", "bad_names", "unreadable", "large", "over_budget", "loops", "secret"), 0
        )
        self.read_bytes = 0
        self.started = time.monotonic()
        self.stopped = False

    def run(self) -> Manifest:
        started_ns = time.time_ns()
        if any(_is_under(self.real_root, s) for s in self.secrets):
            self.counts["secret"] += 1  # the whole root is a secret: nothing of it is read
            return self._manifest(started_ns)
        stats = WalkStats()
        self.specs[""] = self.rules.extend([], self.root, "")
        found = walk(
            self.root,
            self._descend,
            max_entries=self.limits.max_entries,
            max_depth=self.limits.max_depth,
            stats=stats,
        )
        try:
            for number, item in enumerate(found):
                if number % 256 == 0 and time.monotonic() - self.started > (
                    self.limits.walk_deadline_s
                ):
                    self.stopped = True
                    break
                self._child(item.dir_fd, item.rel, item.entry)
        except OSError as exc:
            raise RootUnavailable(
                exc.errno or 0,
                f"the workspace folder {self.root} cannot be opened ({exc.strerror}); "
                "was it deleted or unmounted?",
            ) from None
        finally:
            found.close()
        self.stopped = self.stopped or stats.stopped
        self.counts["unreadable"] += stats.unreadable
        self.counts["loops"] += stats.loops
        self.blobs.flush()
        return self._manifest(started_ns)

    def _descend(self, rel: str, _entry: os.DirEntry[str]) -> bool:
        """Called for the directories `_child` recorded: enter them, with their .gitignore."""
        if rel not in self.dirs:
            return False
        parent = self.specs[rel.rpartition("/")[0]]
        self.specs[rel] = self.rules.extend(parent, self.root / rel, rel + "/")
        return True

    def _manifest(self, started_ns: int) -> Manifest:
        report = SnapshotReport(**self.counts, stopped=self.stopped)
        return Manifest(
            str(self.root),
            started_ns,
            self.entries,
            self.dirs,
            report,
            complete=not self.stopped,
        )

    def _child(self, fd: int, rel: str, child: os.DirEntry[str]) -> None:
        """Record one entry of the directory `fd`, or note it as a directory to walk."""
        name = child.name
        if not name.isascii():
            try:
                name.encode("utf-8")
            except UnicodeEncodeError:
                self.counts["bad_names"] += 1
                return
        try:
            info = child.stat(follow_symlinks=False)
        except OSError:
            return  # removed while we walked (a command's temporary cover, say)
        if name in ALWAYS_IGNORED or is_atomic_temp(name):
            if is_stale_atomic_temp(name):  # left by a writer killed mid-write
                with contextlib.suppress(OSError):
                    os.unlink(name, dir_fd=fd)
            return
        is_dir = stat.S_ISDIR(info.st_mode)
        specs = self.specs[rel.rpartition("/")[0]]
        if specs and matches(rel, is_dir, specs):
            return
        if rel in self.secret_rels:
            self.counts["secret"] += 1
            return
        if is_dir:
            if rel not in self.skip:
                self.dirs.add(rel)
        elif stat.S_ISREG(info.st_mode) or stat.S_ISLNK(info.st_mode):
            self._record(fd, name, rel, info)
        else:
            self.counts["special"] += 1

    def _record(self, fd: int, name: str, rel: str, info: os.stat_result) -> None:
        known = self.reuse.get(rel)
        digest = link = None
        if stat.S_ISLNK(info.st_mode):
            try:
                link = os.readlink(name, dir_fd=fd)
            except OSError:
                self.counts["unreadable"] += 1
                return
        elif (
            known
            and known.digest
            and info.st_mtime_ns < self.racy_after
            and (known.size, known.mtime_ns, known.ctime_ns, known.inode, known.mode)
            == (
                info.st_size,
                info.st_mtime_ns,
                info.st_ctime_ns,
                info.st_ino,
                info.st_mode & 0o7777,
            )
        ):
            self.entries[rel] = known
            return
        elif info.st_size > self.max_blob_bytes:
            self.counts["large"] += 1
        elif not self.read_content:
            pass  # stat only: `hydrate` or the next change reads it
        elif self._budget_spent(info.st_size):
            self.counts["over_budget"] += 1
        else:
            digest = self._store(fd, name, info.st_size)
        self.entries[rel] = ManifestEntry.of(info, digest, link)

    def _budget_spent(self, size: int) -> bool:
        if self.read_bytes + size > self.limits.read_budget_bytes:
            return True
        return time.monotonic() - self.started > self.limits.read_deadline_s

    def _store(self, fd: int, name: str, size: int) -> str | None:
        """The content digest of `name` in the directory `fd`; None (stat only) when it is no
        longer a regular file, grew past the cap, or is gone."""
        digest, problem = store_content(self.blobs, fd, name, self.max_blob_bytes, bulk=True)
        if problem:
            self.counts[problem] += 1
        elif digest is not None:
            self.read_bytes += size
        return digest


def store_content(
    blobs: BlobStore,
    dir_fd: int | None,
    name: str | os.PathLike[str],
    cap: int,
    *,
    bulk: bool = False,
) -> tuple[str | None, str | None]:
    """Read a regular file (never a FIFO, a device or through a final symlink) into `blobs`:
    (its digest, None), or (None, "large" or "unreadable")."""
    try:
        file_fd, info = open_regular(name, dir_fd=dir_fd)
    except OSError:
        return None, "unreadable"
    try:
        data = read_fd(file_fd, cap, str(name), info.st_size)
    except TooLarge:
        return None, "large"
    except (NotReadable, OSError):
        return None, "unreadable"
    finally:
        os.close(file_fd)
    return blobs.put(data, bulk=bulk), None


def _below(root: str, paths: set[str]) -> set[str]:
    """The paths of `paths` below `root`, relative to it."""
    return {p[len(root) + 1 :] for p in paths if p.startswith(root.rstrip("/") + "/")}


def _is_under(path: str, base: str) -> bool:
    return path == base or path.startswith(base.rstrip("/") + "/")


def digest_of(path: Path) -> str | None:
    """The SHA-256 of a regular file's content, None if it cannot be read (a FIFO, a device
    or a symlink is not opened)."""
    try:
        fd, _info = open_regular(path)
    except OSError:
        return None
    try:
        with os.fdopen(fd, "rb") as handle:
            return hashlib.file_digest(handle, "sha256").hexdigest()
    except OSError:
        return None
