"""Run one shell command under a policy: sandboxed, streamed, capped, timed, and cleaned up.

Each command gets its own process group, a pids cgroup when one can be made (else the Landlock
helper's subreaper, or bwrap's pid namespace, ends its tree), and a private temporary directory.
On timeout, on cancellation of the awaiting task, and after the main process exits, the whole
tree is killed (background jobs do not outlive their command); then `sandbox.guard` puts back
protected entries a workspace-write command changed, and the private directories are removed.
A command that grows the workspace's disk or its private temporary directory past its quota is
killed and reported.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import shutil
import signal
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from protocol.base import LauncherKind, SandboxKind
from sandbox.cgroup import CommandCgroup
from sandbox.denial import Denial, detect_denial
from sandbox.env import scrub_env
from sandbox.errors import CommandSetupError, SandboxError, SandboxUnavailable
from sandbox.guard import Guard, GuardReport
from sandbox.guard_watch import GuardWatch
from sandbox.launchers import detect_launcher, prepare
from sandbox.layout import InsideView, PrivateDirs
from sandbox.output import CappedOutput, OutputCallback, Stream
from sandbox.policy import Policy, homes_of, secret_paths_for
from sandbox.quota import Quotas, QuotaWatch

__all__ = [
    "CommandResult",
    "CommandSetupError",
    "Quotas",
    "SandboxError",
    "SandboxUnavailable",
    "run_command",
    "shield_this_process",
]

_READ_CHUNK = 65536
_KILL_WAIT_S = 0.25  # cancellation must be done within 500 ms
_DRAIN_S = 5.0

_PR_SET_DUMPABLE = 4

Containment = Literal["cgroup", "pidNamespace", "subreaper"]


@dataclass(frozen=True)
class CommandResult:
    exit_code: int  # negative: killed by that signal (e.g. -9 on timeout)
    output: str
    truncated: bool
    timed_out: bool
    duration_ms: int
    sandbox: SandboxKind
    launcher: LauncherKind
    denial: Denial | None = None
    containment: Containment | None = None
    """What ended the whole process tree: its cgroup, bwrap's pid namespace, or the Landlock
    helper's subreaper; None: only its process group (an unsandboxed command without cgroups)."""
    guard: GuardReport | None = None
    """What `sandbox.guard` undid (workspace-write commands only)."""
    over_quota: str | None = None
    """Why the command was killed for the space it took, in words for the model and the user."""


