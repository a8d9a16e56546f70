"""`python -m sandbox.exec SPEC -- CMD...`: confine itself, run the command, and end its whole tree.

The fallback launcher for machines where bubblewrap cannot make namespaces. SPEC is JSON written
by `sandbox.launchers.landlock`: which paths are hidden, which are writable and whether the
network is allowed. The helper runs in three steps:

1. It confines itself: Landlock (reads everywhere but the hidden paths and /dev beyond its six
   harmless nodes; writes in the writable trees; no device nodes), then every capability goes
   (securebits locked so root regains none at exec, bounding and ambient sets emptied,
   no_new_privs), then seccomp (`sandbox.seccomp`: network and the hardening refusals).
2. It becomes a child subreaper and forks the command, which starts a session of its own, takes
   one more Landlock layer hiding every process's /proc entries, and a seccomp filter refusing
   signals to the helper; then it execs.
3. When the command exits (or the helper is told to stop by SIGTERM, or its server dies), the
   helper kills every descendant left, orphans included (they were reparented to it), and exits
   with the command's status. So no background job survives its command, with or without cgroups.

Nothing here can be undone by the command: Landlock domains, seccomp filters, dropped capabilities
and no_new_privs are inherited across fork and exec and only ever tighten.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from sandbox import landlock, seccomp

SETUP_FAILED_EXIT = 126
DEVICES = ("/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty")
_DEVICE_RIGHTS = landlock.READ_FILE | landlock.WRITE_FILE | landlock.IOCTL_DEV | landlock.TRUNCATE
_NO_DEVICE_NODES = ~(landlock.MAKE_CHAR | landlock.MAKE_BLOCK)

_PR_SET_PDEATHSIG = 1
_PR_SET_DUMPABLE = 4
_PR_CAPBSET_DROP = 24
_PR_SET_SECUREBITS = 28
_PR_SET_CHILD_SUBREAPER = 36
_PR_CAP_AMBIENT = 47
_PR_CAP_AMBIENT_CLEAR_ALL = 4
# NOROOT, NO_SETUID_FIXUP and NO_CAP_AMBIENT_RAISE, each with its lock; KEEP_CAPS off and locked.
_SECUREBITS = 0b1110_1111
_CAP_VERSION_3 = 0x20080522
_KILL_ROUNDS = 200


@dataclass(frozen=True)
class ExecSpec:
    hidden: tuple[Path, ...]
    writable: tuple[Path, ...]
    network: bool

    def to_json(self) -> str:
        return json.dumps(
            {
                "hidden": [str(p) for p in self.hidden],
                "writable": [str(p) for p in self.writable],
                "network": self.network,
            }
        )

    @classmethod
    def from_json(cls, text: str) -> ExecSpec:
        raw = json.loads(text)
        return cls(
            hidden=tuple(Path(p) for p in raw["hidden"]),
            writable=tuple(Path(p) for p in raw["writable"]),
            network=bool(raw["network"]),
        )


def grants_for(spec: ExecSpec, abi: int, *, other_processes: bool) -> list[landlock.Grant]:
    """Read everywhere but the hidden paths, /dev (six nodes only) and, unless
    `other_processes`, every process's /proc directory; write the writable trees whole (no
    device nodes there). The helper keeps /proc (it must find the command's descendants)."""
    withheld = [*spec.hidden, Path("/dev"), Path("/proc")]
    unlisted = [path for path in spec.hidden if path.is_dir()]
    grants = landlock.grants_excluding(Path("/"), withheld, landlock.READ_RIGHTS, unlisted=unlisted)
    everything = landlock.fs_rights(abi) & _NO_DEVICE_NODES
    for root in spec.writable:
        grants += landlock.grants_excluding(root, spec.hidden, everything, unlisted=unlisted)
    grants.append(landlock.Grant(Path("/dev"), landlock.READ_DIR))
    grants += [landlock.Grant(Path(d), _DEVICE_RIGHTS) for d in DEVICES if os.path.exists(d)]
    if other_processes:
        grants.append(landlock.Grant(Path("/proc"), landlock.READ_RIGHTS))
    else:
        grants += _proc_without_processes()
    return grants


def _proc_without_processes() -> list[landlock.Grant]:
    # /proc's own files (meminfo, cpuinfo, sys/...) stay readable; pid directories, including the
    # command's own, do not (new pids appear after the rules are made, so none can be granted).
    grants = [landlock.Grant(Path("/proc"), landlock.READ_DIR)]
    with os.scandir("/proc") as entries:
        for entry in entries:
            if not entry.name.isdigit() and not entry.is_symlink():
                grants.append(landlock.Grant(Path(entry.path), landlock.READ_RIGHTS))
    return grants


def confine(spec: ExecSpec) -> list[landlock.Grant]:
    """Confine this process (the helper); returns the grants of the command's own layer."""
    abi = landlock.abi_version()
    if abi < 1:
        raise landlock.LandlockError(0, "this kernel has no Landlock support")
    if not seccomp.network_filter_supported():
        raise OSError(0, "no seccomp filter for this CPU architecture")
    # Both layers are listed before either is enforced: once confined, / cannot be listed.
    helper_layer = grants_for(spec, abi, other_processes=True)
    command_layer = grants_for(spec, abi, other_processes=False)
    landlock.restrict_self(helper_layer, abi=abi, deny_tcp=not spec.network)
    drop_capabilities()
    hardening = seccomp.Hardening(shielded=(os.getppid(),))
    seccomp.install(seccomp.program(allow_ip=False, network=spec.network, hardening=hardening))
    return command_layer


class _CapHeader(ctypes.Structure):
    _fields_ = (("version", ctypes.c_uint32), ("pid", ctypes.c_int))


class _CapData(ctypes.Structure):
    _fields_ = (
        ("effective", ctypes.c_uint32),
        ("permitted", ctypes.c_uint32),
        ("inheritable", ctypes.c_uint32),
    )


def drop_capabilities() -> None:
    """Lose every capability for good: root stays uid 0 but gains nothing at exec."""
    libc = ctypes.CDLL(None, use_errno=True)
    if _has_capabilities():
        _prctl(libc, _PR_SET_SECUREBITS, _SECUREBITS, "lock the securebits")
        last = int(Path("/proc/sys/kernel/cap_last_cap").read_text())
        for cap in range(last + 1):
            _prctl(libc, _PR_CAPBSET_DROP, cap, "empty the bounding set")
    # Fails only on kernels without ambient capabilities (before 4.3), which have none to clear.
    libc.prctl(_PR_CAP_AMBIENT, _PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
    header = _CapHeader(_CAP_VERSION_3, 0)
    data = (_CapData * 2)()
    if libc.capset(ctypes.byref(header), data) != 0:
        raise OSError(ctypes.get_errno(), "could not drop the capabilities")
    if _has_capabilities():
        raise OSError(0, "capabilities remained after dropping them")


def _has_capabilities() -> bool:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(("CapEff:", "CapPrm:", "CapAmb:")) and int(line.split()[1], 16):
            return True
    return False


def _prctl(libc: ctypes.CDLL, option: int, value: int, what: str) -> None:
    if libc.prctl(option, value, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), f"could not {what}")


def _kill_descendants() -> None:
    """SIGKILL every process below this one until none is left; reap what was reparented here."""
    me = os.getpid()
    for _ in range(_KILL_ROUNDS):
        found = _descendants_of(me)
        for pid in found:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        _reap_all()
        if not found:
            return
        time.sleep(0.002)


def _descendants_of(ancestor: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path("/proc", entry, "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2 :].split()
        if fields[0] != "Z":  # zombies are dead already; reaping removes them
            children.setdefault(int(fields[1]), []).append(int(entry))
    found: list[int] = []
    pending = [ancestor]
    while pending:
        for child in children.get(pending.pop(), []):
            found.append(child)
            pending.append(child)
    return found


def _reap_all() -> None:
    with contextlib.suppress(ChildProcessError):
        while os.waitpid(-1, os.WNOHANG)[0] > 0:
            pass


def _status_code(status: int) -> int:
    if os.WIFSIGNALED(status):
        return -os.WTERMSIG(status)
    return os.WEXITSTATUS(status)


def _run_child(argv: list[str], layer: list[landlock.Grant], helper: int) -> None:
    """In the forked child: its own session, the last restrictions, then the command."""
    try:
        os.setsid()  # a `kill 0` in the command must not reach the helper's group
        ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        landlock.restrict_self(layer, abi=landlock.abi_version(), deny_tcp=False)
        seccomp.install(seccomp.shield_rows((helper,)))
        for number in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(number, signal.SIG_DFL)
        os.execvp(argv[0], argv)
    except OSError as error:
        print(f"tether-sandbox: cannot run {argv[0]}: {error.strerror or error}", file=sys.stderr)
        os._exit(127)


def supervise(argv: list[str], layer: list[landlock.Grant]) -> int:
    """Run the command as a child and end its whole tree with it; returns its exit status
    (negative: the signal that killed it)."""

    def stop(_signum: int, _frame: FrameType | None) -> None:
        _kill_descendants()
        os.kill(os.getpid(), signal.SIGKILL)  # reported as killed, as under bwrap

    for number in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(number, stop)
    child = os.fork()
    if child == 0:
        _run_child(argv, layer, os.getppid())
    status = 0
    while True:
        try:
            pid, status = os.waitpid(-1, 0)
        except ChildProcessError:
            break
        if pid == child:
            break
    _kill_descendants()
    return _status_code(status)


def die_with_parent() -> None:
    """Stop (killing the command's tree) if the server dies, as bwrap --die-with-parent does."""
    parent = os.getppid()
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if os.getppid() != parent:  # it died before the request took effect
        os._exit(SETUP_FAILED_EXIT)


def main(argv: list[str]) -> int:
    if len(argv) < 3 or argv[1] != "--":
        print("usage: python -m sandbox.exec SPEC_JSON -- COMMAND [ARGS...]", file=sys.stderr)
        return 2
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0)  # the command must not read the helper's memory
    libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    die_with_parent()
    try:
        layer = confine(ExecSpec.from_json(argv[0]))
    except (OSError, ValueError, KeyError) as error:
        print(
            f"tether-sandbox: could not confine the command ({error}); it did not run. "
            "Run it with approval outside the sandbox, or install bubblewrap.",
            file=sys.stderr,
        )
        return SETUP_FAILED_EXIT
    code = supervise(argv[2:], layer)
    if code < 0:  # die the way the command died, so the caller sees the same signal
        signal.signal(-code, signal.SIG_DFL)
        os.kill(os.getpid(), -code)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
