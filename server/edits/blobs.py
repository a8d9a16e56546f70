"""A content-addressed blob store: file contents kept once, by SHA-256, under a directory.

Checkpoints and workspace snapshots refer to contents by digest, so unchanged files cost
nothing after their first snapshot and a file changed by many turns is stored once per
version. Blobs are written with a temporary file and a rename but not fsynced (a snapshot
of a big workspace writes thousands): instead every read checks the digest, so a blob torn
by a crash is reported, never restored.

Contents read in bulk (a workspace's files, read once by its first snapshot) go to one SQLite
file instead, `pack.sqlite` (write-ahead log, not synced; the digest is checked on read all the
same): creating 300,000 small files cost ~150 us each on this disk, a row ~15 us.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sqlite3
import threading
from pathlib import Path

REMEMBERED = 4096
PACK = "pack.sqlite"
PACKED_MAX = 256 * 1024


class BlobError(OSError):
    """A blob is missing or corrupt; the message names it and what it means for the user."""


class BlobStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self._stored: dict[str, str] = {}
        """Digests this process stored or found lately, each kept once: a snapshot of 100,000
        files puts the same few contents (empty, license headers) over and over. Emptied past
        `REMEMBERED` (reading a 300,000-file workspace must not keep every digest)."""

        self._pack: sqlite3.Connection | None = None
        self._pack_lock = threading.Lock()

    def path_of(self, digest: str) -> Path:
        return self.root / digest[:2] / digest[2:]

    def has(self, digest: str) -> bool:
        return self.path_of(digest).is_file() or self._packed(digest) is not None

    def put(self, data: bytes, *, bulk: bool = False) -> str:
        """Store `data` (if not already there) and return its digest; `bulk` contents (up to
        `PACKED_MAX` bytes) go to the pack, kept for good at the next `flush`."""
        digest = hashlib.sha256(data).hexdigest()
        if digest in self._stored:
            return self._stored[digest]
        if bulk and len(data) <= PACKED_MAX:
            with self._pack_lock:
                pack = self._open_pack()
                pack.execute("INSERT OR IGNORE INTO blobs VALUES (?, ?)", (digest, data))
            self._remember(digest)
            return digest
        target = self.path_of(digest)
        if target.is_file():
            self._remember(digest)
            return digest
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.{os.getpid()}-{os.urandom(4).hex()}.tmp")
        try:
            tmp.write_bytes(data)
            os.replace(tmp, target)
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
        self._remember(digest)
        return digest

    def _remember(self, digest: str) -> None:
        if len(self._stored) >= REMEMBERED:
            self._stored.clear()
        self._stored[digest] = digest

    def get(self, digest: str) -> bytes:
        """The stored bytes, verified against the digest."""
        try:
            data = self.path_of(digest).read_bytes()
        except FileNotFoundError:
            data = self._packed(digest)
        if data is None:
            raise BlobError(
                f"checkpoint content {digest[:12]} is missing from {self.root}; the saved "
                "copy of this file was deleted, so it cannot be restored."
            ) from None
        if hashlib.sha256(data).hexdigest() != digest:
            raise BlobError(
                f"checkpoint content {digest[:12]} in {self.root} is corrupt (a crash while "
                "saving it?); the file cannot be restored from this checkpoint."
            )
        return data

    def digests(self) -> set[str]:
        """Every stored digest (for pruning)."""
        if not self.root.is_dir():
            return set()
        files = {
            sub.name + blob.name
            for sub in self.root.iterdir()
            if sub.is_dir() and len(sub.name) == 2
            for blob in sub.iterdir()
            if not blob.name.startswith(".")
        }
        if not (self.root / PACK).exists():
            return files
        with self._pack_lock:
            rows = self._open_pack().execute("SELECT digest FROM blobs").fetchall()
        return files | {row[0] for row in rows}

    def remove(self, digest: str) -> None:
        self._stored.pop(digest, None)
        with contextlib.suppress(FileNotFoundError):
            self.path_of(digest).unlink()
        if (self.root / PACK).exists():
            with self._pack_lock:
                pack = self._open_pack()
                pack.execute("DELETE FROM blobs WHERE digest = ?", (digest,))
                pack.commit()

    def flush(self) -> None:
        """Commit the bulk contents put since the last flush (this process reads them before
        that already; a restart after a crash would not find them)."""
        with self._pack_lock:
            if self._pack is not None:
                self._pack.commit()

    def _packed(self, digest: str) -> bytes | None:
        if not (self.root / PACK).exists():
            return None
        with self._pack_lock:
            row = (
                self._open_pack()
                .execute("SELECT data FROM blobs WHERE digest = ?", (digest,))
                .fetchone()
            )
        return bytes(row[0]) if row is not None else None

    def _open_pack(self) -> sqlite3.Connection:
        if self._pack is None:
            self.root.mkdir(parents=True, exist_ok=True)
            pack = sqlite3.connect(self.root / PACK, timeout=10, check_same_thread=False)
            pack.execute("PRAGMA journal_mode=WAL")
            pack.execute("PRAGMA synchronous=OFF")
            pack.execute("CREATE TABLE IF NOT EXISTS blobs (digest TEXT PRIMARY KEY, data BLOB)")
            self._pack = pack
        return self._pack
