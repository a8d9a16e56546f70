"""Seccomp filters: sockets taken away from a command with no network, and, under Landlock, the
syscalls that would let root (or any user) reach outside the sandbox.

The network part has two variants. Under Landlock (no network namespace) no socket may be
created at all: Landlock can refuse TCP connect and bind (ABI 4) but not UDP, so DNS would still
leave, and it does not govern connecting to Unix sockets, so a command could talk to a root daemon
(the D-Bus system bus, docker) and have it act outside the sandbox. Under bwrap the network
namespace already isolates IP, so IP sockets stay allowed (a test suite may run a server on its
own loopback) and only Unix sockets are refused: the read-only view still shows host sockets
outside /run and /tmp. `socketpair()` is a separate syscall and stays allowed (pipes between a
command's own processes). io_uring is refused too, as it can open sockets without socket().

The hardening part (`Hardening`) is what bwrap's namespaces give for free and Landlock does not:
no device nodes, no terminal injection (TIOCSTI, TIOCLINUX), no clock, module, reboot, mount,
keyring, ptrace, perf_event, bpf or namespace syscalls, no changing other processes' limits or
priority, and no signals to the processes named in `Hardening.shielded` (the server, the helper).
"""

from __future__ import annotations

import ctypes
import errno
import os
import platform
import struct
from collections.abc import Sequence
from dataclasses import dataclass

_PR_SET_NO_NEW_PRIVS = 38
_PR_SET_SECCOMP = 22
_SECCOMP_MODE_FILTER = 2

_RET_ALLOW = 0x7FFF0000
_RET_ERRNO = 0x00050000
_RET_KILL_PROCESS = 0x80000000

_LD_W_ABS = 0x20  # BPF_LD | BPF_W | BPF_ABS
_JEQ_K = 0x15  # BPF_JMP | BPF_JEQ | BPF_K
_JGE_K = 0x35  # BPF_JMP | BPF_JGE | BPF_K
_JSET_K = 0x45  # BPF_JMP | BPF_JSET | BPF_K
_AND_K = 0x54  # BPF_ALU | BPF_AND | BPF_K
_RET_K = 0x06  # BPF_RET | BPF_K

_OFFSET_NR = 0
_OFFSET_ARCH = 4
_AF_INET = 2
_AF_INET6 = 10
_X32_SYSCALL_BIT = 0x40000000
_S_IFMT = 0o170000
_S_IFCHR = 0o020000
_S_IFBLK = 0o060000
_TIOCSTI = 0x5412
_TIOCLINUX = 0x541C
# CLONE_NEWNS | NEWCGROUP | NEWUTS | NEWIPC | NEWUSER | NEWPID | NEWNET
_CLONE_NEW_NAMESPACES = 0x7E020000

# The syscall numbers we filter, per machine (x86_64's own table; aarch64 uses the generic one).
_NUMBERS: dict[str, dict[str, int]] = {
    "x86_64": {
        "socket": 41, "io_uring_setup": 425, "mknod": 133, "mknodat": 259, "ioctl": 16,
        "clock_settime": 227, "settimeofday": 164, "adjtimex": 159, "clock_adjtime": 305,
        "init_module": 175, "finit_module": 313, "delete_module": 176, "reboot": 169,
        "kexec_load": 246, "kexec_file_load": 320, "mount": 165, "umount2": 166,
        "pivot_root": 155, "open_tree": 428, "move_mount": 429, "fsopen": 430, "fsconfig": 431,
        "fsmount": 432, "fspick": 433, "mount_setattr": 442, "swapon": 167, "swapoff": 168,
        "keyctl": 250, "add_key": 248, "request_key": 249, "ptrace": 101,
        "process_vm_readv": 310, "process_vm_writev": 311, "perf_event_open": 298, "bpf": 321,
        "setns": 308, "unshare": 272, "clone": 56, "clone3": 435, "prlimit64": 302,
        "setpriority": 141, "kill": 62, "tkill": 200, "tgkill": 234, "rt_sigqueueinfo": 129,
        "rt_tgsigqueueinfo": 297, "pidfd_open": 434, "acct": 163, "syslog": 103,
        "name_to_handle_at": 303, "open_by_handle_at": 304, "sethostname": 170,
        "setdomainname": 171, "iopl": 172, "ioperm": 173, "quotactl": 179,
    },
    "aarch64": {
        "socket": 198, "io_uring_setup": 425, "mknodat": 33, "ioctl": 29,
        "clock_settime": 112, "settimeofday": 170, "adjtimex": 171, "clock_adjtime": 266,
        "init_module": 105, "finit_module": 273, "delete_module": 106, "reboot": 142,
        "kexec_load": 104, "kexec_file_load": 294, "mount": 40, "umount2": 39,
        "pivot_root": 41, "open_tree": 428, "move_mount": 429, "fsopen": 430, "fsconfig": 431,
        "fsmount": 432, "fspick": 433, "mount_setattr": 442, "swapon": 224, "swapoff": 225,
        "keyctl": 219, "add_key": 217, "request_key": 218, "ptrace": 117,
        "process_vm_readv": 270, "process_vm_writev": 271, "perf_event_open": 241, "bpf": 280,
        "setns": 268, "unshare": 97, "clone": 220, "clone3": 435, "prlimit64": 261,
        "setpriority": 140, "kill": 129, "tkill": 130, "tgkill": 131, "rt_sigqueueinfo": 138,
        "rt_tgsigqueueinfo": 240, "pidfd_open": 434, "acct": 89, "syslog": 116,
        "name_to_handle_at": 264, "open_by_handle_at": 265, "sethostname": 161,
        "setdomainname": 162, "quotactl": 60,
    },
}  # fmt: skip
_AUDIT_ARCH = {"x86_64": 0xC000003E, "aarch64": 0xC00000B7}