async def run_command(
    command: str,
    *,
    cwd: Path,
    policy: Policy,
    env: Mapping[str, str],
    timeout_s: float,
    output_cap_bytes: int,
    on_output: OutputCallback | None = None,
    launcher: LauncherKind | None = None,
    quotas: Quotas | None = None,
) -> CommandResult:
    """Run `bash -c command` in `cwd` under `policy`.

    Raises SandboxUnavailable when no launcher can enforce a sandboxed policy and
    CommandSetupError when the command cannot be set up (e.g. `cwd` is missing); nothing ran then.
    """
    if not cwd.is_dir():
        raise CommandSetupError(
            f"The working directory {cwd} does not exist or is not a directory; "
            "run the command from an existing directory."
        )
    chosen: LauncherKind = "none" if not policy.sandboxed else launcher or detect_launcher()
    quotas = quotas or Quotas()
    dirs = PrivateDirs.create()
    cgroup = CommandCgroup.create(policy.max_processes, policy.max_memory_bytes)
    cancelled = False
    homes = homes_of(env)
    guard = Guard.record(policy, homes) if policy.writable_roots and policy.sandboxed else None
    try:
        prepared = prepare(
            chosen,
            [bash_path(), "-c", command],
            policy=policy,
            dirs=dirs,
            cwd=Path(os.path.realpath(cwd)),
            secrets=secret_paths_for(policy, homes) if policy.sandboxed else [],
            tmp_bytes=quotas.tmp_bytes,
        )
        argv = [*process_limit_prefix(cgroup, policy.max_processes), *prepared.argv]
        child_env = command_env(env, policy, prepared.inside)
        output = CappedOutput(output_cap_bytes, on_output)
        started = time.monotonic()
        spawn = _Spawn(
            argv,
            cwd,
            child_env,
            prepared.pass_fds,
            graceful=chosen == "landlock",
            tmpfs=chosen == "bwrap",
        )
        watch = QuotaWatch(
            quotas,
            roots=policy.writable_roots,
            tmp=None if chosen == "bwrap" else dirs.tmp,
            staged=tuple(dirs.staged_repositories.values()),
        )
        # bwrap's mounts keep protected entries read-only; Landlock's grants do not: put them
        # back as soon as they change, not only when the command ends.
        early = GuardWatch(guard) if guard is not None and chosen == "landlock" else None
        if early is not None:
            early.start()
        try:
            exit_code, timed_out = await _supervise(spawn, output, timeout_s, cgroup, watch)
        finally:
            if early is not None:
                early.stop()
        report = guard.restore(dirs.staged_repositories) if guard is not None else None
        guard = None
        text = output.finish()
        return CommandResult(
            exit_code=exit_code,
            output=text,
            truncated=output.truncated,
            timed_out=timed_out,
            duration_ms=int((time.monotonic() - started) * 1000),
            sandbox=policy.label,
            launcher=chosen,
            denial=detect_denial(text, exit_code) if policy.sandboxed and not timed_out else None,
            containment=containment_of(chosen, cgroup),
            guard=report,
            over_quota=watch.exceeded,
        )
    except asyncio.CancelledError:
        cancelled = True
        raise
    finally:
        if guard is not None:  # interrupted or failed: protected entries are put back all the same
            guard.restore(dirs.staged_repositories)
        if cancelled:
            # The canceller waits on us: hand the slow part (a big temp dir) to a thread.
            threading.Thread(target=_clean_up, args=(cgroup, dirs), daemon=True).start()
        else:
            _clean_up(cgroup, dirs)


def shield_this_process() -> None:
    """Make the process that runs commands non-dumpable, so none of them (same user, or root
    without capabilities) can read its memory or /proc/<pid>/environ, where the API key is."""
    if sys.platform == "linux":
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0)


def containment_of(launcher: LauncherKind, cgroup: CommandCgroup | None) -> Containment | None:
    """What ends a command's whole tree under `launcher` (with its cgroup, if one was made)."""
    if cgroup is not None:
        return "cgroup"
    return {"bwrap": "pidNamespace", "landlock": "subreaper"}.get(launcher)  # type: ignore[return-value]


def _clean_up(cgroup: CommandCgroup | None, dirs: PrivateDirs) -> None:
    if cgroup is not None:
        cgroup.kill_all()
        cgroup.remove()
    dirs.cleanup()


def process_limit_prefix(cgroup: CommandCgroup | None, max_processes: int) -> list[str]:
    """argv prefix capping the command's process count: its cgroup, or else RLIMIT_NPROC.

    RLIMIT_NPROC counts every process of the user, not just this command's, so it is set
    above what the user already runs; it does not bind root at all, hence the cgroup first.
    """
    if cgroup is not None:
        return cgroup.join_prefix()
    limit = _processes_of_user(os.getuid()) + max_processes
    return [bash_path(), "-c", f'ulimit -u {limit} && exec "$@"', "tether-limit"]


def _processes_of_user(uid: int) -> int:
    count = 0
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                count += entry.stat().st_uid == uid
            except OSError:
                continue
    return count


def command_env(env: Mapping[str, str], policy: Policy, inside: InsideView) -> dict[str, str]:
    """The scrubbed environment, pointed at the private temporary directory (and HOME)."""
    child = scrub_env(env)
    child.setdefault("PATH", os.defpath)
    for name in ("TMPDIR", "TMP", "TEMP"):
        child[name] = str(inside.tmp)
    if policy.sandboxed:
        # HOME is read-only inside the sandbox; caches go where writes can land.
        child["XDG_CACHE_HOME"] = str(inside.tmp / ".cache")
        child["npm_config_cache"] = str(inside.tmp / ".npm")
    if policy.kind == "readOnly":
        child["HOME"] = str(inside.home)
    return child


