"""Reading a big workspace's files into the blob store, in a process of its own.

After a root's stat-only first snapshot (`server.edits.tracked`) every file is read once in
the background, so that a revert has the bytes a command overwrote. Reading 300,000 files is
seconds of CPU; in the server's own process it would hold the interpreter lock the event loop
needs, and every command of the turns meanwhile would cost more. So a child process at the
lowest CPU priority (`python -m server.edits.hydrate ROOT BLOBS CAP`) does it: the server sends
batches of (relative path, stat) on its stdin, the child reads each file that still has that
stat (before and after reading; else it is left to its change event), puts the bytes into the
blob pack (`BlobStore`, SQLite, committed before it answers) and answers with a digest or None
per file. Files are opened below the root without following a symlink (`Parents`).

Frames on both pipes: a 4-byte big-endian length, then msgpack.
"""

from __future__ import annotations

import contextlib
import os
import select
import struct
import subprocess
import sys
from pathlib import Path
from typing import IO

import msgspec

from server.edits.atomic import open_dir_beneath
from server.edits.blobs import BlobStore
from server.edits.snapshot import ManifestEntry, store_content

Job = tuple[str, ManifestEntry]
"""A file to read: its relative path and the stat it must still have."""

BATCH_TIMEOUT_S = 120.0
"""A batch the child has not answered by then ends it (the server reads in process instead)."""
_LENGTH = struct.Struct(">I")
_PACKAGE_PARENT = Path(__file__).resolve().parents[2]


class Parents:
    """The fd of the directory last read from (files are read in walk order, so most reads
    share their parent's), reached without following a symlink below the root."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.rel: str | None = None
        self.fd: int | None = None

    def open(self, rel: str) -> int | None:
        if rel != self.rel:
            self.close()
            self.rel = rel
            with contextlib.suppress(OSError):
                self.fd = open_dir_beneath(self.root, tuple(rel.split("/")) if rel else (), False)
        return self.fd

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
        self.rel, self.fd = None, None


def read_if_unchanged(
    parents: Parents, blobs: BlobStore, rel: str, entry: ManifestEntry, cap: int
) -> str | None:
    """The digest of the file's bytes, stored in the pack, if its stat is `entry`'s before
    and after reading; None otherwise."""
    parent, _, name = rel.rpartition("/")
    fd = parents.open(parent)
    if fd is None:
        return None
    try:
        if not entry.same_stat(ManifestEntry.of(os.stat(name, dir_fd=fd, follow_symlinks=False))):
            return None
        digest, _problem = store_content(blobs, fd, name, cap, bulk=True)
        after = ManifestEntry.of(os.stat(name, dir_fd=fd, follow_symlinks=False))
        return digest if entry.same_stat(after) else None
    except OSError:
        return None


def read_batch(root: Path, blobs: BlobStore, jobs: list[Job], cap: int) -> list[str | None]:
    """`read_if_unchanged` for each job, then the pack committed."""
    parents = Parents(root)
    try:
        return [read_if_unchanged(parents, blobs, rel, entry, cap) for rel, entry in jobs]
    finally:
        parents.close()
        blobs.flush()


class Reader:
    """The reading process, from the server's side; `read` raises OSError when it failed
    (then close it and read in process)."""

    def __init__(self, root: Path, blobs: BlobStore, cap: int) -> None:
        env = {k: v for k, v in os.environ.items() if k in ("PATH", "PYTHONPATH", "LANG")}
        self._process = subprocess.Popen(
            [sys.executable, "-m", "server.edits.hydrate", str(root), str(blobs.root), str(cap)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            cwd=_PACKAGE_PARENT,
            env=env,
        )
        self._decoder = msgspec.msgpack.Decoder(list[str | None])

    def read(self, jobs: list[Job]) -> list[str | None]:
        process = self._process
        assert process.stdin is not None and process.stdout is not None
        _send(process.stdin, msgspec.msgpack.encode(jobs))
        ready, _, _ = select.select([process.stdout], [], [], BATCH_TIMEOUT_S)
        if not ready:
            raise OSError("the reading process did not answer")
        try:
            digests = self._decoder.decode(_receive(process.stdout))
        except EOFError:
            raise OSError(f"the reading process ended ({process.poll()})") from None
        except msgspec.DecodeError as error:
            raise OSError(f"the reading process answered nonsense ({error})") from None
        if len(digests) != len(jobs):
            raise OSError("the reading process answered for other files")
        return digests

    def close(self) -> None:
        with contextlib.suppress(OSError):
            if self._process.stdin is not None:
                self._process.stdin.close()
        try:
            self._process.wait(5)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()


def _send(out: IO[bytes], data: bytes) -> None:
    out.write(_LENGTH.pack(len(data)) + data)
    out.flush()


def _receive(stream: IO[bytes]) -> bytes:
    """One frame; EOFError at the end of the stream."""
    head = stream.read(_LENGTH.size)
    if len(head) < _LENGTH.size:
        raise EOFError
    (length,) = _LENGTH.unpack(head)
    data = stream.read(length)
    if len(data) < length:
        raise EOFError
    return data


def main(argv: list[str]) -> int:
    """The child: answer batches until the server closes the pipe."""
    root, blobs_dir, cap = Path(argv[0]), Path(argv[1]), int(argv[2])
    with contextlib.suppress(OSError):
        os.nice(19)
    blobs = BlobStore(blobs_dir)
    decoder = msgspec.msgpack.Decoder(list[Job])
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    while True:
        try:
            jobs = decoder.decode(_receive(stdin))
        except EOFError:
            return 0
        try:
            _send(stdout, msgspec.msgpack.encode(read_batch(root, blobs, jobs, cap)))
        except BrokenPipeError:
            return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
