"""Atomic writes and deletes: content, modes, parents, symlinks, no temp files left behind."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from server.edits.atomic import UnsafePathError, atomic_delete, atomic_write


def test_write_replaces_content_and_keeps_mode(tmp_path: Path) -> None:
    target = tmp_path / "run.sh"
    target.write_text("old")
    target.chmod(0o751)
    atomic_write(target, "new\r\n")
    assert target.read_bytes() == b"new\r\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o751
    assert os.listdir(tmp_path) == ["run.sh"]


def test_new_file_creates_parents_and_honours_umask(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "new.txt"
    previous = os.umask(0o022)
    try:
        atomic_write(target, b"\x00bytes")
    finally:
        os.umask(previous)
    assert target.read_bytes() == b"\x00bytes"
    assert stat.S_IMODE(target.stat().st_mode) == 0o644


def test_explicit_mode_wins(tmp_path: Path) -> None:
    target = tmp_path / "x"
    atomic_write(target, "x", mode=0o600)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_refuses_symlink_at_final_component(tmp_path: Path) -> None:
    real = tmp_path / "real.txt"
    real.write_text("keep")
    link = tmp_path / "link.txt"
    link.symlink_to(real)
    with pytest.raises(UnsafePathError, match="symbolic link"):
        atomic_write(link, "clobber")
    assert real.read_text() == "keep" and link.is_symlink()


def test_refuses_directory(tmp_path: Path) -> None:
    with pytest.raises(UnsafePathError, match="not a regular file"):
        atomic_write(tmp_path, "x")


def test_failed_write_leaves_target_and_no_temp_file(tmp_path: Path) -> None:
    target = tmp_path / "f"
    target.write_text("keep")
    with pytest.raises(TypeError):
        atomic_write(target, 42)  # type: ignore[arg-type]
    assert target.read_text() == "keep"
    assert os.listdir(tmp_path) == ["f"]


def test_delete_file_symlink_and_errors(tmp_path: Path) -> None:
    target = tmp_path / "f"
    target.write_text("x")
    link = tmp_path / "l"
    link.symlink_to(target)
    atomic_delete(link)
    assert target.exists() and not link.exists()
    atomic_delete(target)
    assert not target.exists()
    atomic_delete(target, missing_ok=True)
    with pytest.raises(FileNotFoundError, match="no such file"):
        atomic_delete(target)
    with pytest.raises(IsADirectoryError):
        atomic_delete(tmp_path)
