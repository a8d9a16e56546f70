"""safe_read never blocks on a FIFO, never follows a symlink it was not asked to, reads at most
its bound; snapshots survive files vanishing and directories swapped for symlinks mid-walk."""

from __future__ import annotations

import os
import subprocess
import threading
from pathlib import Path

import pytest

from server.edits.blobs import BlobStore
from server.edits.safe_read import (
    NotRegularFile,
    TooLarge,
    open_beneath,
    read_bounded,
    read_head,
)
from server.edits.snapshot import SnapshotLimits, take_snapshot


def test_special_files_and_symlinks_are_refused_without_blocking(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe")  # no writer: a plain open() would block forever
    (tmp_path / "link").symlink_to("/dev/zero")
    with pytest.raises(NotRegularFile, match="is a FIFO"):
        read_bounded(tmp_path / "pipe", 10)
    with pytest.raises(NotRegularFile, match="is a symlink"):
        read_bounded(tmp_path / "link", 10)
    with pytest.raises(NotRegularFile, match="is a character device"):
        read_bounded("/dev/zero", 10)
    with pytest.raises(NotRegularFile, match="is a directory"):
        read_bounded(tmp_path, 10)


def test_reads_are_bounded(tmp_path: Path) -> None:
    big = tmp_path / "big"
    with big.open("wb") as handle:
        handle.write(b"head")
        handle.truncate(3 << 30)
    with pytest.raises(TooLarge, match=r"is 3\.0 GB"):
        read_bounded(big, 1 << 20)
    head, size = read_head(big, 4)
    assert (head, size) == (b"head", 3 << 30)


def test_open_beneath_follows_no_symlink_below_the_root(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_text("key")
    root = tmp_path / "root"
    (root / "real").mkdir(parents=True)
    (root / "real" / "f").write_text("ok")
    (root / "sub").symlink_to(outside)
    fd, _info = open_beneath(root, "real/f")
    os.close(fd)
    with pytest.raises(NotRegularFile, match="sub is a symlink"):
        open_beneath(root, "sub/secret")
    assert (root / "sub" / "secret").read_text() == "key"  # control: by path it leads out


def test_a_snapshot_survives_files_deleted_and_dirs_swapped_while_it_walks(
    tmp_path: Path,
) -> None:
    root = tmp_path / "ws"
    for d in range(10):
        (root / f"d{d}").mkdir(parents=True)
        for f in range(100):
            (root / f"d{d}" / f"f{f}").write_text(f"{d}/{f}")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "f0").write_text("outside")
    stop = threading.Event()

    def churn() -> None:
        while not stop.is_set():
            for d in range(10):
                victim = root / f"d{d}"
                for f in range(0, 100, 7):
                    (victim / f"f{f}").unlink(missing_ok=True)
                if d % 5 == 0 and victim.is_dir() and not victim.is_symlink():
                    victim.rename(tmp_path / f"gone{d}")
                    victim.symlink_to(outside)

    worker = threading.Thread(target=churn)
    worker.start()
    try:
        manifests = [
            take_snapshot(root, BlobStore(tmp_path / "blobs"), limits=SnapshotLimits())
            for _ in range(3)
        ]
    finally:
        stop.set()
        worker.join()
    blobs = BlobStore(tmp_path / "blobs")
    for manifest in manifests:
        for entry in manifest.entries.values():
            if entry.digest is not None:
                assert blobs.get(entry.digest) != b"outside"  # never read through the link


def test_a_bind_mount_loop_is_walked_once(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    (root / "sub" / "loop").mkdir(parents=True)
    (root / "sub" / "f").write_text("x")
    if os.geteuid() != 0:
        pytest.skip("a bind mount needs root")
    mounted = subprocess.run(
        ["mount", "--bind", str(root), str(root / "sub" / "loop")], check=False
    )
    if mounted.returncode != 0:
        pytest.skip("cannot bind-mount here")
    try:
        manifest = take_snapshot(root, BlobStore(tmp_path / "blobs"))
    finally:
        subprocess.run(["umount", "-l", str(root / "sub" / "loop")], check=False)
    assert set(manifest.entries) == {"sub/f"}
    assert manifest.report.loops == 1 and manifest.report.describe() is not None
