"""What a command changed, at a cost that does not grow with the workspace.

A `RootTracker` keeps one root's baseline manifest (every file's stat, and its content's digest
once read) current from the root's inotify watch (`sandbox.walk.TreeWatch`) instead of walking
the root twice around every command:

- first use: the watch starts (one walk of the directories), then a stat-only walk makes the
  baseline; no file is read. Then a process of its own at the lowest CPU priority
  (`server.edits.hydrate`) reads the files into the blob store in batches, none started while
  a command runs, so a revert has their bytes later; the server's interpreter stays free.
- `begin()` before a command: `sync` the watch, then re-stat and read what changed since (the
  user's edits, a `git pull`): those bytes are what the command could overwrite.
- `end(mark)` after it: `sync` again; each changed path's state before comes from the baseline,
  its state after from a stat and a read (only the changed files); the baseline moves on.

When the watch cannot be trusted (no inotify, the watch limit reached, a queue overflow), a
command's changes are found as before, by stat walks of the whole root compared entry by entry,
and `note` says why for the command item's trackingNote.

What revert cannot restore: content no snapshot had read before a command changed it, i.e. a
file the background reading had not reached yet (the first commands in a big workspace) unless
git's index vouches for its bytes (`server.edits.git_backed`: tracked, unchanged since git
hashed it, and the command left the index alone), one over the size cap or past the read
budget. Such a file is counted in the command's trackingNote, and reverting it is a conflict
that says so.
On network, FUSE and VM-shared filesystems, where inotify misses what another machine (or a
VM's host) changes, the watch is not trusted and each command walks too
(`sandbox.walk.remote_filesystem`). What the watch still cannot see: such a filesystem mounted
below the root after the watch started. Writes through another bind mount of the tree are
seen (inotify watches inodes, whatever the path).
"""

from __future__ import annotations

import contextlib
import os
import stat
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import msgspec

from sandbox.walk import Changes, TreeWatch, release_watch, share_watch
from server.edits.atomic import is_atomic_temp, open_dir_beneath
from server.edits.blobs import BlobStore
from server.edits.git_backed import IndexStamp, index_stamp, originals_from_git
from server.edits.hydrate import Job, Reader, read_batch
from server.edits.ignore import ALWAYS_IGNORED, IgnoreRules
from server.edits.snapshot import (
    DEFAULT_LIMITS,
    Manifest,
    ManifestEntry,
    SnapshotLimits,
    SnapshotReport,
    diff_manifests,
    store_content,
    take_snapshot,
)

INLINE_READS = 2000
"""Files still unread when a command starts that are read before it, not in the background."""
BATCH = 256
"""Files per batch of the background reading."""

Change = tuple[str, ManifestEntry | None, ManifestEntry | None]
"""(relative path, entry before, entry after); None: absent."""


@dataclass(frozen=True)
class CommandChanges:
    """What one command created, changed and deleted below `root`."""

    root: str
    changes: list[Change] = field(default_factory=list[Change])
    created_dirs: set[str] = field(default_factory=set[str])
    """Relative directories that exist after the command and did not before."""
    note: str | None = None
    """What the record may miss, in words for the command item (trackingNote)."""


@dataclass(frozen=True)
class Mark:
    """Taken before a command; `RootTracker.end` takes it back."""

    root: str


