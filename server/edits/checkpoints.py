"""Git-independent checkpoints: undo everything a turn did, by edits or by commands.

Before a turn first writes a path, its bytes (or its absence) and mode are recorded; after
each write, what the turn left. Commands are covered by the roots' trackers (`tracked`): what
changed around each command, from inotify or, when a root cannot be watched, from a walk before
and after it (`snapshot`). A checkpoint
is a small JSON file under `<state_dir>/turns/`, contents live in a content-addressed blob
store (`<state_dir>/blobs/`), so a turn can be reverted after a server restart.

Why not a shadow git repository (a private GIT_DIR over the workspace)? It would need a
git binary, and its index, locks and hooks interfere with the user's own git in subtle
ways; committing a big tree before every command is slower than a stat walk that reuses
digests; and a commit records a tree, while revert needs per-file facts: the mode, whether
the file existed, and what the turn left there, so that a file the user changed since is
reported as a conflict instead of being silently overwritten. Content addressing gives the
one thing git would add, deduplicated storage.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import stat
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

import msgspec

from sandbox.policy import Policy, homes_of, secret_paths_for
from server.edits.atomic import atomic_delete, atomic_write, make_symlink, remove_empty_dir
from server.edits.blobs import BlobError, BlobStore
from server.edits.safe_read import read_bounded
from server.edits.snapshot import (
    DEFAULT_MAX_BLOB_BYTES,
    Manifest,
    ManifestEntry,
    digest_of,
)
from server.edits.tracked import CommandChanges, Mark, RootTracker

ChangeKind = Literal["created", "changed", "deleted"]
Refusal = Callable[[Path], "str | None"]
"""Why a path may not be restored (it would not pass the gate now), or None."""


@dataclass(frozen=True)
class FileState:
    """A path's state: absent, a symlink to `link`, or a file with content `digest`
    (None when it was too large or unreadable to store) and permission bits `mode`."""

    exists: bool
    digest: str | None = None
    mode: int | None = None
    link: str | None = None

    def same_as(self, other: FileState) -> bool:
        if self.exists != other.exists:
            return False
        if not self.exists:
            return True
        if self.link is not None or other.link is not None:
            return self.link == other.link
        return self.digest is not None and (self.digest, self.mode) == (other.digest, other.mode)


ABSENT = FileState(exists=False)


@dataclass(frozen=True)
class CheckpointEntry:
    before: FileState
    after: FileState | None = None
    """What the turn left; None until recorded (a turn cut short by a crash)."""
    created_dirs: tuple[str, ...] = ()
    """Parent directories the turn's write created, deepest first, removed again on revert."""
    shared: bool = False
    """Changed while a command ran, to what the editor's buffer holds: maybe the user's save,
    so a revert leaves it alone unless forced."""


@dataclass
class CheckpointData:
    """What is persisted: one turn's entries by absolute path."""

    id: str
    created_at_ms: int
    entries: dict[str, CheckpointEntry] = field(default_factory=dict[str, CheckpointEntry])
    reverted_at_ms: int | None = None


@dataclass(frozen=True)
class RevertReport:
    restored: tuple[str, ...]
    conflicts: dict[str, str]
    """Path -> why it was left alone."""


