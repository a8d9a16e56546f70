"""Which OS sandbox runs commands here, and the command line that puts a command inside it.

Strongest first: bubblewrap (namespaces: a whole private view of the filesystem, no network),
then Landlock + seccomp (the kernel's own access control, for when namespaces are refused),
Seatbelt on macOS, and "none" when nothing works (sandboxed commands then need approval).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

from sandbox import seccomp
from sandbox.errors import SandboxUnavailable
from sandbox.launchers.bwrap import BWRAP_INSIDE, bwrap_argv, bwrap_works
from sandbox.launchers.landlock import landlock_argv, landlock_inside, landlock_works
from sandbox.launchers.seatbelt import seatbelt_argv, seatbelt_inside, seatbelt_works
from sandbox.layout import InsideView, PrivateDirs
from sandbox.policy import Policy

LauncherName = Literal["bwrap", "landlock", "seatbelt", "none"]

__all__ = [
    "LauncherName",
    "SandboxUnavailable",
    "available_launchers",
    "detect_launcher",
    "prepare",
]


@cache
def detect_launcher() -> LauncherName:
    """The strongest launcher that works on this machine (probed once, then cached)."""
    for name in available_launchers():
        return name
    return "none"


def available_launchers() -> list[LauncherName]:
    """Every launcher that works here, strongest first ("none" is not listed)."""
    found: list[LauncherName] = []
    if sys.platform == "linux":
        if bwrap_works():
            found.append("bwrap")
        if landlock_works():
            found.append("landlock")
    elif seatbelt_works():
        found.append("seatbelt")
    return found


def unavailable_reason() -> str:
    if sys.platform == "linux":
        return (
            "no command sandbox works here: bubblewrap is missing or cannot create namespaces "
            "(install the `bubblewrap` package, or allow unprivileged user namespaces), and the "
            "kernel has no Landlock (needs Linux 5.13+ with Landlock enabled)"
        )
    if sys.platform == "darwin":
        return f"no command sandbox works here: {'/usr/bin/sandbox-exec'} is missing"
    return f"no command sandbox exists for {sys.platform}"


@dataclass(frozen=True)
class Prepared:
    """The command line, how the command sees its private dirs, and fds it must inherit
    (the caller closes them once the command has started)."""

    argv: list[str]
    inside: InsideView
    pass_fds: tuple[int, ...] = ()


def prepare(
    launcher: LauncherName,
    argv: Sequence[str],
    *,
    policy: Policy,
    dirs: PrivateDirs,
    cwd: Path,
    secrets: Sequence[Path],
) -> Prepared:
    """The argv running `argv` under `launcher` and how the command sees its private dirs."""
    if not policy.sandboxed or launcher == "none":
        if policy.sandboxed:
            raise SandboxUnavailable(
                f"The {policy.kind} sandbox cannot run: {unavailable_reason()}. "
                "Ask the user to approve running the command without a sandbox."
            )
        return Prepared(list(argv), InsideView(tmp=dirs.tmp, home=dirs.home))
    if launcher == "bwrap":
        fds: tuple[int, ...] = ()
        if not policy.allows_network and seccomp.network_filter_supported():
            fds = (seccomp.program_fd(allow_ip=True),)  # IP is already cut off by the namespace
        args = bwrap_argv(
            argv,
            policy=policy,
            dirs=dirs,
            cwd=cwd,
            secrets=secrets,
            seccomp_fd=next(iter(fds), None),
        )
        return Prepared(args, BWRAP_INSIDE, fds)
    if launcher == "landlock":
        args = landlock_argv(argv, policy=policy, dirs=dirs, secrets=secrets)
        return Prepared(args, landlock_inside(dirs))
    protected = [
        Path(os.path.realpath(root)) / entry
        for root in policy.writable_roots
        for entry in policy.protected
    ]
    args = seatbelt_argv(argv, policy=policy, dirs=dirs, secrets=secrets, protected=protected)
    return Prepared(args, seatbelt_inside(dirs))