class RootTracker:
    """One root's baseline and watch; every method holds the root's lock."""

    def __init__(
        self,
        root: Path,
        blobs: BlobStore,
        max_blob_bytes: int,
        exclude: Iterable[Path],
        limits: SnapshotLimits = DEFAULT_LIMITS,
        max_watches: int | None = None,
        previous: Manifest | None = None,
    ) -> None:
        self.root = root
        self.blobs = blobs
        self.max_blob_bytes = max_blob_bytes
        self.exclude = tuple(exclude)
        self.limits = limits
        self.max_watches = max_watches
        self.secrets: tuple[Path, ...] = ()
        self._secret_rels: set[str] = set()
        self.lock = threading.RLock()
        self.manifest: Manifest | None = None
        self._previous = previous
        self._watch: TreeWatch | None = None
        self._rules = IgnoreRules(root)
        self._skip = _relative_below(root, self.exclude)
        self._idle = threading.Event()
        self._idle.set()
        self._hydrator: threading.Thread | None = None
        self.hydrated = threading.Event()
        self.counts: dict[str, int] = dict.fromkeys(
            ("special", "bad_names", "unreadable", "large"), 0
        )
        """What the last command's record skipped (see `SnapshotReport`)."""
        self._to_read: list[str] = []
        self._in_flight: list[str] = []
        """Files the reading process has in hand."""
        self._closed = False
        self._index: IndexStamp | None = None
        """The root's git index when a command began while files were still unread."""
        self._index_first: IndexStamp | None = None
        """The index when the first walk ended, before any command: only that index vouches
        (one written since, by a command or a sandboxed MCP server, could hold a forged entry,
        a file's stat with a blob of its choosing, and restore its bytes in a later revert)."""
        self._next = 0
        self._budget = limits.read_budget_bytes
        self.save: Callable[[Manifest], None] | None = None
        """Called with the baseline once the background reading is done (to persist it)."""

    # -- the baseline ---------------------------------------------------------------------------

    def current(self, secrets: Iterable[Path] = ()) -> Manifest:
        """The baseline, brought up to date (see the module docstring)."""
        with self.lock:
            self._set_secrets(secrets)
            self._absorb()
            assert self.manifest is not None
            return self.manifest

    def _watched(self) -> TreeWatch | None:
        if self._watch is None:
            self._watch = share_watch(self.root, self.max_watches)
        return self._watch if self._watch.blind is None else None

    def _absorb(self) -> tuple[list[Change], set[str], str | None]:
        """Bring the baseline up to date: (what changed since last time, new directories, why
        the whole root had to be walked, or None)."""
        watch = self._watched()
        if self.manifest is None:
            self.manifest = self._walk(read_content=watch is None, previous=self._previous)
            self._previous = None
            if watch is not None:
                # What changed while the walk ran: the walk may have listed a directory before
                # a file appeared in it, or stat'ed a file before it was written.
                watch.sync()
                self._apply(watch.take_changes())
                self._start_hydration()
            else:
                self.hydrated.set()  # the walk read the contents itself
                if self.save is not None:
                    with contextlib.suppress(OSError):
                        self.save(self.manifest)
            return [], set(), None
        if watch is None:
            return self._rewalk(self._blind_reason())
        synced = watch.sync()
        changes = watch.take_changes()
        if not synced or changes.lost or watch.blind is not None:
            return self._rewalk(self._blind_reason() or "file change events were lost")
        return self._apply(changes)

    def _blind_reason(self) -> str | None:
        return self._watch.blind if self._watch is not None else None

    def _walk(self, *, read_content: bool, previous: Manifest | None) -> Manifest:
        return take_snapshot(
            self.root,
            self.blobs,
            previous,
            self.max_blob_bytes,
            exclude=self.exclude,
            secrets=self.secrets,
            limits=self.limits,
            read_content=read_content,
        )

    def _rewalk(self, reason: str | None) -> tuple[list[Change], set[str], str | None]:
        before = self.manifest
        assert before is not None
        after = self._walk(read_content=True, previous=before)
        self.manifest = after
        found = diff_manifests(before, after)
        changes = [(rel, before.entries.get(rel), after.entries.get(rel)) for rel in found.all()]
        return changes, after.dirs - before.dirs, reason

    def _apply(self, changes: Changes) -> tuple[list[Change], set[str], str | None]:
        manifest = self.manifest
        assert manifest is not None
        table, dirs = manifest.entries, manifest.dirs
        out: list[Change] = []
        new_dirs: set[str] = set()
        gone: set[str] = set()
        for rel in sorted(changes.paths):
            if not _utf8(rel):
                self.counts["bad_names"] += 1  # nothing on the wire could name it
                continue
            if self._not_tracked(rel):
                continue
            before = table.get(rel)
            was_dir = rel in dirs
            now, is_dir = self._entry_now(rel)
            if was_dir and not is_dir:
                gone.add(rel)
                dirs.discard(rel)
            if is_dir and not was_dir:
                dirs.add(rel)
                new_dirs.add(rel)
            if now is None:
                if before is not None:
                    del table[rel]
                    out.append((rel, before, None))
            elif before is None or not before.same_content(now):
                table[rel] = now
                out.append((rel, before, now))
            else:
                table[rel] = now  # same content, new stat
        if gone:
            out += self._remove_below(gone)
        return out, new_dirs, None

    def _remove_below(self, gone: set[str]) -> list[Change]:
        """Entries below directories that are gone (moved away whole: no event per file)."""
        manifest = self.manifest
        assert manifest is not None
        removed: list[Change] = []
        below = [d for d in manifest.dirs if d in gone or _has_ancestor(d, gone)]
        if not any(manifest.entries.per_dir.get(d, 0) for d in [*gone, *below]):
            manifest.dirs -= set(below)
            return removed  # emptied file by file (`rm -r`): nothing left to look for
        for rel in [r for r in manifest.entries if _has_ancestor(r, gone)]:
            removed.append((rel, manifest.entries[rel], None))
            del manifest.entries[rel]
        manifest.dirs -= {d for d in manifest.dirs if _has_ancestor(d, gone)}
        return removed

    def _set_secrets(self, secrets: Iterable[Path]) -> None:
        given = tuple(secrets)
        if given != self.secrets:
            self.secrets = given
            self._secret_rels = _relative_below(self.root, given)

    def _not_tracked(self, rel: str) -> bool:
        parts = rel.split("/")
        if ALWAYS_IGNORED.intersection(parts) or is_atomic_temp(parts[-1]):
            return True
        if any("/".join(parts[: i + 1]) in self._skip for i in range(len(parts))):
            return True
        if any("/".join(parts[: i + 1]) in self._secret_rels for i in range(len(parts))):
            return True
        with contextlib.suppress(OSError):
            return self._rules.ignored(rel)
        return True

    def _entry_now(self, rel: str) -> tuple[ManifestEntry | None, bool]:
        """(the file's entry now, with its content read; None when absent or not a file,
        whether it is a directory), reached without following a symlink below the root."""
        parent, _, name = rel.rpartition("/")
        try:
            fd = open_dir_beneath(self.root, tuple(parent.split("/")) if parent else (), False)
        except OSError:
            return None, False
        try:
            info = os.stat(name, dir_fd=fd, follow_symlinks=False)
            if stat.S_ISDIR(info.st_mode):
                return None, True
            if stat.S_ISLNK(info.st_mode):
                return ManifestEntry.of(info, link=os.readlink(name, dir_fd=fd)), False
            if not stat.S_ISREG(info.st_mode):
                self.counts["special"] += 1  # never opened
                return None, False
            digest, problem = store_content(self.blobs, fd, name, self.max_blob_bytes)
            if problem is not None:
                self.counts[problem] += 1
            return ManifestEntry.of(info, digest), False
        except OSError:
            return None, False
        finally:
            os.close(fd)

    # -- around one command ---------------------------------------------------------------------

    def begin(self, secrets: Iterable[Path] = ()) -> Mark:
        """Before a command: the baseline is current, and background reading pauses."""
        self._idle.clear()
        with self.lock:
            self._set_secrets(secrets)
            try:
                self._absorb()
                if not self.hydrated.is_set() and len(self._to_read) - self._next <= INLINE_READS:
                    self._read_some(None)  # a small workspace: every file's bytes, now
                self._index = None if self.hydrated.is_set() else index_stamp(self.root)
            except BaseException:
                self._idle.set()
                raise
            return Mark(str(self.root))

    def end(self, mark: Mark) -> CommandChanges:
        """After the command: what it changed (see the module docstring)."""
        try:
            with self.lock:
                self.counts = dict.fromkeys(self.counts, 0)
                changes, new_dirs, why = self._absorb()
                changes = self._from_git(changes)
                self.blobs.flush()
                unread = _unread(changes, self.max_blob_bytes)
                note = self._note(why, unread)
                return CommandChanges(mark.root, changes, new_dirs, note)
        finally:
            self._idle.set()

    def _from_git(self, changes: list[Change]) -> list[Change]:
        """The old bytes of changed files not read yet, from git's index when it vouches for
        them (`server.edits.git_backed`)."""
        index, self._index = self._index, None
        cap = self.max_blob_bytes
        wanted = {rel: b for rel, b, _a in changes if b is not None and _unread_entry(b, cap)}
        if index is None or index != self._index_first or not wanted:
            return changes
        found = originals_from_git(self.root, wanted, index, self.blobs, cap)
        out: list[Change] = []
        for rel, before, after in changes:
            if before is not None and rel in found:
                before = msgspec.structs.replace(before, digest=found[rel])
            out.append((rel, before, after))
        return out

    def _note(self, why: str | None, unread: int) -> str | None:
        """What this command's record may miss: what the first walk skipped, what the command
        left that is skipped (FIFOs, names that are not UTF-8, large files), what had not
        been read, and why the root was walked."""
        manifest = self.manifest
        base = manifest.report if manifest is not None else SnapshotReport()
        report = SnapshotReport(
            **{name: getattr(base, name) + count for name, count in self.counts.items()},
            stopped=base.stopped,
        )
        described = report.describe()
        if unread:
            told = (
                f"{unread} of the files this command changed or deleted had not been read yet "
                "(a big workspace is read in the background) and git's index did not hold "
                "them as they were: revert cannot restore their content."
            )
            described = f"{described} {told}" if described else told
        if why is None:
            return described
        walked = (
            f"What commands change here is found by walking the whole workspace ({why}); "
            "each command costs more in a big workspace, and revert stays exact."
        )
        return f"{walked} {described}" if described else walked

    # -- reading contents in the background -----------------------------------------------------

    def _start_hydration(self) -> None:
        manifest = self.manifest
        assert manifest is not None
        self._to_read = [rel for rel in manifest.entries.packed if _needs_read(manifest, rel)]
        self._index_first = index_stamp(self.root)
        self._hydrator = threading.Thread(target=self._hydrate, name="tether-hydrate", daemon=True)
        self._hydrator.start()

    def _hydrate(self) -> None:
        """Read stat-only files into the blob store in batches, by the reading process
        (`server.edits.hydrate`; in this one for a small workspace or if it cannot run), never
        starting a batch while a command runs; a file whose stat moved meanwhile is left to
        its change event."""
        reader: Reader | None = None
        if len(self._to_read) > INLINE_READS:  # fewer are read in no time, here
            with contextlib.suppress(OSError):
                reader = Reader(self.root, self.blobs, self.max_blob_bytes)
        try:
            while not self.hydrated.is_set() and not self._closed:
                self._idle.wait()
                if reader is None:
                    with self.lock:
                        self._read_some(BATCH)
                    continue
                try:
                    self._read_batch(reader)
                except OSError:
                    reader.close()
                    reader = None
        finally:
            if reader is not None:
                reader.close()
        if self.save is not None and self.manifest is not None and self.hydrated.is_set():
            with self.lock, contextlib.suppress(OSError):
                self.save(self.manifest)

    def _read_batch(self, reader: Reader) -> None:
        """One batch through the reading process; the lock is not held while it reads, so a
        command may start meanwhile: a digest is kept only for a file that still has the stat
        it was read at (what a command changes has a new one, and its event)."""
        with self.lock:
            start = self._next
            jobs = self._next_jobs(BATCH)
            self._in_flight = [rel for rel, _entry in jobs]
        try:
            digests = reader.read(jobs) if jobs else []
        except OSError:
            with self.lock:
                self._next, self._in_flight = start, []  # read again, in process
            raise
        with self.lock:
            self._in_flight = []
            self._keep(jobs, digests)
            if self._next >= len(self._to_read):
                self._to_read = []
                self.hydrated.set()

    def _next_jobs(self, count: int) -> list[Job]:
        """The next `count` files still to read (call with the lock held)."""
        manifest = self.manifest
        assert manifest is not None
        jobs: list[Job] = []
        while self._next < len(self._to_read) and len(jobs) < count:
            rel = self._to_read[self._next]
            self._next += 1
            entry = manifest.entries.get(rel)
            if entry is None or entry.digest is not None or entry.link is not None:
                continue
            if entry.size <= min(self.max_blob_bytes, self._budget):
                jobs.append((rel, entry))
        return jobs

    def _keep(self, jobs: list[Job], digests: list[str | None]) -> None:
        manifest = self.manifest
        assert manifest is not None
        for (rel, read), digest in zip(jobs, digests, strict=True):
            entry = manifest.entries.get(rel)
            if digest is None or entry is None or entry.digest is not None:
                continue
            if entry.same_stat(read):
                manifest.entries[rel] = msgspec.structs.replace(entry, digest=digest)
                self._budget -= entry.size

    def _read_some(self, count: int | None) -> None:
        """Read the next `count` files waiting (all when None, with those the reading process
        has in hand), in this process, stopping early when a command wants to start; call
        with the lock held."""
        if count is None and self._in_flight:
            self._in_flight, again = [], self._in_flight
            self._read_jobs([(rel, e) for rel in again if (e := self._unread(rel)) is not None])
        while self._next < len(self._to_read):
            if count is not None and not self._idle.is_set():
                return
            self._read_jobs(self._next_jobs(count or len(self._to_read)))
        self._to_read = []
        self.hydrated.set()

    def _unread(self, rel: str) -> ManifestEntry | None:
        assert self.manifest is not None
        entry = self.manifest.entries.get(rel)
        return entry if entry is not None and entry.digest is None else None

    def _read_jobs(self, jobs: list[Job]) -> None:
        self._keep(jobs, read_batch(self.root, self.blobs, jobs, self.max_blob_bytes))

    def close(self) -> None:
        self._closed = True
        if self._watch is not None:
            release_watch(self._watch)
            self._watch = None


def _utf8(rel: str) -> bool:
    if rel.isascii():
        return True
    try:
        rel.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _needs_read(manifest: Manifest, rel: str) -> bool:
    entry = manifest.entries[rel]
    return entry.digest is None and entry.link is None


def _unread(changes: list[Change], cap: int) -> int:
    """Changed files whose content before is unknown though it could have been kept."""
    return sum(1 for _rel, b, _a in changes if b is not None and _unread_entry(b, cap))


def _unread_entry(entry: ManifestEntry, cap: int) -> bool:
    return entry.link is None and not entry.digest and entry.size <= cap


def _has_ancestor(rel: str, dirs: set[str]) -> bool:
    index = rel.find("/")
    while index >= 0:
        if rel[:index] in dirs:
            return True
        index = rel.find("/", index + 1)
    return False


def _relative_below(root: Path, paths: Iterable[Path]) -> set[str]:
    real = os.path.realpath(root).rstrip("/") + "/"
    found: set[str] = set()
    for path in paths:
        full = os.path.realpath(path)
        if full.startswith(real):
            found.add(full[len(real) :])
    return found
