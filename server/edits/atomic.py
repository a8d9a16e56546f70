"""The one writer: atomic, mode-preserving writes and deletes that never follow a symlink.

Every file Tether writes, creates, deletes or restores goes through here. A write goes to a
temporary file in the target's directory (a rename is only atomic within a file system), is
flushed with fsync, gets the old file's permission bits, and is renamed over the target; the
directory is fsynced so the rename survives a crash.

With `beneath=root`, the path is resolved below `root` without following any symlink: in one
`openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS)` call where the kernel has it (Linux 5.6+), else
component by component with `O_NOFOLLOW | O_DIRECTORY` from the root's directory fd. The temporary
file, the rename and a delete then happen relative to the final parent's fd, so a directory
swapped for a symlink between the caller's check and the write cannot redirect it: the walk
refuses the symlink, or the write lands in the directory that was checked. Without `beneath`
(Tether's own state files) only the final component must not be a symlink.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import stat
import sys
from collections.abc import Iterator
from functools import cache
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
    """The target, or a directory on the way to it, is a symlink or not what it should be; the
    message says what to do."""


def atomic_write(
    path: StrPath, data: bytes | str, *, mode: int | None = None, beneath: StrPath | None = None
) -> None:
    """Replace `path` with `data` (str is written as UTF-8, with no newline translation).

    The file keeps its permission bits unless `mode` is given; a new file gets `mode` or the
    default the umask allows. Missing parent directories are created (below `beneath` too).
    """
    payload = data.encode("utf-8") if isinstance(data, str) else data
    target = Path(path)
    with _parent_fd(target, beneath, create=True) as parent:
        name = target.name
        existing = _regular_file_mode(parent, name, target)
        tmp = f".{name}{TEMP_MARKER}{os.getpid()}-{os.urandom(4).hex()}.tmp"
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        fd = os.open(tmp, flags, 0o666, dir_fd=parent)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(payload)
                out.flush()
                if mode is not None or existing is not None:
                    os.fchmod(out.fileno(), mode if mode is not None else existing or 0)
                os.fsync(out.fileno())
            # renameat replaces a symlink put there meanwhile instead of writing through it.
            os.rename(tmp, name, src_dir_fd=parent, dst_dir_fd=parent)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp, dir_fd=parent)
            raise
        os.fsync(parent)


def atomic_delete(
    path: StrPath, *, missing_ok: bool = False, beneath: StrPath | None = None
) -> None:
    """Remove the file (or symlink itself) at `path`; a directory is refused."""
    target = Path(path)
    try:
        with _parent_fd(target, beneath, create=False) as parent:
            try:
                info = os.stat(target.name, dir_fd=parent, follow_symlinks=False)
            except FileNotFoundError:
                raise FileNotFoundError(f"Cannot delete {target}: there is no such file.") from None
            if stat.S_ISDIR(info.st_mode):
                raise IsADirectoryError(f"Cannot delete {target}: it is a directory, not a file.")
            os.unlink(target.name, dir_fd=parent)
            os.fsync(parent)
    except FileNotFoundError:
        if not missing_ok:
            raise


def make_symlink(path: StrPath, link: str, *, beneath: StrPath) -> None:
    """Create the symlink `path` -> `link` (what a checkpoint restores); parents are created."""
    target = Path(path)
    with _parent_fd(target, beneath, create=True) as parent:
        os.symlink(link, target.name, dir_fd=parent)


def remove_empty_dir(path: StrPath, *, beneath: StrPath) -> None:
    """Remove the directory `path` if it is empty; OSError when it is not (or is gone)."""
    target = Path(path)
    with _parent_fd(target, beneath, create=False) as parent:
        os.rmdir(target.name, dir_fd=parent)


@contextlib.contextmanager
def _parent_fd(target: Path, beneath: StrPath | None, *, create: bool) -> Iterator[int]:
    if not target.name or target.name in (".", ".."):
        raise UnsafePathError(f"Refusing to write {target}: it does not name a file.")
    if beneath is None:
        if create:
            target.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(target.parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    else:
        fd = open_dir_beneath(Path(beneath), _relative_parent(target, Path(beneath)), create)
    try:
        yield fd
    finally:
        os.close(fd)


def _relative_parent(target: Path, root: Path) -> tuple[str, ...]:
    """The directories from `root` down to `target`'s parent, as plain names."""
    absolute = Path(os.path.abspath(target))
    for base in dict.fromkeys((Path(os.path.abspath(root)), Path(os.path.realpath(root)))):
        if absolute.parts[: len(base.parts)] == base.parts and absolute != base:
            return absolute.parts[len(base.parts) : -1]
    raise UnsafePathError(
        f"Refusing to write {target}: it is not inside {root}, where this write must stay."
    )


