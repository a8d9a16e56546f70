"""A seccomp filter that takes sockets away from a command with no network.

Two variants. Under Landlock (no network namespace) no socket may be created at all: Landlock
can refuse TCP connect and bind (ABI 4) but not UDP, so DNS would still leave, and it does not
govern connecting to Unix sockets, so a command could talk to a root daemon (the D-Bus system
bus, docker) and have it act outside the sandbox. Under bwrap the network namespace already
isolates IP, so IP sockets stay allowed (a test suite may run a server on its own loopback) and
only Unix sockets are refused: the read-only view still shows host sockets outside /run and /tmp.
`socketpair()` is a separate syscall and stays allowed (pipes between a command's own processes).
io_uring is refused too, as it can open sockets without socket().
"""

from __future__ import annotations

import ctypes
import errno
import os
import platform
import struct

_PR_SET_NO_NEW_PRIVS = 38
_PR_SET_SECCOMP = 22
_SECCOMP_MODE_FILTER = 2

_RET_ALLOW = 0x7FFF0000
_RET_ERRNO = 0x00050000
_RET_KILL_PROCESS = 0x80000000

_LD_W_ABS = 0x20  # BPF_LD | BPF_W | BPF_ABS
_JEQ_K = 0x15  # BPF_JMP | BPF_JEQ | BPF_K
_JGE_K = 0x35  # BPF_JMP | BPF_JGE | BPF_K
_RET_K = 0x06  # BPF_RET | BPF_K

_OFFSET_NR = 0
_OFFSET_ARCH = 4
_OFFSET_ARG0 = 16  # low word of args[0] (little-endian)
_AF_INET = 2
_AF_INET6 = 10
_X32_SYSCALL_BIT = 0x40000000

# machine -> (AUDIT_ARCH value, socket, io_uring_setup)
_ARCHES: dict[str, tuple[int, int, int]] = {
    "x86_64": (0xC000003E, 41, 425),
    "aarch64": (0xC00000B7, 198, 425),
}

Row = tuple[int, int, int, int]


class _SockFilter(ctypes.Structure):
    _fields_ = (
        ("code", ctypes.c_uint16),
        ("jt", ctypes.c_uint8),
        ("jf", ctypes.c_uint8),
        ("k", ctypes.c_uint32),
    )


class _SockFprog(ctypes.Structure):
    _fields_ = (("len", ctypes.c_ushort), ("filter", ctypes.POINTER(_SockFilter)))


def network_filter_supported() -> bool:
    return platform.machine() in _ARCHES


def program(*, allow_ip: bool) -> list[Row]:
    """The BPF program as (code, jt, jf, k) rows, for this machine.

    `allow_ip` keeps AF_INET/AF_INET6 sockets (for use inside a network namespace).
    """
    arch, nr_socket, nr_io_uring = _ARCHES[platform.machine()]
    deny = _RET_ERRNO | errno.EACCES
    rows: list[Row] = [
        (_LD_W_ABS, 0, 0, _OFFSET_ARCH),
        (_JEQ_K, 1, 0, arch),
        (_RET_K, 0, 0, _RET_KILL_PROCESS),  # another ABI (e.g. i386 via int 0x80) could dodge us
        (_LD_W_ABS, 0, 0, _OFFSET_NR),
        (_JGE_K, 0, 1, _X32_SYSCALL_BIT),
        (_RET_K, 0, 0, _RET_ERRNO | errno.ENOSYS),
        (_JEQ_K, 0, 1, nr_io_uring),
        (_RET_K, 0, 0, _RET_ERRNO | errno.ENOSYS),
        (_JEQ_K, 1, 0, nr_socket),
        (_RET_K, 0, 0, _RET_ALLOW),
    ]
    if allow_ip:
        rows += [
            (_LD_W_ABS, 0, 0, _OFFSET_ARG0),
            (_JEQ_K, 1, 0, _AF_INET),
            (_JEQ_K, 0, 1, _AF_INET6),
            (_RET_K, 0, 0, _RET_ALLOW),
        ]
    rows.append((_RET_K, 0, 0, deny))
    return rows


def program_bytes(*, allow_ip: bool) -> bytes:
    """The program as the kernel's `struct sock_filter` array (bwrap's --seccomp format)."""
    return b"".join(struct.pack("=HBBI", *row) for row in program(allow_ip=allow_ip))


def program_fd(*, allow_ip: bool) -> int:
    """A pipe's read end holding the program, for `bwrap --seccomp FD`; the caller closes it."""
    data = program_bytes(allow_ip=allow_ip)
    read_fd, write_fd = os.pipe()
    try:
        os.write(write_fd, data)  # a few hundred bytes: far below the pipe buffer
    finally:
        os.close(write_fd)
    return read_fd


def install_network_filter(*, allow_ip: bool = False) -> None:
    """Install the filter on this process and its future children; irreversible."""
    rows = program(allow_ip=allow_ip)
    filters = (_SockFilter * len(rows))(*(_SockFilter(*row) for row in rows))
    prog = _SockFprog(len(rows), filters)
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "seccomp: could not set no_new_privs")
    if libc.prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, ctypes.byref(prog), 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "seccomp: the kernel refused the network filter")
