"""Cheap workspace snapshots: what a shell command changed, and what the files were before.

A snapshot is a manifest of every file under a root, (size, mtime_ns, ctime_ns, inode,
mode) plus the digest of its content in the blob store. Like git's index, a file whose
stat is unchanged since the previous snapshot keeps its digest without being read, so a
snapshot before each command costs a directory walk plus the files that changed. Files
modified within `RACY_WINDOW_NS` of the previous snapshot are re-read anyway, because a
write in the same clock tick can leave the stat unchanged.

The walk skips what `ignore.IgnoreRules` ignores (`.git`, `node_modules`, `.gitignore`d
trees): build outputs and caches are large and rebuilt, not restored. Symlinks are recorded
by target and never followed; files larger than `max_blob_bytes` are recorded by stat only
and cannot be restored.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
import time
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

from server.edits.atomic import is_atomic_temp, is_stale_atomic_temp
from server.edits.blobs import BlobStore
from server.edits.ignore import ALWAYS_IGNORED, IgnoreRules, ScopedSpec, matches

RACY_WINDOW_NS = 2_000_000_000
DEFAULT_MAX_BLOB_BYTES = 32 * 1024 * 1024


@dataclass(frozen=True)
class ManifestEntry:
    size: int
    mtime_ns: int
    ctime_ns: int
    inode: int
    mode: int
    digest: str | None = None
    """Content digest; None for a symlink or a file too large or unreadable to store."""
    link: str | None = None
    """The target, when the entry is a symlink."""

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
class Manifest:
    """Every file under `root` (absolute) by its POSIX path relative to it."""

    root: str
    taken_at_ns: int
    entries: dict[str, ManifestEntry] = field(default_factory=dict[str, ManifestEntry])
    dirs: frozenset[str] = frozenset()
    """Every directory walked, so a revert can remove the ones a command created."""


@dataclass(frozen=True)
class ManifestChanges:
    created: tuple[str, ...]
    modified: tuple[str, ...]
    deleted: tuple[str, ...]

    def all(self) -> tuple[str, ...]:
        return tuple(sorted((*self.created, *self.modified, *self.deleted)))


def diff_manifests(before: Manifest, after: Manifest) -> ManifestChanges:
    """Relative paths created, modified and deleted between two snapshots of one root."""
    old, new = before.entries, after.entries
    return ManifestChanges(
        created=tuple(sorted(new.keys() - old.keys())),
        modified=tuple(
            sorted(p for p in old.keys() & new.keys() if not old[p].same_content(new[p]))
        ),
        deleted=tuple(sorted(old.keys() - new.keys())),
    )


def take_snapshot(
    root: Path,
    blobs: BlobStore,
    previous: Manifest | None = None,
    max_blob_bytes: int = DEFAULT_MAX_BLOB_BYTES,
    exclude: Iterable[Path] = (),
) -> Manifest:
    """Snapshot `root`, storing contents not already known from `previous`. Directories in
    `exclude` are skipped: the blob store itself, when it lives inside the workspace."""
    started = time.time_ns()
    reuse = previous.entries if previous and previous.root == str(root) else {}
    racy_after = previous.taken_at_ns - RACY_WINDOW_NS if previous else 0
    entries: dict[str, ManifestEntry] = {}
    files, dirs = _walk(root, {os.path.abspath(p) for p in exclude})
    for rel, info in files:
        entry = _stat_entry(info)
        known = reuse.get(rel)
        if stat.S_ISLNK(info.st_mode):
            entry = replace(entry, link=os.readlink(root / rel))
        elif known and known.same_stat(entry) and known.digest and entry.mtime_ns < racy_after:
            entry = known
        elif entry.size <= max_blob_bytes:
            entry = replace(entry, digest=_store(root / rel, blobs))
        entries[rel] = entry
    return Manifest(str(root), started, entries, frozenset(dirs))


def _stat_entry(info: os.stat_result) -> ManifestEntry:
    return ManifestEntry(
        size=info.st_size,
        mtime_ns=info.st_mtime_ns,
        ctime_ns=info.st_ctime_ns,
        inode=info.st_ino,
        mode=stat.S_IMODE(info.st_mode),
    )


def _store(path: Path, blobs: BlobStore) -> str | None:
    try:
        data = path.read_bytes()
    except OSError:
        return None  # unreadable or gone mid-walk: recorded by stat only
    return blobs.put(data)


def digest_of(path: Path) -> str | None:
    """The SHA-256 of a regular file's content, None if it cannot be read."""
    try:
        with path.open("rb") as handle:
            return hashlib.file_digest(handle, "sha256").hexdigest()
    except OSError:
        return None


def _walk(root: Path, exclude: set[str]) -> tuple[list[tuple[str, os.stat_result]], list[str]]:
    """(relative POSIX path, lstat) of regular files and symlinks, and the relative paths
    of directories, honouring ignores."""
    rules = IgnoreRules(root)
    found: list[tuple[str, os.stat_result]] = []
    dirs: list[str] = []
    stack: list[tuple[Path, str, list[ScopedSpec]]] = [(root, "", [])]
    while stack:
        directory, rel_dir, specs = stack.pop()
        specs = rules.extend(specs, directory, rel_dir)
        try:
            children = list(os.scandir(directory))
        except OSError:
            continue  # unreadable directory: nothing of it can be restored either
        for child in children:
            rel = f"{rel_dir}{child.name}"
            try:
                info = child.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue  # removed while we walked (a command's temporary cover, say)
            is_dir = stat.S_ISDIR(info.st_mode)
            if child.name in ALWAYS_IGNORED or is_atomic_temp(child.name):
                if is_stale_atomic_temp(child.name):  # left by a writer killed mid-write
                    with contextlib.suppress(OSError):
                        os.unlink(child.path)
                continue
            if matches(rel, is_dir, specs):
                continue
            if is_dir and child.path in exclude:
                continue
            if is_dir:
                dirs.append(rel)
                stack.append((Path(child.path), rel + "/", specs))
            elif stat.S_ISREG(info.st_mode) or stat.S_ISLNK(info.st_mode):
                found.append((rel, info))
    return found, dirs
