"""`python -m sandbox.exec SPEC -- CMD...`: confine itself with Landlock and seccomp, then exec.

The fallback launcher for machines where bubblewrap cannot make namespaces. SPEC is JSON written
by `sandbox.launchers.landlock`: which paths are hidden, which are writable (minus protected
entries) and whether the network is allowed. Nothing here can be undone by the command: Landlock
domains and seccomp filters are inherited across fork and exec and only ever tighten.
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import sys
from dataclasses import dataclass
from pathlib import Path

from sandbox import landlock, seccomp

SETUP_FAILED_EXIT = 126
_PR_SET_PDEATHSIG = 1
_DEVICES = ("/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty")
_DEVICE_RIGHTS = landlock.READ_FILE | landlock.WRITE_FILE | landlock.IOCTL_DEV | landlock.TRUNCATE


@dataclass(frozen=True)
class ExecSpec:
    hidden: tuple[Path, ...]
    writable: tuple[Path, ...]
    protected: tuple[Path, ...]
    network: bool

    def to_json(self) -> str:
        return json.dumps(
            {
                "hidden": [str(p) for p in self.hidden],
                "writable": [str(p) for p in self.writable],
                "protected": [str(p) for p in self.protected],
                "network": self.network,
            }
        )

    @classmethod
    def from_json(cls, text: str) -> ExecSpec:
        raw = json.loads(text)
        return cls(
            hidden=tuple(Path(p) for p in raw["hidden"]),
            writable=tuple(Path(p) for p in raw["writable"]),
            protected=tuple(Path(p) for p in raw["protected"]),
            network=bool(raw["network"]),
        )


def grants_for(spec: ExecSpec, abi: int) -> list[landlock.Grant]:
    """Read everywhere but the hidden paths; write the writable ones but the protected entries."""
    everything = landlock.fs_rights(abi)
    grants = landlock.grants_excluding(Path("/"), spec.hidden, landlock.READ_RIGHTS)
    for root in spec.writable:
        grants += landlock.grants_excluding(root, [*spec.hidden, *spec.protected], everything)
    grants += [landlock.Grant(Path(d), _DEVICE_RIGHTS) for d in _DEVICES if os.path.exists(d)]
    if os.path.isdir("/dev/pts"):
        grants.append(landlock.Grant(Path("/dev/pts"), _DEVICE_RIGHTS | landlock.READ_DIR))
    return grants


def confine(spec: ExecSpec) -> None:
    abi = landlock.abi_version()
    if abi < 1:
        raise landlock.LandlockError(0, "this kernel has no Landlock support")
    if not spec.network and not seccomp.network_filter_supported():
        raise OSError(0, "no seccomp network filter for this CPU architecture")
    landlock.restrict_self(grants_for(spec, abi), abi=abi, deny_tcp=not spec.network)
    if not spec.network:
        seccomp.install_network_filter()


def die_with_parent() -> None:
    """Take the command down if the server dies (bwrap does the same with --die-with-parent)."""
    parent = os.getppid()
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # it died before the request took effect
        os._exit(SETUP_FAILED_EXIT)


def main(argv: list[str]) -> int:
    if len(argv) < 3 or argv[1] != "--":
        print("usage: python -m sandbox.exec SPEC_JSON -- COMMAND [ARGS...]", file=sys.stderr)
        return 2
    die_with_parent()
    try:
        confine(ExecSpec.from_json(argv[0]))
    except (OSError, ValueError, KeyError) as error:
        print(
            f"tether-sandbox: could not confine the command ({error}); it did not run. "
            "Run it with approval outside the sandbox, or install bubblewrap.",
            file=sys.stderr,
        )
        return SETUP_FAILED_EXIT
    try:
        os.execvp(argv[2], argv[2:])
    except OSError as error:
        print(f"tether-sandbox: cannot run {argv[2]}: {error.strerror}", file=sys.stderr)
        return 127


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