class Checkpoint:
    """One turn's checkpoint; every record is saved at once."""

    def __init__(self, store: CheckpointStore, data: CheckpointData) -> None:
        self.store = store
        self.data = data

    @property
    def id(self) -> str:
        return self.data.id

    def record_before(self, path: str | os.PathLike[str]) -> None:
        """Call before the turn's first write to `path`; later calls for it do nothing."""
        key = os.path.abspath(path)
        if key in self.data.entries:
            return
        state = self.store.capture(Path(key), keep_content=True)
        self.data.entries[key] = CheckpointEntry(state, created_dirs=_missing_parents(Path(key)))
        self.save()

    def record_after(self, path: str | os.PathLike[str]) -> None:
        """Call after each write to `path`: records what the turn left there."""
        key = os.path.abspath(path)
        entry = self.data.entries.get(key)
        if entry is None:
            raise KeyError(f"record_before({key!r}) must be called before writing it")
        self.data.entries[key] = replace(entry, after=self.store.capture(Path(key)))
        self.save()

    def record_command(
        self, command: CommandChanges, shared: Callable[[str, FileState], bool] | None = None
    ) -> list[str]:
        """Record what a command changed (`CommandChanges` from `CheckpointStore.end_command`);
        returns the absolute paths it created, modified or deleted. `shared(path, after)` says
        whether the editor holds exactly that content (see `CheckpointEntry.shared`)."""
        root = os.path.abspath(command.root)
        changed: list[str] = []
        new_dirs: dict[str, tuple[str, ...]] = {}  # per parent: a command may make 100,000 files
        for rel, before, after in sorted(command.changes, key=lambda c: c[0]):
            key = os.path.join(root, rel)
            entry = self.data.entries.get(key)
            if entry is None:
                parent = rel.rpartition("/")[0]
                if parent not in new_dirs:
                    new_dirs[parent] = _new_dirs(root, parent, command.created_dirs)
                entry = CheckpointEntry(_state(before), None, new_dirs[parent])
            after_state = _state(after)
            is_shared = entry.shared or (shared is not None and shared(key, after_state))
            self.data.entries[key] = CheckpointEntry(
                entry.before, after_state, entry.created_dirs, is_shared
            )
            changed.append(key)
        if changed:
            self.save()
        return changed

    def changes(self) -> dict[str, ChangeKind]:
        """Every path the turn created, changed or deleted, whether reverted since or not;
        a path the turn changed and then put back as it was is left out."""
        kinds: dict[str, ChangeKind] = {}
        for path, entry in sorted(self.data.entries.items()):
            after = entry.after or self.store.capture(Path(path))
            if entry.before.same_as(after):
                continue
            kinds[path] = _kind(entry.before, after)
        return kinds

    def revert(
        self, force: bool = False, refuse: Refusal | None = None, roots: Sequence[Path] = ()
    ) -> tuple[list[str], list[str]]:
        """Restore every path to its state before the turn: (restored, conflicts).

        A path whose current state is not what the turn left (the user changed it since)
        is a conflict and stays as it is, unless `force`. So is a path `refuse` gives a reason
        for (the gate's checks of a fresh edit). Writes stay below the root of `roots` holding
        the path (or `/`) without following symlinks (`atomic`).
        """
        report = self.revert_report(force, refuse, roots)
        return list(report.restored), sorted(report.conflicts)

    def revert_report(
        self, force: bool = False, refuse: Refusal | None = None, roots: Sequence[Path] = ()
    ) -> RevertReport:
        """`revert`, with the reason for each conflict."""
        restored: list[str] = []
        conflicts: dict[str, str] = {}
        for path, entry in _restore_order(self.data.entries):
            reason = self._revert_one(Path(path), entry, force, refuse, roots)
            if reason is None:
                restored.append(path)
            else:
                conflicts[path] = reason
        self.data.reverted_at_ms = time.time_ns() // 1_000_000
        self.save()
        return RevertReport(tuple(restored), conflicts)

    def _revert_one(
        self,
        path: Path,
        entry: CheckpointEntry,
        force: bool,
        refuse: Refusal | None,
        roots: Sequence[Path],
    ) -> str | None:
        current = self.store.capture(path)
        if current.same_as(entry.before):
            return None
        if refuse is not None and (why := refuse(path)) is not None:
            return why
        if not force and entry.shared:
            return (
                f"{path} changed while a command ran, and the editor saved the same text: it "
                "may be your edit, so it was left as it is. Revert with force to undo it too."
            )
        if not force and (entry.after is None or not current.same_as(entry.after)):
            return (
                f"{path} was changed after the turn wrote it; it was left as it is. Revert "
                "with force to overwrite those changes."
            )
        before = entry.before
        if before.exists and before.link is None and before.digest is None:
            return f"{path}: its earlier content was too large or unreadable to keep."
        try:
            beneath = next((r for r in roots if path.is_relative_to(r)), Path("/"))
            self.store.restore(path, before, entry.created_dirs, beneath=beneath)
        except (OSError, BlobError) as error:
            return f"{path} could not be restored: {error}"
        return None

    def save(self) -> None:
        self.store.save(self)


def _state(entry: ManifestEntry | None) -> FileState:
    if entry is None:
        return ABSENT
    return FileState(True, entry.digest, entry.mode, entry.link)


def _kind(before: FileState, after: FileState) -> ChangeKind:
    if not before.exists:
        return "created"
    return "deleted" if not after.exists else "changed"


