"""A temporary file left by a writer killed mid-write is removed by the next snapshot; one
whose writer still runs is left alone."""

from __future__ import annotations

import os
from pathlib import Path

from server.edits.blobs import BlobStore
from server.edits.snapshot import take_snapshot


def test_snapshots_sweep_temp_files_of_dead_writers(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    root.mkdir()
    (root / "a.txt").write_text("a")
    dead = root / ".a.txt.tether-999999999-deadbeef.tmp"  # no such pid
    live = root / f".a.txt.tether-{os.getpid()}-cafef00d.tmp"
    dead.write_text("half")
    live.write_text("in flight")
    manifest = take_snapshot(root, BlobStore(tmp_path / "blobs"))
    assert set(manifest.entries) == {"a.txt"}
    assert not dead.exists() and live.exists()