# Refused outright under Landlock: each either needs a capability the command no longer has
# (refusing it is belt and braces) or reaches outside the sandbox without one (keyrings, ptrace
# of the same user's processes, perf, unprivileged user namespaces).
_REFUSED = (
    "clock_settime", "settimeofday", "adjtimex", "clock_adjtime", "init_module", "finit_module",
    "delete_module", "reboot", "kexec_load", "kexec_file_load", "mount", "umount2", "pivot_root",
    "open_tree", "move_mount", "fsopen", "fsconfig", "fsmount", "fspick", "mount_setattr",
    "swapon", "swapoff", "keyctl", "add_key", "request_key", "ptrace", "process_vm_readv",
    "process_vm_writev", "perf_event_open", "bpf", "setns", "unshare", "acct", "syslog",
    "name_to_handle_at", "open_by_handle_at", "sethostname", "setdomainname", "iopl", "ioperm",
    "quotactl",
)  # fmt: skip
# Signal-sending syscalls whose first argument names the target process (or group).
_SIGNALLING = ("kill", "tkill", "tgkill", "rt_sigqueueinfo", "rt_tgsigqueueinfo", "pidfd_open")

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


@dataclass(frozen=True)
class Hardening:
    """The Landlock launcher's extra refusals. `shielded` are pids the command may not signal
    (nor their process groups); -1 (every process) is always refused."""

    shielded: tuple[int, ...] = ()


def network_filter_supported() -> bool:
    return platform.machine() in _NUMBERS


def _arg(index: int) -> int:
    return 16 + 8 * index  # low word of args[index] (little-endian)


def _deny(code: int = errno.EPERM) -> Row:
    return (_RET_K, 0, 0, _RET_ERRNO | code)


def _allow() -> Row:
    return (_RET_K, 0, 0, _RET_ALLOW)


def _for_syscall(nr: int, body: Sequence[Row]) -> list[Row]:
    """`body` runs for syscall `nr` only and must end in a return; other syscalls skip it and
    find the syscall number in the accumulator again."""
    return [(_JEQ_K, 0, len(body), nr), *body]


def _deny_when_arg_in(index: int, values: Sequence[int]) -> list[Row]:
    rows: list[Row] = [(_LD_W_ABS, 0, 0, _arg(index))]
    for position, value in enumerate(values):
        remaining = len(values) - position - 1
        rows.append((_JEQ_K, remaining + 1, 0, value & 0xFFFFFFFF))
    return [*rows, _allow(), _deny()]


def _network_rows(numbers: dict[str, int], allow_ip: bool) -> list[Row]:
    rows: list[Row] = [(_JEQ_K, 0, 1, numbers["io_uring_setup"]), _deny(errno.ENOSYS)]
    if not allow_ip:
        return [*rows, *_for_syscall(numbers["socket"], [_deny(errno.EACCES)])]
    body: list[Row] = [
        (_LD_W_ABS, 0, 0, _arg(0)),
        (_JEQ_K, 1, 0, _AF_INET),
        (_JEQ_K, 0, 1, _AF_INET6),
        _allow(),
        _deny(errno.EACCES),
    ]
    return [*rows, *_for_syscall(numbers["socket"], body)]