def _new_dirs(root: str, parent: str, created_dirs: set[str]) -> tuple[str, ...]:
    """`parent` (a relative directory, "" for the root) and its parents that the command
    created, deepest first."""
    created: list[str] = []
    while parent:
        if parent in created_dirs:
            created.append(os.path.join(root, parent))
        parent = parent.rpartition("/")[0]
    return tuple(created)


def _missing_parents(path: Path) -> tuple[str, ...]:
    missing: list[str] = []
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        missing.append(str(parent))
        parent = parent.parent
    return tuple(missing)


def _restore_order(entries: dict[str, CheckpointEntry]) -> list[tuple[str, CheckpointEntry]]:
    """Removals first, deepest first, so a directory a turn created frees its name for a
    file that was there before; then restores, shallowest first."""
    removals = [(p, e) for p, e in entries.items() if not e.before.exists]
    restores = [(p, e) for p, e in entries.items() if e.before.exists]
    removals.sort(key=lambda pe: (-pe[0].count(os.sep), pe[0]))
    restores.sort(key=lambda pe: (pe[0].count(os.sep), pe[0]))
    return removals + restores


class CheckpointStore:
    """Checkpoints, blobs and the latest snapshot of each root under `state_dir`."""

    def __init__(
        self,
        state_dir: Path,
        max_blob_bytes: int = DEFAULT_MAX_BLOB_BYTES,
        max_watches: int | None = None,
    ) -> None:
        self.state_dir = state_dir
        self.blobs = BlobStore(state_dir / "blobs")
        self.max_blob_bytes = max_blob_bytes
        self.max_watches = max_watches
        self._trackers: dict[str, RootTracker] = {}
        self._trackers_lock = threading.Lock()
        # Credentials never enter the blob store, whoever asks for a snapshot (a workspace that
        # is $HOME holds ~/.ssh).
        self.secrets = tuple(secret_paths_for(Policy("workspaceWrite"), homes_of()))

    def open(self, checkpoint_id: str) -> Checkpoint:
        """The checkpoint with this id (a turn id), loaded from disk or new."""
        path = self._checkpoint_path(checkpoint_id)
        try:
            data = msgspec.json.decode(path.read_bytes(), type=CheckpointData)
        except FileNotFoundError:
            data = CheckpointData(checkpoint_id, time.time_ns() // 1_000_000)
        except msgspec.DecodeError as error:
            raise ValueError(
                f"checkpoint file {path} is damaged ({error}); this turn cannot be reverted."
            ) from None
        return Checkpoint(self, data)

    def exists(self, checkpoint_id: str) -> bool:
        return self._checkpoint_path(checkpoint_id).is_file()

    def save(self, checkpoint: Checkpoint) -> None:
        atomic_write(self._checkpoint_path(checkpoint.id), msgspec.json.encode(checkpoint.data))

    def snapshot(self, root: str | os.PathLike[str], secrets: Iterable[Path] = ()) -> Manifest:
        """The root's baseline snapshot, brought up to date (`tracked.RootTracker`); the
        first call walks the root by stat only. `secrets` (credential files and directories),
        besides the store's own, are never read. Raises `RootUnavailable` when the root
        cannot be opened. The manifest returned keeps changing: compare commands with
        `begin_command` and `end_command`."""
        return self._tracker(root).current([*self.secrets, *secrets])

    def begin_command(self, root: str | os.PathLike[str], secrets: Iterable[Path] = ()) -> Mark:
        """Before a command that may write below `root`."""
        return self._tracker(root).begin([*self.secrets, *secrets])

    def end_command(self, mark: Mark) -> CommandChanges:
        """After it: what it created, changed and deleted."""
        return self._tracker(mark.root).end(mark)

    def _tracker(self, root: str | os.PathLike[str]) -> RootTracker:
        key = os.path.abspath(root)
        with self._trackers_lock:
            tracker = self._trackers.get(key)
            if tracker is None:
                tracker = RootTracker(
                    Path(key),
                    self.blobs,
                    self.max_blob_bytes,
                    exclude=[self.state_dir, self.state_dir.parent],  # Tether's home: sessions
                    max_watches=self.max_watches,
                    previous=self._load_manifest(key),
                )
                tracker.save = lambda manifest: self._save_manifest(key, manifest)
                self._trackers[key] = tracker
            return tracker

    def _save_manifest(self, root: str, manifest: Manifest) -> None:
        """Write it beside its place and rename it there (Tether's own state directory)."""
        path = self._manifest_path(root)
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        try:
            with temporary.open("wb") as out:
                manifest.write(out)
            os.replace(temporary, path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                temporary.unlink()

    def wait_read(self, root: str | os.PathLike[str], timeout: float) -> bool:
        """Wait until the background reading of `root`'s files is done (tests, the bench)."""
        return self._tracker(root).hydrated.wait(timeout)

    def close(self) -> None:
        """Stop watching the roots."""
        with self._trackers_lock:
            trackers, self._trackers = list(self._trackers.values()), {}
        for tracker in trackers:
            tracker.close()

    def capture(self, path: Path, keep_content: bool = False) -> FileState:
        """The state of `path` now; with `keep_content`, its bytes go to the blob store."""
        try:
            info = path.lstat()
        except FileNotFoundError:
            return ABSENT
        if stat.S_ISLNK(info.st_mode):
            return FileState(True, link=os.readlink(path))
        mode = stat.S_IMODE(info.st_mode)
        if not stat.S_ISREG(info.st_mode):
            return FileState(True, mode=mode)
        if keep_content and info.st_size <= self.max_blob_bytes:
            try:  # never a FIFO or a symlink swapped in since the lstat
                return FileState(
                    True, self.blobs.put(read_bounded(path, self.max_blob_bytes)), mode
                )
            except OSError:
                return FileState(True, mode=mode)
        return FileState(True, digest_of(path), mode)

    def restore(
        self,
        path: Path,
        state: FileState,
        created_dirs: Iterable[str] = (),
        *,
        beneath: Path = Path("/"),
    ) -> None:
        """Put `state` back at `path` (see `Checkpoint.revert` for when that is safe), below
        `beneath` without following a symlink on the way (`atomic`)."""
        if path.is_symlink():
            atomic_delete(path, beneath=beneath)
        if not state.exists:
            atomic_delete(path, missing_ok=True, beneath=beneath)
            for directory in created_dirs:
                try:
                    remove_empty_dir(directory, beneath=beneath)
                except OSError:
                    break  # not empty: something else lives there now
        elif state.link is not None:
            make_symlink(path, state.link, beneath=beneath)
        elif state.digest is not None:
            atomic_write(path, self.blobs.get(state.digest), mode=state.mode, beneath=beneath)

    def prune(self, keep: Iterable[str]) -> int:
        """Delete checkpoints not in `keep` and blobs nothing kept refers to; returns how
        many blobs were removed. The latest snapshots' blobs are kept."""
        keep_files = {self._checkpoint_path(i).name for i in keep}
        referenced: set[str] = set()
        turns = self.state_dir / "turns"
        for file in turns.iterdir() if turns.is_dir() else ():
            if file.name not in keep_files:
                file.unlink()
                continue
            data = msgspec.json.decode(file.read_bytes(), type=CheckpointData)
            referenced.update(e.before.digest for e in data.entries.values() if e.before.digest)
        for manifest in self._all_latest_manifests():
            referenced.update(manifest.entries.digests())
        unused = self.blobs.digests() - referenced
        for digest in unused:
            self.blobs.remove(digest)
        return len(unused)

    def _all_latest_manifests(self) -> list[Manifest]:
        manifests = self.state_dir / "manifests"
        with self._trackers_lock:
            trackers = list(self._trackers.values())
        found = {t.manifest.root: t.manifest for t in trackers if t.manifest is not None}
        for file in manifests.iterdir() if manifests.is_dir() else ():
            if file.name.startswith("."):  # a manifest still being written (`_save_manifest`)
                continue
            with contextlib.suppress(msgspec.DecodeError, OSError):
                manifest = Manifest.read(file.read_bytes())
                found.setdefault(manifest.root, manifest)
        return list(found.values())

    def _load_manifest(self, root: str) -> Manifest | None:
        try:
            return Manifest.read(self._manifest_path(root).read_bytes())
        except (OSError, msgspec.DecodeError):
            return None  # no usable previous snapshot: this one reads every file

    def _checkpoint_path(self, checkpoint_id: str) -> Path:
        safe = checkpoint_id if _SAFE_ID.fullmatch(checkpoint_id) else _hashed(checkpoint_id)
        return self.state_dir / "turns" / f"{safe}.json"

    def _manifest_path(self, root: str) -> Path:
        return self.state_dir / "manifests" / f"{_hashed(root)}.json"


_SAFE_ID = re.compile(r"[A-Za-z0-9_-]{1,100}")


def _hashed(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()[:32]
