"""The bubblewrap launcher: a read-only view of the host with writable roots and masked secrets.

Mount order matters (later mounts cover earlier ones): the host read-only, a fresh /dev and /proc,
an empty /run (no daemon sockets such as docker's), the private /tmp (a size-capped tmpfs), the
roots, a private staging directory at a root's missing `.git` (`sandbox.new_repo`), the protected
set re-covered read-only (`sandbox.protect.command_targets`: `.git` but for what git writes,
nested repositories, the deny list, Tether's own files; placeholders where they are missing),
then the secret paths masked. Every directory between a root and a protected entry is bound onto
itself so it becomes a mount point: a mount point cannot be renamed or removed, which stops
`mv .git .x && mkdir .git` from trading the protected files for new ones.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence
from functools import cache
from pathlib import Path

from sandbox.errors import SandboxUnavailable
from sandbox.layout import InsideView, PrivateDirs, claimed_placeholder, is_claimed_mountpoint
from sandbox.policy import GIT_DIR, Policy, homes_of
from sandbox.protect import command_targets, protected_targets

BWRAP_INSIDE = InsideView(tmp=Path("/tmp"), home=Path("/tmp/home"))

# Namespaces and privileges: no capabilities, a user namespace (mounts cannot be undone from
# inside), no nested user namespaces, own pid/ipc/uts namespaces, and a new session (no TIOCSTI).
_ISOLATION = (
    "--unshare-user",
    "--disable-userns",
    "--cap-drop",
    "ALL",
    "--unshare-pid",
    "--unshare-ipc",
    "--unshare-uts",
    "--unshare-cgroup-try",
    "--die-with-parent",
    "--new-session",
)


def bwrap_path() -> str | None:
    return shutil.which("bwrap")


def bwrap_works() -> bool:
    """Whether bwrap can build the namespaces we need here (it cannot in some containers)."""
    return bwrap_failure() is None


@cache
def bwrap_failure() -> str | None:
    """Why bwrap cannot run commands here (its own words), or None when it can."""
    path = bwrap_path()
    if path is None:
        return "bubblewrap (bwrap) is not installed"
    probe = [path, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--unshare-net"]
    probe += ["--size", "1048576", "--tmpfs", "/tmp"]  # bwrap 0.5+; older ones cannot cap /tmp
    try:
        done = subprocess.run(
            [*probe, *_ISOLATION, "--", "/bin/true"], capture_output=True, timeout=10, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"bwrap did not start ({error})"
    if done.returncode == 0:
        return None
    said = done.stderr.decode(errors="replace").strip().splitlines()
    if said and "--size" in said[-1]:
        return f"bwrap is too old to cap the size of /tmp (it needs 0.5 or later: {said[-1]})"
    return f"bwrap cannot create its namespaces ({said[-1] if said else done.returncode})"


def bwrap_argv(
    argv: Sequence[str],
    *,
    policy: Policy,
    dirs: PrivateDirs,
    cwd: Path,
    secrets: Sequence[Path],
    tmp_bytes: int,
    seccomp_fd: int | None = None,
    readable: Sequence[Path] = (),
) -> list[str]:
    """The full bwrap command line running `argv` under `policy`.

    The private /tmp is a tmpfs of at most `tmp_bytes` (the kernel refuses writes past it).
    `readable` are paths the command must read that the private /tmp and /run would hide (an
    MCP server's own program kept under /tmp); they are bound read-only.
    `seccomp_fd` is a readable fd holding a BPF program (see `sandbox.seccomp`) that bwrap
    installs on the command; it must be passed to the child.
    """
    path = bwrap_path() or "bwrap"
    # A missing root cannot be bound (bwrap would fail); there is nothing in it to reach anyway.
    roots = [Path(os.path.realpath(r)) for r in policy.roots if os.path.isdir(r)]
    args = [path, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
    args += _run_mask(roots, cwd, policy.allows_network)
    args += ["--size", str(tmp_bytes), "--tmpfs", "/tmp", "--dir", str(BWRAP_INSIDE.home)]
    writable = bool(policy.writable_roots)
    for root in roots:
        args += ["--bind" if writable else "--ro-bind", str(root), str(root)]
    for seen in (cwd, *readable):
        if not any(_under(seen, r) for r in roots) and _under_any(seen, ("/tmp", "/run")):
            args += ["--ro-bind", str(seen), str(seen)]
    if writable:
        for root in roots:
            args += _protect_args(root, policy, dirs)
    args += _secret_masks(secrets, dirs)
    if writable:
        args += _missing_secret_masks(secrets, roots, dirs)
    args += _ISOLATION
    if not policy.allows_network:
        args.append("--unshare-net")
    if seccomp_fd is not None:
        args += ["--seccomp", str(seccomp_fd)]
    args += ["--chdir", str(cwd), "--", *argv]
    return args


def _run_mask(roots: Sequence[Path], cwd: Path, network: bool) -> list[str]:
    run = Path("/run")
    if any(_under(p, run) for p in [*roots, cwd]) or not run.is_dir():
        return []
    args = ["--tmpfs", "/run"]
    resolv = Path(os.path.realpath("/etc/resolv.conf"))
    if network and _under(resolv, run) and resolv.exists():
        args += ["--ro-bind", str(resolv), str(resolv)]
    return args


def _protect_args(root: Path, policy: Policy, dirs: PrivateDirs) -> list[str]:
    args: list[str] = []
    pinned: set[Path] = set()
    git_dir = root / GIT_DIR
    new_repository = not os.path.lexists(git_dir) or is_claimed_mountpoint(git_dir)
    if new_repository:
        # No repository at the root: the command may make one (`git init .`), in a private
        # directory that `sandbox.new_repo` copies back through the allowlist afterwards.
        dirs.claim_mountpoint(git_dir)
        args += ["--bind", str(dirs.stage_repository(root)), str(git_dir)]
    for target in command_targets(root, policy, homes_of(os.environ)):
        if new_repository and _under(target.path, git_dir):
            continue
        if target.is_symlink:
            raise SandboxUnavailable(
                f"The protected path {target.path} is a symlink, and the sandbox cannot keep a "
                "symlink itself read-only (a command could replace it). Replace the symlink with "
                "the real file or directory, or ask the user to run the command unsandboxed."
            )
        for ancestor in reversed(target.path.parents):
            if _under(ancestor, root) and ancestor != root and ancestor not in pinned:
                pinned.add(ancestor)
                args += ["--bind", str(ancestor), str(ancestor)]
        claimed = is_claimed_mountpoint(target.path)
        if target.exists and not claimed:
            args += ["--ro-bind", str(target.path), str(target.path)]
        elif (placeholder := _placeholder_for(target.placeholder, target.path)) is not None:
            # Made here, not by bwrap: git outside the sandbox reads it meanwhile, and an empty
            # `commondir` would make it fail. Cleanup removes it while it still holds this. A
            # command running meanwhile finds it standing, claimed, and shares it.
            _make_placeholder_file(target.path, placeholder)
            dirs.claim_mountpoint(target.path, placeholder)
            args += ["--ro-bind", str(target.path), str(target.path)]
        else:
            # bwrap creates the mount point on the host; cleanup removes it while it is empty.
            dirs.claim_mountpoint(target.path)
            args += ["--ro-bind", str(dirs.empty), str(target.path)]
    return args


def _placeholder_for(own: bytes | None, path: Path) -> bytes | None:
    """The placeholder file's content: the target's own (b"" for an empty `config` counts), else
    that of the placeholder another running command stood there."""
    return own if own is not None else claimed_placeholder(path)


def _make_placeholder_file(path: Path, content: bytes) -> None:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o444)
    except FileExistsError:
        return  # another command's placeholder, still mounted in its sandbox
    with os.fdopen(fd, "wb") as out:
        out.write(content)


def _secret_masks(secrets: Sequence[Path], dirs: PrivateDirs) -> list[str]:
    args: list[str] = []
    for secret in secrets:
        real = Path(os.path.realpath(secret))
        if real.is_dir():
            args += ["--ro-bind", str(dirs.empty), str(real)]
        elif real.exists():
            args += ["--ro-bind", "/dev/null", str(real)]
    return args


def _missing_secret_masks(
    secrets: Sequence[Path], roots: Sequence[Path], dirs: PrivateDirs
) -> list[str]:
    """Keep secret paths that do not exist from being created inside a writable root (a
    workspace that is the home): `~/.ssh/authorized_keys`, `~/.aws/config`'s
    credential_process or `~/.kube/config`'s exec plugin would run code for whoever made them.
    The first missing component gets an empty read-only directory, removed afterwards."""
    args: list[str] = []
    for secret in secrets:
        if os.path.lexists(secret) and not is_claimed_mountpoint(secret):
            continue
        for root in roots:
            if not _under(secret, root) or secret == root:
                continue
            for target in protected_targets(root, [str(secret.relative_to(root))]):
                # Another command's mount point there is shared, counted, like a protected one.
                if not target.exists or is_claimed_mountpoint(target.path):
                    dirs.claim_mountpoint(target.path)
                    args += ["--ro-bind", str(dirs.empty), str(target.path)]
    return args


def _under(path: Path, base: Path) -> bool:
    return path.parts[: len(base.parts)] == base.parts


def _under_any(path: Path, bases: Sequence[str]) -> bool:
    return any(_under(path, Path(b)) for b in bases)
