"""The Kubernetes executor's file scripts, run by a real `/bin/sh` with coreutils as the Pod's
`sh -c` runs them: a write takes its bytes from stdin (never the command line), replaces a
symlink at the path instead of writing through it or into the directory it names, keeps a file's
mode, and refuses a directory reached through a symlink; a read says what is at the path. The
exec transport itself (the WebSocket) is not covered here (see tests/containers)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from sandbox.kubernetes import parse_read, read_script, write_script


def write(path: Path, data: bytes, extra: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    script = write_script(path, len(data))
    return subprocess.run(
        ["/bin/sh", "-c", script], input=data + extra, capture_output=True, timeout=60
    )


def read(path: Path) -> bytes:
    result = subprocess.run(
        ["/bin/sh", "-c", read_script(path)], capture_output=True, timeout=60, check=True
    )
    return parse_read(path, result.stdout.decode())


def test_a_write_streams_its_bytes_on_stdin_and_keeps_the_mode(tmp_path: Path) -> None:
    path = tmp_path / "big.bin"
    data = os.urandom(3 * 1024 * 1024)  # more than ARG_MAX: it could never be an argument
    script = write_script(path, len(data))
    assert len(script) < 2000
    assert write(path, data, extra=b"what follows is not the file's").returncode == 0
    assert path.read_bytes() == data and (path.stat().st_mode & 0o777) == 0o644
    path.chmod(0o600)
    assert write(path, b"again\n").returncode == 0
    assert path.read_bytes() == b"again\n" and (path.stat().st_mode & 0o777) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.bin"]  # no temporary left


def test_a_symlink_at_the_path_is_replaced_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    secret = outside / "secret.txt"
    secret.write_text("keep me\n")
    work = tmp_path / "work"
    work.mkdir()
    (work / "to_file").symlink_to(secret)
    (work / "to_dir").symlink_to(outside)
    assert write(work / "to_file", b"new\n").returncode == 0
    assert write(work / "to_dir", b"other\n").returncode == 0
    assert secret.read_text() == "keep me\n" and sorted(os.listdir(outside)) == ["secret.txt"]
    for name, text in (("to_file", b"new\n"), ("to_dir", b"other\n")):
        assert not (work / name).is_symlink() and (work / name).read_bytes() == text


def test_a_directory_reached_through_a_symlink_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    work = tmp_path / "work"
    work.mkdir()
    (work / "linked").symlink_to(outside)
    result = write(work / "linked" / "a.txt", b"x\n")
    assert result.returncode == 3 and b"without symlinks" in result.stderr
    assert os.listdir(outside) == []


def test_a_read_says_what_is_at_the_path(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_bytes(b"\xffbytes\n")
    assert read(path) == b"\xffbytes\n"
    with pytest.raises(FileNotFoundError):
        read(tmp_path / "missing")
    (tmp_path / "link").symlink_to(path)
    with pytest.raises(OSError, match="symlink"):
        read(tmp_path / "link")
    os.mkfifo(tmp_path / "fifo")
    with pytest.raises(OSError, match="not a regular file"):
        read(tmp_path / "fifo")
