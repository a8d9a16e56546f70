"""A content-addressed blob store: file contents kept once, by SHA-256, under a directory.

Checkpoints and workspace snapshots refer to contents by digest, so unchanged files cost
nothing after their first snapshot and a file changed by many turns is stored once per
version. Blobs are written with a temporary file and a rename but not fsynced (a snapshot
of a big workspace writes thousands): instead every read checks the digest, so a blob torn
by a crash is reported, never restored.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from pathlib import Path

REMEMBERED = 20_000


class BlobError(OSError):
    """A blob is missing or corrupt; the message names it and what it means for the user."""


class BlobStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self._stored: dict[str, str] = {}
        """Digests this process stored or found lately, each kept once: a snapshot of 100,000
        files puts the same few contents (empty, license headers) over and over. Emptied past
        `REMEMBERED` (reading a 300,000-file workspace must not keep every digest)."""

    def path_of(self, digest: str) -> Path:
        return self.root / digest[:2] / digest[2:]

    def has(self, digest: str) -> bool:
        return self.path_of(digest).is_file()

    def put(self, data: bytes) -> str:
        """Store `data` (if not already there) and return its digest."""
        digest = hashlib.sha256(data).hexdigest()
        if digest in self._stored:
            return self._stored[digest]
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
        return {
            sub.name + blob.name
            for sub in self.root.iterdir()
            if sub.is_dir() and len(sub.name) == 2
            for blob in sub.iterdir()
            if not blob.name.startswith(".")
        }

    def remove(self, digest: str) -> None:
        self._stored.pop(digest, None)
        with contextlib.suppress(FileNotFoundError):
            self.path_of(digest).unlink()
