"""Where a thread's commands run: the `Executor` boundary, and the `local` executor.

An executor runs one shell command under a `Policy` with its output streamed, and stops it when
the awaiting task is cancelled (an interrupt); it reads, writes and lists the workspace's files
and says how the workspace can be snapshotted for revert. The gate, approvals and rules stay on
Tether's side for every executor: an executor is only told what was cleared, and the policy it
gets is the one the gate chose.

- `LocalExecutor`: today's path, `sandbox.run.run_command` under bwrap or Landlock on this host.
- `sandbox.podman.PodmanExecutor`: one container per thread, commands through `podman exec`.
- `sandbox.kubernetes.KubernetesExecutor`: one Pod per thread, commands through the exec API.

`shares_host_files` tells the server whether the workspace it sees on this host is the one the
commands change. It is true for `local` and `podman` (the workspace is bind-mounted at the same
absolute path), so the file tools and the turn's snapshots (`server.edits`) work on the host
tree unchanged and cover what a container wrote. The Kubernetes workspace lives in the Pod:
there the file methods go through the executor, and `snapshot` archives the tree in the Pod.
"""

from __future__ import annotations

import errno
import os
import stat
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

from protocol.base import LauncherKind
from sandbox.denial import detect_denial
from sandbox.guard import GuardReport
from sandbox.output import CappedOutput, OutputCallback
from sandbox.policy import Policy
from sandbox.quota import Quotas
from sandbox.run import CommandResult, run_command

ExecutorKind = Literal["local", "podman", "kubernetes"]
"""Where commands run: this host, Podman containers, or Kubernetes Pods."""


@dataclass(frozen=True)
class CommandRequest:
    """One cleared command: what to run, where, under which policy and within which limits."""

    command: str
    cwd: Path
    policy: Policy
    env: Mapping[str, str]
    timeout_s: float
    output_cap_bytes: int
    on_output: OutputCallback | None = None
    launcher: LauncherKind | None = None
    quotas: Quotas | None = None


def container_result(
    request: CommandRequest,
    output: CappedOutput,
    exit_code: int,
    *,
    timed_out: bool,
    started: float,
    guard: GuardReport | None = None,
    over_quota: str | None = None,
) -> CommandResult:
    """The result of a command a container ran: its output and how it ended, and the denial its
    output shows. The sandbox is the policy's; the launcher is "none", as Tether launched no OS
    sandbox of its own (the item names the engine)."""
    text = output.finish()
    return CommandResult(
        exit_code=exit_code,
        output=text,
        truncated=output.truncated,
        timed_out=timed_out,
        duration_ms=int((time.monotonic() - started) * 1000),
        sandbox=request.policy.label,
        launcher="none",
        denial=detect_denial(text, exit_code) if not timed_out else None,
        guard=guard,
        over_quota=over_quota,
    )


class Executor(Protocol):
    """Runs a thread's commands and reaches its files (see the module docstring)."""

    @property
    def kind(self) -> ExecutorKind: ...

    @property
    def image(self) -> str | None:
        """The container image commands run in; None on the host."""
        ...

    @property
    def shares_host_files(self) -> bool: ...

    async def run(self, request: CommandRequest) -> CommandResult:
        """Run the command; cancelling the awaiting task kills it (its whole tree)."""
        ...

    async def read_file(self, path: Path) -> bytes: ...

    async def write_file(self, path: Path, data: bytes) -> None: ...

    async def list_dir(self, path: Path) -> list[str]: ...

    async def snapshot(self, root: Path) -> bytes | None:
        """An archive of `root` to revert to, or None when the host tree is the workspace and
        the server's own snapshots (`server.edits`) already cover it."""
        ...

    async def close(self) -> None:
        """End what the executor started for the thread (its container, its Pod)."""
        ...


class LocalExecutor:
    """Commands on this host under the OS sandbox (`sandbox.run`), files on this host."""

    kind: ExecutorKind = "local"
    image: str | None = None
    shares_host_files = True

    async def run(self, request: CommandRequest) -> CommandResult:
        return await run_command(
            request.command,
            cwd=request.cwd,
            policy=request.policy,
            env=request.env,
            timeout_s=request.timeout_s,
            output_cap_bytes=request.output_cap_bytes,
            on_output=request.on_output,
            launcher=request.launcher,
            quotas=request.quotas,
        )

    async def read_file(self, path: Path) -> bytes:
        return _read_no_follow(path)

    async def write_file(self, path: Path, data: bytes) -> None:
        write_no_follow(path, data)

    async def list_dir(self, path: Path) -> list[str]:
        return sorted(os.listdir(path))

    async def snapshot(self, root: Path) -> bytes | None:
        return None

    async def close(self) -> None:
        return None


def _read_no_follow(path: Path) -> bytes:
    """The bytes of the regular file at `path`. A symlink there is refused, and a FIFO or a
    device is refused before a byte is read (a nonblocking open cannot hang on a FIFO)."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(
                errno.EINVAL, f"{path} is not a regular file; name a file to read", str(path)
            )
        return handle.read()


def write_no_follow(path: Path, data: bytes) -> None:
    """Write `path` atomically (a temporary file renamed over it); a symlink at `path` is
    replaced, never followed, so the write cannot land outside the tree that holds it. An
    existing file keeps its permission bits. The temporary name is the one `server.edits`
    uses (`.NAME.tether-PID-RANDOM.tmp`), so watchers and snapshots pass over it and a crashed
    writer's leftover is recognised as stale."""
    temporary = path.with_name(f".{path.name}.tether-{os.getpid()}-{os.urandom(4).hex()}.tmp")
    try:
        existing = os.lstat(path)
        mode = stat.S_IMODE(existing.st_mode) if stat.S_ISREG(existing.st_mode) else None
    except FileNotFoundError:
        mode = None
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    fd = os.open(temporary, flags, 0o644)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            if mode is not None:
                os.fchmod(handle.fileno(), mode)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
