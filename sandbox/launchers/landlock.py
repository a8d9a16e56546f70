"""The Landlock launcher: `python -m sandbox.exec` confines itself, then runs the command.

Weaker than bwrap by construction: no mount namespace, so the private temporary directory is
only $TMPDIR (the host /tmp is not writable, but not replaced either), and Landlock can only
grant whole subtrees, so the roots are granted whole and protected entries are kept by
`sandbox.guard` (recorded before the command, restored right after it) instead of by the kernel.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from functools import cache
from pathlib import Path

import sandbox
from sandbox import landlock, seccomp
from sandbox.exec import ExecSpec
from sandbox.layout import InsideView, PrivateDirs
from sandbox.policy import Policy

_PACKAGE_PARENT = str(Path(sandbox.__file__).resolve().parent.parent)
# -I: ignore the command's PYTHON* variables and user site; -S: no site packages either (and no
# time spent on them: the helper needs the standard library only); sys.path is set explicitly.
_BOOT = (
    "import sys; sys.path.insert(0, sys.argv.pop(1)); "
    "from sandbox.exec import main; sys.exit(main(sys.argv[1:]))"
)


def landlock_works() -> bool:
    return landlock_failure() is None


@cache
def landlock_failure() -> str | None:
    """Why the Landlock launcher cannot run here, or None when it can."""
    if sys.platform != "linux":
        return f"Landlock is Linux only, this is {sys.platform}"
    if landlock.abi_version() < 1:
        return "this kernel has no Landlock (or it is not enabled in the `lsm=` boot list)"
    if not seccomp.network_filter_supported():
        return "no seccomp filter for this CPU architecture"
    return None


def landlock_inside(dirs: PrivateDirs) -> InsideView:
    return InsideView(tmp=dirs.tmp, home=dirs.home)


def landlock_argv(
    argv: Sequence[str], *, policy: Policy, dirs: PrivateDirs, secrets: Sequence[Path]
) -> list[str]:
    # Landlock grants whole trees: the roots are writable whole, protected entries included.
    # `sandbox.guard` puts those back after the command (see sandbox.launchers.guarantees).
    roots = [Path(os.path.realpath(r)) for r in policy.writable_roots if os.path.isdir(r)]
    spec = ExecSpec(
        hidden=tuple(Path(os.path.realpath(s)) for s in secrets),
        writable=(dirs.tmp, *roots),
        network=policy.allows_network,
    )
    return [sys.executable, "-I", "-S", "-c", _BOOT, _PACKAGE_PARENT, spec.to_json(), "--", *argv]
