"""The `podman` executor: a thread's commands in containers of its own, through `podman exec`.

A thread gets one container per kind of access it uses, made when first needed from
`ContainerConfig.image` (`sandbox.containers` spells it out): the workspace roots bind-mounted
at their own paths, writable for workspaceWrite, read-only for readOnly; `--network none` unless
the policy allows the network (an approved escalation gets a container with network); limits from
the config. So a thread in agent mode uses one container, and one more only once the user
approves network access.

A command runs as `podman exec ... bash -c COMMAND`, its output streamed as it comes. When it
ends, times out or is cancelled, every process left in that container is killed (`kill -9 -1`
from inside: all but the container's first process), so background jobs do not outlive their
command: by the same `podman exec` when the command ends, by another one when it is stopped.
Commands in one container run one at a time. `sandbox.guard` records the protected
entries before a writing command and puts back what it changed, as for Landlock; those that
existed when the container was made are also mounted read-only.

The container goes away with the thread (`close`) and with the server, even one killed with -9:
its first process reads a pipe whose only write end the server holds, and exits at end of file;
`--rm` has Podman remove the stopped container. `reap_orphans`, run when the first container of
a server is made, removes any tether container whose server is gone (labels name the server's
pid and start time), in case the engine itself was down at that moment.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from sandbox.containers import (
    LABEL,
    LIFETIME_FD,
    SERVER_LABEL,
    THREAD_LABEL,
    ContainerConfig,
    container_env,
    podman_global_argv,
    podman_run_argv,
    spec_for,
)
from sandbox.errors import CommandSetupError, SandboxUnavailable
from sandbox.executor import CommandRequest, ExecutorKind, LocalExecutor, container_result
from sandbox.guard import Guard
from sandbox.guard_watch import GuardWatch
from sandbox.output import CappedOutput, Stream
from sandbox.policy import Policy, homes_of
from sandbox.quota import Quotas, QuotaWatch
from sandbox.run import CommandResult, bash_path

_READ_CHUNK = 65536
_DRAIN_S = 5.0
_START_TIMEOUT_S = 120.0
_ENGINE_TIMEOUT_S = 60.0
"""How long a short podman call (a listing, a removal, the kill sweep) may take: longer, the
engine is stuck."""
_THEN_SWEEP = 'bash -c "$1"; status=$?; kill -9 -1 2>/dev/null; exit $status'
"""Runs the command, then kills what it left in the container (`kill -1` spares the caller and
the container's first process): one `podman exec` per command, not two."""
_reaped = False


def server_identity(pid: int | None = None) -> str:
    """`pid:start-time`: a process id that cannot be mistaken for a later process's."""
    pid = os.getpid() if pid is None else pid
    stat = Path(f"/proc/{pid}/stat").read_text()
    return f"{pid}:{stat[stat.rfind(')') + 2 :].split()[19]}"


def _alive(identity: str) -> bool:
    pid = identity.partition(":")[0]
    try:
        return server_identity(int(pid)) == identity
    except (OSError, ValueError, IndexError):
        return False


@dataclass
class _Container:
    name: str
    lifetime: int
    """The write end of the pipe the container's first process waits on."""
    lock: asyncio.Lock


class PodmanExecutor(LocalExecutor):
    """One thread's containers; file access stays on the host (the roots are bind-mounted)."""

    kind: ExecutorKind = "podman"

    def __init__(self, config: ContainerConfig, thread_id: str) -> None:
        self.config = config
        self.image = config.image
        self.thread_id = thread_id
        self._containers: dict[tuple[bool, bool], _Container] = {}
        self._starting = asyncio.Lock()

    def container_names(self) -> list[str]:
        return [c.name for c in self._containers.values()]

    async def run(self, request: CommandRequest) -> CommandResult:
        if not request.cwd.is_dir():
            raise CommandSetupError(
                f"The working directory {request.cwd} does not exist or is not a directory; "
                "run the command from an existing directory."
            )
        policy = request.policy
        container = await self._container_for(policy, request)
        async with container.lock:
            return await self._exec(container, request)

    async def _container_for(self, policy: Policy, request: CommandRequest) -> _Container:
        key = (bool(policy.writable_roots) or not policy.sandboxed, policy.allows_network)
        async with self._starting:
            if (found := self._containers.get(key)) is not None:
                return found
            await asyncio.to_thread(reap_orphans, self.config)
            name = f"tether-{self.thread_id[-12:]}-{uuid.uuid4().hex[:8]}"
            labels = {
                LABEL: "podman",
                SERVER_LABEL: server_identity(),
                THREAD_LABEL: self.thread_id,
            }
            try:
                spec = spec_for(
                    name,
                    self.config,
                    policy,
                    cwd=request.cwd,
                    env=request.env,
                    labels=labels,
                )
            except ValueError as exc:
                raise SandboxUnavailable(str(exc)) from None
            container = await _start(podman_run_argv(spec), name)
            self._containers[key] = container
            return container

    async def _exec(self, container: _Container, request: CommandRequest) -> CommandResult:
        policy = request.policy
        quotas = request.quotas or Quotas()
        guard = Guard.record(policy, homes_of(request.env)) if policy.writable_roots else None
        early = GuardWatch(guard) if guard is not None else None
        argv = [*podman_global_argv(self.config), "exec", "--workdir", str(request.cwd)]
        for key, value in container_env(request.env).items():
            argv += ["--env", f"{key}={value}"]
        argv += [container.name, "bash", "-c", _THEN_SWEEP, "tether", request.command]
        output = CappedOutput(request.output_cap_bytes, request.on_output)
        watch = QuotaWatch(quotas, roots=policy.writable_roots, tmp=None, staged=())
        started = time.monotonic()
        if early is not None:
            early.start()
        try:
            code, timed_out = await self._supervise(container, argv, output, request, watch)
        finally:
            if early is not None:
                early.stop()
            report = guard.restore() if guard is not None else None
        return container_result(
            request,
            output,
            code,
            timed_out=timed_out,
            started=started,
            guard=report,
            over_quota=watch.exceeded,
        )

    async def _supervise(
        self,
        container: _Container,
        argv: list[str],
        output: CappedOutput,
        request: CommandRequest,
        watch: QuotaWatch,
    ) -> tuple[int, bool]:
        process = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,
        )
        assert process.stdout is not None and process.stderr is not None
        readers = [
            asyncio.create_task(_pump(process.stdout, "stdout", output)),
            asyncio.create_task(_pump(process.stderr, "stderr", output)),
        ]
        watcher = asyncio.create_task(watch.until_exceeded())
        ended = asyncio.create_task(process.wait())
        try:
            done, _ = await asyncio.wait(
                [ended, watcher], timeout=request.timeout_s, return_when="FIRST_COMPLETED"
            )
            killed = ended not in done
            if killed:  # an ended command swept its leftovers itself (_THEN_SWEEP)
                await self._kill_all(container, process)
            _done, pending = await asyncio.wait(readers, timeout=_DRAIN_S)
            for reader in pending:
                reader.cancel()
            code = await process.wait()
            if killed:
                code = -signal.SIGKILL
            return code, not done
        except BaseException:
            await asyncio.shield(self._kill_all(container, process))
            for reader in readers:
                reader.cancel()
            raise
        finally:
            watcher.cancel()
            ended.cancel()

    async def _kill_all(self, container: _Container, client: asyncio.subprocess.Process) -> None:
        """Kill every process in the container but its first (`kill -1` spares it and the
        caller), then the `podman exec` client, which does not pass a kill on to the command."""
        killer = await asyncio.create_subprocess_exec(
            *podman_global_argv(self.config),
            "exec",
            container.name,
            "bash",
            "-c",
            "kill -9 -1 2>/dev/null; exit 0",
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        try:
            await asyncio.wait_for(killer.wait(), _ENGINE_TIMEOUT_S)
        except TimeoutError:  # a stuck engine must not hold up an interrupt for ever
            killer.kill()
            await killer.wait()
        if client.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(client.pid, signal.SIGKILL)

    async def close(self) -> None:
        """Remove the thread's containers (closing the pipe ends them too; this waits)."""
        containers, self._containers = list(self._containers.values()), {}
        for container in containers:
            os.close(container.lifetime)
        if containers:
            remove = await asyncio.create_subprocess_exec(
                *podman_global_argv(self.config),
                "rm",
                "--force",
                "--ignore",
                "--time",
                "0",
                *(c.name for c in containers),
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.DEVNULL,
            )
            await remove.wait()


async def _start(argv: list[str], name: str) -> _Container:
    read_end, write_end = os.pipe()
    # `--preserve-fds 1` hands fd 3 to the container; bash puts the read end there (dash
    # cannot name an fd above 9).
    placed = [bash_path(), "-c", f'exec "$@" {LIFETIME_FD}<&{read_end}', "bash", *argv]
    try:
        process = await asyncio.create_subprocess_exec(
            *placed,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            pass_fds=(read_end,),
        )
        try:
            _out, err = await asyncio.wait_for(process.communicate(), _START_TIMEOUT_S)
        except TimeoutError:
            process.kill()
            os.close(write_end)
            raise SandboxUnavailable(
                f"podman did not start the container {name} within {_START_TIMEOUT_S:.0f} s; "
                "check that `podman info` answers (a pull may hang on the network), then retry."
            ) from None
    finally:
        os.close(read_end)
    if process.returncode != 0:
        os.close(write_end)
        message = err.decode(errors="replace").strip()
        if process.returncode == 127:
            message = "podman is not installed (apt-get install podman runc)"
        raise SandboxUnavailable(
            f"podman could not start the container: {message} (check `image` in [executor] of "
            "config.toml, and that `podman run` works for this user)"
        )
    return _Container(name, write_end, asyncio.Lock())


def reap_orphans(config: ContainerConfig) -> list[str]:
    """Remove every tether container whose server is no longer running; returns their names.
    A podman that is missing or does not answer reaps nothing (and is asked again next time):
    starting the container then says what is wrong."""
    global _reaped
    if _reaped:
        return []
    listed = _podman_quietly(
        config,
        "ps",
        "--all",
        "--filter",
        f"label={LABEL}=podman",  # not the Pods of `podman kube play`
        "--format",
        '{{.Names}} {{index .Labels "' + SERVER_LABEL + '"}}',
    )
    _reaped = listed is not None
    gone = [
        name
        for name, _, identity in (line.partition(" ") for line in (listed or "").splitlines())
        if name and not _alive(identity)
    ]
    if gone:
        _podman_quietly(config, "rm", "--force", "--ignore", "--time", "0", *gone)
    return gone


def _podman_quietly(config: ContainerConfig, *args: str) -> str | None:
    """Podman's output, or None when it is missing, fails or hangs past `_ENGINE_TIMEOUT_S`."""
    try:
        done = subprocess.run(
            [*podman_global_argv(config), *args],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=_ENGINE_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None


async def _pump(reader: asyncio.StreamReader, stream: Stream, output: CappedOutput) -> None:
    while chunk := await reader.read(_READ_CHUNK):
        output.feed(stream, chunk)
