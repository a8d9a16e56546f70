"""Reading workspace content without being trapped by it.

A command or the model can leave anything where Tether later reads: a FIFO (an `open` that
never returns), a symlink to `/dev/zero` or to `~/.ssh/id_rsa`, a 10 GB sparse file. Every
read of workspace content goes through here, and here:

- a path is opened with O_NONBLOCK | O_NOFOLLOW and the open fd is fstat'ed before a byte is
  read, so a file swapped for a FIFO or a symlink between a check and the open neither blocks
  nor follows; anything but a regular file is refused (`NotRegularFile`) without being read;
- a read takes at most a bound (`TooLarge` says the size), or one window of the file
  (`read_window`), so a sparse file costs only what is asked for;
- `open_beneath` opens a path below a root one component at a time from directory fds, never
  through a symlink, for paths a command may have re-pointed (turn diffs, snapshots).

The messages are written for the model and the user: "x is a FIFO; not read".
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from pathlib import Path

from server.edits.atomic import UnsafePathError, open_dir_beneath

StrPath = str | os.PathLike[str]

_READ_FLAGS = os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC
CHUNK = 1024 * 1024


class NotReadable(OSError):
    """A path Tether will not read; `str()` says why and what to do instead."""

    def __init__(self, message: str) -> None:
        super().__init__(errno.EPERM, message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class NotRegularFile(NotReadable):
    """A FIFO, socket, device, directory or symlink where a file's content was wanted."""

    def __init__(self, path: StrPath, kind: str) -> None:
        super().__init__(f"{os.fspath(path)} is {kind}; not read.")
        self.kind = kind


class TooLarge(NotReadable):
    """A regular file larger than the read allows."""

    def __init__(self, path: StrPath, size: int, limit: int) -> None:
        super().__init__(
            f"{os.fspath(path)} is {human_size(size)}, more than the {human_size(limit)} "
            "Tether reads at once; not read whole."
        )
        self.size = size


def human_size(size: int) -> str:
    for unit, scale in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size} bytes"


def kind_of(mode: int) -> str:
    """What a non-regular file is, in words."""
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISLNK(mode):
        return "a symlink"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    return "not a regular file"


def open_regular(
    path: StrPath, *, dir_fd: int | None = None, shown: StrPath | None = None
) -> tuple[int, os.stat_result]:
    """An fd open for reading on the regular file `path`, and its fstat. Raises
    NotRegularFile for anything else (a final symlink included), OSError when it is missing."""
    name = shown if shown is not None else path
    try:
        fd = os.open(path, _READ_FLAGS, dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise NotRegularFile(name, "a symlink") from None
        if exc.errno == errno.ENXIO:  # a socket, or a FIFO on some systems
            raise NotRegularFile(name, "a socket or FIFO") from None
        raise
    try:
        info = os.fstat(fd)
    except OSError:
        os.close(fd)
        raise
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise NotRegularFile(name, kind_of(info.st_mode))
    return fd, info


def read_fd(fd: int, limit: int, shown: StrPath, size: int) -> bytes:
    """Up to `limit` bytes from the start of `fd`; TooLarge when there are more (a file that
    grew after its fstat, or a /proc-style file that reports size 0, counts too)."""
    if size > limit:
        raise TooLarge(shown, size, limit)
    parts: list[bytes] = []
    total = 0
    while total <= limit:
        chunk = os.read(fd, min(CHUNK, limit + 1 - total))
        if not chunk:
            return b"".join(parts)
        parts.append(chunk)
        total += len(chunk)
    raise TooLarge(shown, max(size, total), limit)


def read_bounded(path: StrPath, limit: int, *, dir_fd: int | None = None) -> bytes:
    """The whole content of the regular file `path`, if it is at most `limit` bytes."""
    fd, info = open_regular(path, dir_fd=dir_fd)
    try:
        return read_fd(fd, limit, path, info.st_size)
    finally:
        os.close(fd)


def read_head(path: StrPath, limit: int) -> tuple[bytes, int]:
    """The first `limit` bytes of the regular file `path`, and its size."""
    fd, info = open_regular(path)
    try:
        return os.pread(fd, limit, 0), info.st_size
    finally:
        os.close(fd)


def open_beneath(root: StrPath, relative: str) -> tuple[int, os.stat_result]:
    """`open_regular` of `root/relative`, following no symlink below `root`: every directory
    on the way is opened with O_NOFOLLOW from its parent's fd, so a component a command turned
    into a symlink (to `$HOME`, to `~/.ssh`) is refused instead of followed."""
    parts = [p for p in Path(relative).parts if p not in ("", ".")]
    if not parts or ".." in parts or Path(relative).is_absolute():
        raise NotReadable(f"{relative} is not a path below {os.fspath(root)}.")
    try:
        fd = open_dir_beneath(Path(root), tuple(parts[:-1]), create=False)
    except UnsafePathError:
        shown = os.path.join(os.fspath(root), *parts[:-1])
        raise NotRegularFile(shown, "a symlink or not a directory") from None
    try:
        return open_regular(parts[-1], dir_fd=fd, shown=os.path.join(os.fspath(root), relative))
    finally:
        with contextlib.suppress(OSError):
            os.close(fd)