def _hardening_rows(numbers: dict[str, int], hardening: Hardening) -> list[Row]:
    rows: list[Row] = []
    for name in _REFUSED:
        if name in numbers:
            rows += [(_JEQ_K, 0, 1, numbers[name]), _deny()]
    # glibc falls back to clone() when clone3 is missing; clone's flags can be inspected.
    rows += [(_JEQ_K, 0, 1, numbers["clone3"]), _deny(errno.ENOSYS)]
    rows += _for_syscall(
        numbers["clone"],
        [(_LD_W_ABS, 0, 0, _arg(0)), (_JSET_K, 0, 1, _CLONE_NEW_NAMESPACES), _deny(), _allow()],
    )
    for name, mode_arg in (("mknod", 1), ("mknodat", 2)):
        if name in numbers:
            rows += _for_syscall(
                numbers[name],
                [
                    (_LD_W_ABS, 0, 0, _arg(mode_arg)),
                    (_AND_K, 0, 0, _S_IFMT),
                    (_JEQ_K, 1, 0, _S_IFCHR),
                    (_JEQ_K, 0, 1, _S_IFBLK),
                    _deny(),
                    _allow(),
                ],
            )
    rows += _for_syscall(numbers["ioctl"], _deny_when_arg_in(1, (_TIOCSTI, _TIOCLINUX)))
    # Only the caller's own limits and priority (pid/who 0): never the server's.
    for name, who_arg in (("prlimit64", 0), ("setpriority", 1)):
        rows += _for_syscall(
            numbers[name], [(_LD_W_ABS, 0, 0, _arg(who_arg)), (_JEQ_K, 0, 1, 0), _allow(), _deny()]
        )
    targets = [-1, *hardening.shielded, *(-pid for pid in hardening.shielded)]
    for name in _SIGNALLING:
        rows += _for_syscall(numbers[name], _deny_when_arg_in(0, targets))
    return rows


def program(
    *, allow_ip: bool, network: bool = False, hardening: Hardening | None = None
) -> list[Row]:
    """The BPF program as (code, jt, jf, k) rows, for this machine.

    Without `network`, sockets are refused (`allow_ip` keeps AF_INET/AF_INET6 ones, for use
    inside a network namespace); `hardening` adds the Landlock launcher's refusals.
    """
    machine = platform.machine()
    numbers = _NUMBERS[machine]
    rows: list[Row] = [
        (_LD_W_ABS, 0, 0, _OFFSET_ARCH),
        (_JEQ_K, 1, 0, _AUDIT_ARCH[machine]),
        (_RET_K, 0, 0, _RET_KILL_PROCESS),  # another ABI (e.g. i386 via int 0x80) could dodge us
        (_LD_W_ABS, 0, 0, _OFFSET_NR),
        (_JGE_K, 0, 1, _X32_SYSCALL_BIT),
        _deny(errno.ENOSYS),
    ]
    if not network:
        rows += _network_rows(numbers, allow_ip)
    if hardening is not None:
        rows += _hardening_rows(numbers, hardening)
    rows.append(_allow())
    return rows


def shield_rows(shielded: Sequence[int]) -> list[Row]:
    """A filter refusing only signals to `shielded` (stacked on the command by its helper)."""
    machine = platform.machine()
    numbers = _NUMBERS[machine]
    rows: list[Row] = [
        (_LD_W_ABS, 0, 0, _OFFSET_ARCH),
        (_JEQ_K, 1, 0, _AUDIT_ARCH[machine]),
        (_RET_K, 0, 0, _RET_KILL_PROCESS),
        (_LD_W_ABS, 0, 0, _OFFSET_NR),
    ]
    targets = [*shielded, *(-pid for pid in shielded)]
    for name in _SIGNALLING:
        rows += _for_syscall(numbers[name], _deny_when_arg_in(0, targets))
    return [*rows, _allow()]


def program_bytes(*, allow_ip: bool) -> bytes:
    """The network program as the kernel's `struct sock_filter` array (bwrap's --seccomp)."""
    return _pack(program(allow_ip=allow_ip))


def _pack(rows: Sequence[Row]) -> bytes:
    return b"".join(struct.pack("=HBBI", *row) for row in rows)


def program_fd(*, allow_ip: bool) -> int:
    """A pipe's read end holding the program, for `bwrap --seccomp FD`; the caller closes it."""
    data = program_bytes(allow_ip=allow_ip)
    read_fd, write_fd = os.pipe()
    try:
        os.write(write_fd, data)  # a few hundred bytes: far below the pipe buffer
    finally:
        os.close(write_fd)
    return read_fd


def install(rows: Sequence[Row]) -> None:
    """Install a filter on this process and its future children; irreversible."""
    filters = (_SockFilter * len(rows))(*(_SockFilter(*row) for row in rows))
    prog = _SockFprog(len(rows), filters)
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "seccomp: could not set no_new_privs")
    if libc.prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, ctypes.byref(prog), 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "seccomp: the kernel refused the filter")
