"""The Landlock launcher: `python -m sandbox.exec` confines itself, then runs the command.

Weaker than bwrap by construction: no mount namespace, so the private temporary directory is
only $TMPDIR (the host /tmp is not writable, but not replaced either), and Landlock can only
grant whole subtrees, so the roots are granted whole and protected entries are kept by
`sandbox.guard` (recorded before the command, restored right after it) instead of by the kernel.

The helper runs before it is confined, so nothing a command may have written can be part of it:
not a virtual environment's `python` inside a root (the base interpreter is used), and not the
`sandbox` package when Tether's own source lies inside a root (it is read once, when the server
starts, and run from a private copy outside every root).
"""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
from collections.abc import Sequence
from functools import cache
from pathlib import Path

import sandbox
from sandbox import landlock, seccomp
from sandbox.exec import ExecSpec
from sandbox.layout import InsideView, PrivateDirs
from sandbox.policy import Policy

_PACKAGE = Path(sandbox.__file__).resolve().parent
_SOURCES = {p.relative_to(_PACKAGE): p.read_bytes() for p in _PACKAGE.rglob("*.py")}
"""The helper's code as it was when the server started, before any command ran."""
_INTERPRETER = os.path.realpath(getattr(sys, "_base_executable", None) or sys.executable)
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
    parent = _private_copy() if _inside(_PACKAGE, roots) else str(_PACKAGE.parent)
    return [_INTERPRETER, "-I", "-S", "-c", _BOOT, parent, spec.to_json(), "--", *argv]


def _inside(path: Path, roots: Sequence[Path]) -> bool:
    return any(path.is_relative_to(root) for root in roots)


@cache
def _private_copy() -> str:
    """A directory holding the `sandbox` package as read at start-up, outside every root (the
    server's own temporary directory, which no sandboxed command can write); removed at exit."""
    parent = Path(tempfile.mkdtemp(prefix="tether-helper-"))
    atexit.register(shutil.rmtree, parent, ignore_errors=True)
    for relative, data in _SOURCES.items():
        target = parent / "sandbox" / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return str(parent)
