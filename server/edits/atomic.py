"""Atomic, mode-preserving writes and deletes, so no reader ever sees a half-written file.

A write goes to a temporary file in the same directory (a rename is only atomic within a
file system), is flushed with fsync, gets the old file's permission bits, and is renamed
over the target; the directory is fsynced so the rename survives a crash. The final path
component must not be a symlink: replacing it would silently turn a link into a regular
file, and following it could write outside the workspace the caller checked.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

StrPath = str | os.PathLike[str]


TEMP_MARKER = ".tether-"


def is_atomic_temp(name: str) -> bool:
    """Whether a file name is one of our in-flight temporary files (a watcher should not
    report it, a snapshot should not keep it)."""
    return name.startswith(".") and TEMP_MARKER in name and name.endswith(".tmp")


def is_stale_atomic_temp(name: str) -> bool:
    """One of our temporary files whose writer process is gone (killed mid-write)."""
    if not is_atomic_temp(name):
        return False
    pid = name.rsplit(TEMP_MARKER, 1)[1].split("-", 1)[0]
    if not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


class UnsafePathError(OSError):
    """The target is a symlink or not a regular file; the message says what to do."""


def atomic_write(path: StrPath, data: bytes | str, *, mode: int | None = None) -> None:
    """Replace `path` with `data` (str is written as UTF-8, with no newline translation).

    The file keeps its permission bits unless `mode` is given; a new file gets `mode` or the
    default the umask allows. Missing parent directories are created.
    """
    target = Path(path)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    existing = _regular_file_mode(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}{TEMP_MARKER}{os.getpid()}-{os.urandom(4).hex()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(payload)
            out.flush()
            if mode is not None or existing is not None:
                os.fchmod(out.fileno(), mode if mode is not None else existing or 0)
            os.fsync(out.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    _fsync_dir(target.parent)


def atomic_delete(path: StrPath, *, missing_ok: bool = False) -> None:
    """Remove the file (or symlink itself) at `path`; a directory is refused."""
    target = Path(path)
    try:
        info = target.lstat()
    except FileNotFoundError:
        if missing_ok:
            return
        raise FileNotFoundError(f"Cannot delete {target}: there is no such file.") from None
    if stat.S_ISDIR(info.st_mode):
        raise IsADirectoryError(f"Cannot delete {target}: it is a directory, not a file.")
    target.unlink()
    _fsync_dir(target.parent)


def _regular_file_mode(target: Path) -> int | None:
    """The permission bits of an existing regular file, None if there is none."""
    try:
        info = target.lstat()
    except FileNotFoundError:
        return None
    if stat.S_ISLNK(info.st_mode):
        raise UnsafePathError(
            f"Refusing to write {target}: it is a symbolic link. Write to the file it points "
            f"to ({os.readlink(target)}) by that path instead."
        )
    if not stat.S_ISREG(info.st_mode):
        raise UnsafePathError(f"Refusing to write {target}: it is not a regular file.")
    return stat.S_IMODE(info.st_mode)


def _fsync_dir(directory: Path) -> None:
    # Directories cannot be opened for fsync on Windows; the rename is still atomic there.
    if os.name != "posix":
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
