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
from typing import Literal, get_args

from protocol.base import LauncherKind
from sandbox import seccomp
from sandbox.errors import SandboxUnavailable
from sandbox.launchers.bwrap import BWRAP_INSIDE, bwrap_argv, bwrap_failure, bwrap_works
from sandbox.launchers.guarantees import guarantees_of
from sandbox.launchers.landlock import (
    landlock_argv,
    landlock_failure,
    landlock_inside,
    landlock_works,
)
from sandbox.launchers.seatbelt import seatbelt_argv, seatbelt_inside, seatbelt_works
from sandbox.layout import InsideView, PrivateDirs
from sandbox.policy import Policy, homes_of, protected_cover_points
from sandbox.quota import TMP_CAP_BYTES

LauncherSetting = Literal["auto", "bwrap", "landlock", "none"]
"""The user's choice (`sandbox_launcher` in config.toml, `TETHER_SANDBOX_LAUNCHER`)."""
LAUNCHER_SETTINGS: tuple[LauncherSetting, ...] = get_args(LauncherSetting)

__all__ = [
    "LAUNCHER_SETTINGS",
    "LauncherChoice",
    "LauncherSetting",
    "SandboxUnavailable",
    "available_launchers",
    "choose_launcher",
    "detect_launcher",
    "prepare",
]


@dataclass(frozen=True)
class LauncherChoice:
    """The launcher commands run under, and what the user should know about that choice.

    `passed_over` says, for each stronger launcher not used, why and how to make it work;
    `guarantees` is what the chosen launcher enforces on every sandboxed command.
    """

    name: LauncherKind
    setting: LauncherSetting
    passed_over: tuple[str, ...]
    guarantees: tuple[str, ...]

    @property
    def weaker_than_bwrap(self) -> bool:
        return self.name != "bwrap"


@cache
def choose_launcher(setting: LauncherSetting = "auto") -> LauncherChoice:
    """The launcher for `setting`: "auto" takes the strongest that works; a forced one that
    cannot run here gives "none" (commands then ask before running unsandboxed), never a
    silently weaker one."""
    if setting == "none":
        passed = ("bwrap and Landlock: not tried, sandbox_launcher is set to none.",)
        return LauncherChoice("none", setting, passed, guarantees_of("none"))
    if sys.platform != "linux":
        name = detect_launcher()
        reasons = () if name != "none" else (unavailable_reason(),)
        return LauncherChoice(name, setting, reasons, guarantees_of(name))
    wanted: list[LauncherKind] = ["bwrap", "landlock"] if setting == "auto" else [setting]
    reasons: list[str] = []
    if setting == "landlock":
        reasons.append("bwrap: not tried, sandbox_launcher is set to landlock.")
    for name in wanted:
        failure = bwrap_failure() if name == "bwrap" else landlock_failure()
        if failure is None:
            return LauncherChoice(name, setting, tuple(reasons), guarantees_of(name))
        reasons.append(_with_fix(name, failure))
    return LauncherChoice("none", setting, tuple(reasons), guarantees_of("none"))


def _with_fix(name: LauncherKind, failure: str) -> str:
    if name == "landlock":
        return f"Landlock: {failure} (it needs Linux 5.13+ built with Landlock enabled)."
    if "too old" in failure:
        return f"bwrap: {failure}; install bubblewrap 0.5 or later (e.g. from backports)."
    if "not installed" in failure:
        return (
            f"bwrap: {failure}; install the `bubblewrap` package (e.g. `apt install bubblewrap`)."
        )
    return f"bwrap: {failure}; {_userns_fix()}"


def _userns_fix() -> str:
    """How to let bwrap make user namespaces on this machine, from what the kernel says."""
    apparmor = _read_sysctl("kernel/apparmor_restrict_unprivileged_userns")
    if apparmor == "1":
        return (
            "AppArmor restricts unprivileged user namespaces here (Ubuntu 23.10+): allow bwrap "
            "with a profile (/etc/apparmor.d/bwrap: `abi <abi/4.0>, include <tunables/global> "
            "profile bwrap /usr/bin/bwrap flags=(unconfined) { userns, }`, then `sudo "
            "apparmor_parser -r /etc/apparmor.d/bwrap`), or `sudo sysctl "
            "kernel.apparmor_restrict_unprivileged_userns=0`."
        )
    if _read_sysctl("kernel/unprivileged_userns_clone") == "0":
        return "user namespaces are off: `sudo sysctl kernel.unprivileged_userns_clone=1`."
    if _read_sysctl("user/max_user_namespaces") == "0":
        return "user namespaces are off: `sudo sysctl user.max_user_namespaces=15000`."
    return (
        "this system (often a container or its seccomp profile) refuses user namespaces; allow "
        "them (e.g. Docker `--security-opt seccomp=unconfined`) to get the stronger sandbox."
    )


def _read_sysctl(name: str) -> str | None:
    try:
        return Path("/proc/sys", name).read_text().strip()
    except OSError:
        return None


@cache
def detect_launcher() -> LauncherKind:
    """The strongest launcher that works on this machine (probed once, then cached)."""
    for name in available_launchers():
        return name
    return "none"


def available_launchers() -> list[LauncherKind]:
    """Every launcher that works here, strongest first ("none" is not listed)."""
    found: list[LauncherKind] = []
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
    launcher: LauncherKind,
    argv: Sequence[str],
    *,
    policy: Policy,
    dirs: PrivateDirs,
    cwd: Path,
    secrets: Sequence[Path],
    tmp_bytes: int = TMP_CAP_BYTES,
    readable: Sequence[Path] = (),
) -> Prepared:
    """The argv running `argv` under `launcher` and how the command sees its private dirs;
    `tmp_bytes` caps bwrap's private /tmp (a tmpfs); `readable` paths under /tmp or /run stay
    visible, read-only, through bwrap's private ones (the other launchers hide neither)."""
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
            tmp_bytes=tmp_bytes,
            seccomp_fd=next(iter(fds), None),
            readable=readable,
        )
        return Prepared(args, BWRAP_INSIDE, fds)
    if launcher == "landlock":
        args = landlock_argv(argv, policy=policy, dirs=dirs, secrets=secrets)
        return Prepared(args, landlock_inside(dirs))
    protected = [
        point
        for root in policy.writable_roots
        for point in protected_cover_points(Path(os.path.realpath(root)), policy, homes_of())
    ]
    args = seatbelt_argv(argv, policy=policy, dirs=dirs, secrets=secrets, protected=protected)
    return Prepared(args, seatbelt_inside(dirs))
