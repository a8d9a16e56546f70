"""Landlock through raw syscalls (ctypes): restrict the calling process and everything it starts.

Landlock rules only grant, and a grant on a directory covers everything beneath it. So "all of /
except ~/.ssh" is spelled as grants on each sibling along the way down to ~/.ssh (see
`grants_excluding`); the directories on that way cannot even be listed (a listing right there
would list ~/.ssh too), though what they hold can still be opened by name.
"""

from __future__ import annotations

import ctypes
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

_SYS_CREATE_RULESET = 444  # the same number on every architecture (generic syscall table)
_SYS_ADD_RULE = 445
_SYS_RESTRICT_SELF = 446
_RULE_PATH_BENEATH = 1
_PR_SET_NO_NEW_PRIVS = 38

EXECUTE = 1 << 0
WRITE_FILE = 1 << 1
READ_FILE = 1 << 2
READ_DIR = 1 << 3
REMOVE_DIR = 1 << 4
REMOVE_FILE = 1 << 5
MAKE_CHAR = 1 << 6
MAKE_DIR = 1 << 7
MAKE_REG = 1 << 8
MAKE_SOCK = 1 << 9
MAKE_FIFO = 1 << 10
MAKE_BLOCK = 1 << 11
MAKE_SYM = 1 << 12
REFER = 1 << 13  # ABI 2
TRUNCATE = 1 << 14  # ABI 3
IOCTL_DEV = 1 << 15  # ABI 5
NET_BIND_TCP = 1 << 0  # ABI 4
NET_CONNECT_TCP = 1 << 1
SCOPE_ABSTRACT_UNIX_SOCKET = 1 << 0  # ABI 6
SCOPE_SIGNAL = 1 << 1

FILE_ONLY_RIGHTS = EXECUTE | WRITE_FILE | READ_FILE | TRUNCATE | IOCTL_DEV
READ_RIGHTS = EXECUTE | READ_FILE | READ_DIR
_WRITE_RIGHTS_ABI1 = (
    WRITE_FILE
    | REMOVE_DIR
    | REMOVE_FILE
    | MAKE_CHAR
    | MAKE_DIR
    | MAKE_REG
    | MAKE_SOCK
    | MAKE_FIFO
    | MAKE_BLOCK
    | MAKE_SYM
)


class LandlockError(OSError):
    """Landlock is missing or refused a step; the sandbox must not run the command."""


class _RulesetAttr(ctypes.Structure):
    _fields_ = (
        ("handled_access_fs", ctypes.c_uint64),
        ("handled_access_net", ctypes.c_uint64),
        ("scoped", ctypes.c_uint64),
    )


class _PathBeneathAttr(ctypes.Structure):
    _pack_ = 1
    _fields_ = (("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32))


_libc = ctypes.CDLL(None, use_errno=True)
_syscall = _libc.syscall
_syscall.restype = ctypes.c_long


def _call(number: int, *args: object) -> int:
    return int(_syscall(ctypes.c_long(number), *args))


def abi_version() -> int:
    """The kernel's Landlock ABI version; 0 when Landlock is unavailable."""
    version_flag = ctypes.c_uint32(1)
    return max(_call(_SYS_CREATE_RULESET, None, ctypes.c_size_t(0), version_flag), 0)


def fs_rights(abi: int) -> int:
    """Every filesystem right this ABI knows (the ones a ruleset handles)."""
    rights = READ_RIGHTS | _WRITE_RIGHTS_ABI1
    if abi >= 2:
        rights |= REFER
    if abi >= 3:
        rights |= TRUNCATE
    if abi >= 5:
        rights |= IOCTL_DEV
    return rights


@dataclass(frozen=True)
class Grant:
    path: Path
    rights: int


def restrict_self(grants: Iterable[Grant], *, abi: int, deny_tcp: bool) -> None:
    """Confine this process (and its future children) to `grants`; irreversible."""
    handled = fs_rights(abi)
    net = NET_BIND_TCP | NET_CONNECT_TCP if deny_tcp and abi >= 4 else 0
    # Scoping (ABI 6) keeps the command from signalling or reaching abstract sockets outside it.
    scoped = SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL if abi >= 6 else 0
    attr = _RulesetAttr(handled, net, scoped)
    size = 8 if abi < 4 else 16 if abi < 6 else 24  # older kernels reject fields they lack
    ruleset_fd = _check(
        _call(_SYS_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size), ctypes.c_uint32(0)),
        "create a Landlock ruleset",
    )
    try:
        for grant in grants:
            _add_path_rule(ruleset_fd, grant, handled)
        _check(_libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "set no_new_privs")
        _check(
            _call(_SYS_RESTRICT_SELF, ctypes.c_int(ruleset_fd), ctypes.c_uint32(0)),
            "enforce the Landlock ruleset",
        )
    finally:
        os.close(ruleset_fd)


def _add_path_rule(ruleset_fd: int, grant: Grant, handled: int) -> None:
    try:
        fd = os.open(grant.path, os.O_PATH | os.O_CLOEXEC)
    except OSError:
        return  # vanished since it was listed: nothing there to grant
    try:
        rights = grant.rights & handled
        if not os.path.isdir(f"/proc/self/fd/{fd}"):
            rights &= FILE_ONLY_RIGHTS
        if rights == 0:
            return
        attr = _PathBeneathAttr(rights, fd)
        _check(
            _call(
                _SYS_ADD_RULE,
                ctypes.c_int(ruleset_fd),
                ctypes.c_int(_RULE_PATH_BENEATH),
                ctypes.byref(attr),
                ctypes.c_uint32(0),
            ),
            f"grant access to {grant.path}",
        )
    finally:
        os.close(fd)


def _check(result: int, what: str) -> int:
    if result < 0:
        errno = ctypes.get_errno()
        raise LandlockError(errno, f"Landlock could not {what}: {os.strerror(errno)}")
    return result


def grants_excluding(
    base: Path, excluded: Sequence[Path], rights: int, *, unlisted: Sequence[Path] = ()
) -> list[Grant]:
    """Grants giving `rights` on all of `base` except the `excluded` subtrees.

    Directories on the way to an excluded path get READ_DIR only (so they can be listed, their
    new entries stay out of reach), except those on the way to an `unlisted` one: a grant covers
    everything beneath it, so READ_DIR there would list the names inside the excluded directory
    too. Symlinks are skipped; their targets are granted where they really live.
    """
    inside = [e for e in excluded if _under(e, base)]
    if not inside:
        return [Grant(base, rights)]
    if base in inside or base.is_symlink() or not base.is_dir():
        return []
    hidden_below = any(_under(u, base) and u != base for u in unlisted)
    grants = [] if hidden_below else [Grant(base, rights & READ_DIR)]
    try:
        entries = sorted(os.scandir(base), key=lambda e: e.name)
    except OSError:
        return grants
    for entry in entries:
        if not entry.is_symlink():
            grants += grants_excluding(Path(entry.path), inside, rights, unlisted=unlisted)
    return grants


def _under(path: Path, base: Path) -> bool:
    return path.parts[: len(base.parts)] == base.parts