def bash_path() -> str:
    """The bash commands run in (this host's, from PATH)."""
    return shutil.which("bash") or "/bin/bash"


@dataclass(frozen=True)
class _Spawn:
    argv: list[str]
    cwd: Path
    env: dict[str, str]
    pass_fds: tuple[int, ...]
    graceful: bool
    """The first process ends the tree itself on SIGTERM (the Landlock helper): ask it first."""
    tmpfs: bool
    """The first process is bwrap, whose sandbox has a capped tmpfs at /tmp."""


async def _supervise(
    spawn: _Spawn,
    output: CappedOutput,
    timeout_s: float,
    cgroup: CommandCgroup | None,
    watch: QuotaWatch,
) -> tuple[int, bool]:
    loop = asyncio.get_running_loop()
    exited = asyncio.Event()
    try:
        transport, protocol = await loop.subprocess_exec(
            lambda: _ExitAwareProtocol(exited, loop),
            *spawn.argv,
            cwd=spawn.cwd,
            env=spawn.env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,
            pass_fds=spawn.pass_fds,
        )
    finally:
        for fd in spawn.pass_fds:
            os.close(fd)
    process = asyncio.subprocess.Process(transport, protocol, loop)
    if spawn.tmpfs:
        watch.tmpfs_of = process.pid
    assert process.stdout is not None and process.stderr is not None
    readers = [
        asyncio.create_task(_pump(process.stdout, "stdout", output)),
        asyncio.create_task(_pump(process.stderr, "stderr", output)),
    ]
    timed_out = False
    watcher = asyncio.create_task(watch.until_exceeded())
    try:
        ended = asyncio.create_task(exited.wait())
        done, _ = await asyncio.wait(
            [ended, watcher], timeout=timeout_s, return_when="FIRST_COMPLETED"
        )
        ended.cancel()
        timed_out = not done
        # Background jobs die with their command; their open pipes would keep us reading.
        await _kill_tree(process.pid, cgroup, exited, spawn.graceful)
        await _drain(readers, _DRAIN_S)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(exited.wait(), _KILL_WAIT_S)
        code = transport.get_returncode()
        return (code if code is not None else -signal.SIGKILL), timed_out
    except BaseException:
        await asyncio.shield(_kill_tree(process.pid, cgroup, exited, spawn.graceful))
        for reader in readers:
            reader.cancel()
        with contextlib.suppress(BaseException):
            await asyncio.wait_for(exited.wait(), _KILL_WAIT_S)
        raise
    finally:
        watcher.cancel()
        transport.close()


async def _drain(readers: list[asyncio.Task[None]], limit_s: float) -> None:
    """Read what is left in the pipes; give up on a writer that escaped the kill."""
    _done, pending = await asyncio.wait(readers, timeout=limit_s)
    for reader in pending:
        reader.cancel()


class _ExitAwareProtocol(asyncio.subprocess.SubprocessStreamProtocol):
    """Signals the main process's exit at once; Process.wait() also waits for pipes to close,
    which a leftover background job could hold open until the timeout."""

    def __init__(self, exited: asyncio.Event, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(limit=_READ_CHUNK, loop=loop)
        self._exited = exited

    def process_exited(self) -> None:
        super().process_exited()
        self._exited.set()


async def _pump(reader: asyncio.StreamReader, stream: Stream, output: CappedOutput) -> None:
    while chunk := await reader.read(_READ_CHUNK):
        output.feed(stream, chunk)


async def _kill_tree(
    pid: int, cgroup: CommandCgroup | None, exited: asyncio.Event, graceful: bool
) -> None:
    if graceful and not exited.is_set():
        # The Landlock helper kills every descendant (it is their subreaper), then exits.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGTERM)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(exited.wait(), _KILL_WAIT_S)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
    if cgroup is not None:
        cgroup.kill_all(deadline_s=0)  # one sweep; the thorough one runs at cleanup