def open_dir_beneath(root: Path, parts: tuple[str, ...], create: bool) -> int:
    """An fd on the directory `root/parts...`, reached without following any symlink;
    with `create`, missing directories are made on the way."""
    root_fd = os.open(os.path.realpath(root), os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    if not parts:
        return root_fd
    try:
        if _openat2_available():
            try:
                return _openat2_dir(root_fd, "/".join(parts))
            except FileNotFoundError:
                if not create:
                    raise
        return _walk(root_fd, parts, create, root)
    finally:
        os.close(root_fd)


def _walk(root_fd: int, parts: tuple[str, ...], create: bool, root: Path) -> int:
    fd = os.dup(root_fd)
    try:
        for index, part in enumerate(parts):
            if part in ("", ".", ".."):
                raise UnsafePathError(f"Refusing a path through {part!r} below {root}.")
            if create:
                with contextlib.suppress(FileExistsError):
                    os.mkdir(part, 0o777, dir_fd=fd)
            try:
                child = os.open(part, _DIR_FLAGS, dir_fd=fd)
            except OSError as error:
                if error.errno in (errno.ELOOP, errno.ENOTDIR):
                    raise _not_a_directory(root, parts[: index + 1]) from None
                raise
            os.close(fd)
            fd = child
    except BaseException:
        os.close(fd)
        raise
    return fd


_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def _not_a_directory(root: Path, parts: tuple[str, ...]) -> UnsafePathError:
    where = root.joinpath(*parts)
    return UnsafePathError(
        f"Refusing to write below {where}: it is a symbolic link or not a directory (it may "
        "have been replaced since the path was checked). Nothing was written; check the path.",
    )


# openat2(2): struct open_how and the RESOLVE_* flags from <linux/openat2.h>; the syscall
# number is the same on every architecture (it postdates the unified table).
_SYS_OPENAT2 = 437
_RESOLVE_NO_MAGICLINKS = 0x02
_RESOLVE_NO_SYMLINKS = 0x04
_RESOLVE_BENEATH = 0x08


class _OpenHow(ctypes.Structure):
    _fields_ = [("flags", ctypes.c_uint64), ("mode", ctypes.c_uint64), ("resolve", ctypes.c_uint64)]


@cache
def _libc() -> ctypes.CDLL | None:
    if sys.platform != "linux":
        return None
    try:
        return ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None


def _raw_openat2(dir_fd: int, path: str) -> int:
    libc = _libc()
    if libc is None:
        raise OSError(errno.ENOSYS, "openat2 is not available")
    how = _OpenHow(
        _DIR_FLAGS & ~os.O_NOFOLLOW,
        0,
        _RESOLVE_BENEATH | _RESOLVE_NO_SYMLINKS | _RESOLVE_NO_MAGICLINKS,
    )
    result = libc.syscall(
        ctypes.c_long(_SYS_OPENAT2),
        ctypes.c_int(dir_fd),
        ctypes.c_char_p(os.fsencode(path)),
        ctypes.byref(how),
        ctypes.c_size_t(ctypes.sizeof(how)),
    )
    if result < 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code), path)
    return int(result)


@cache
def _openat2_available() -> bool:
    """Whether the kernel has openat2 (and no seccomp filter refuses it)."""
    probe = os.open("/", _DIR_FLAGS)
    try:
        os.close(_raw_openat2(probe, "."))
    except OSError:
        return False
    finally:
        os.close(probe)
    return True


def _openat2_dir(root_fd: int, relative: str) -> int:
    try:
        return _raw_openat2(root_fd, relative)
    except OSError as error:
        # ELOOP: a symlink on the way; EXDEV: ".." or an absolute link tried to leave the root.
        if error.errno in (errno.ELOOP, errno.EXDEV, errno.ENOTDIR):
            raise UnsafePathError(
                f"Refusing to write below {relative}: a directory on the way is a symbolic link "
                "or not a directory (it may have been replaced since the path was checked). "
                "Nothing was written; check the path.",
            ) from None
        if error.errno == errno.ENOENT:
            raise FileNotFoundError(error.errno, "no such directory", relative) from None
        raise


def _regular_file_mode(parent: int, name: str, target: Path) -> int | None:
    """The permission bits of an existing regular file, None if there is none."""
    try:
        info = os.stat(name, dir_fd=parent, follow_symlinks=False)
    except FileNotFoundError:
        return None
    if stat.S_ISLNK(info.st_mode):
        raise UnsafePathError(
            f"Refusing to write {target}: it is a symbolic link. Write to the file it points "
            f"to ({os.readlink(name, dir_fd=parent)}) by that path instead."
        )
    if not stat.S_ISREG(info.st_mode):
        raise UnsafePathError(f"Refusing to write {target}: it is not a regular file.")
    return stat.S_IMODE(info.st_mode)
