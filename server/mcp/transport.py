"""How a server is reached: a stdio process under the thread's sandbox, or streamable HTTP.

A stdio server runs like a command of the workspace-write sandbox (`sandbox.launchers.prepare`):
writes land only in the workspace roots and a private /tmp, protected paths stay read-only
(bwrap's mounts; under Landlock `sandbox.guard` puts them back while it runs and when it
stops), secret files are hidden, there is no network unless the server's `network = true`,
and its environment is scrubbed of secret-looking names (`sandbox.env`) except the ones its
definition names (`env`, `env_vars`). `sandbox = "none"` runs it as a plain process, with
the user's full rights, so nothing it runs may be code a sandboxed command can rewrite: it
starts in the home directory (not the workspace, where `python -m x` would import a planted
`x.py` and npx a planted `node_modules`) unless its entry sets `cwd`, and a program, a file
among its arguments or a cwd inside a workspace root is refused (`check_unsandboxed`).

The SDK's own stdio transport cannot hand bwrap its seccomp descriptor nor keep the process's
stderr, so the process is spawned here and its stdout read line by line into the SDK's
session: a line that is not JSON-RPC (a server printing a banner) is dropped and counted
instead of ending the session.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import tempfile
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import anyio
import httpx2
import mcp_types as types
from anyio.abc import Process
from mcp.shared.message import SessionMessage

from protocol.base import LauncherKind
from sandbox.guard import Guard
from sandbox.guard_watch import GuardWatch
from sandbox.launchers import prepare
from sandbox.layout import PrivateDirs
from sandbox.policy import Policy, homes_of, secret_paths_for
from sandbox.run import command_env
from server.mcp.config import ServerDef
from server.mcp.errors import StartFailed

log = logging.getLogger(__name__)

MAX_LINE = 64 * 1024 * 1024
"""A longer line without a newline is not a message any server sends: the session ends."""
STDERR_TAIL = 2000


@dataclass
class StdioProcess:
    """A running stdio server: its process, and what to clean up after it."""

    process: Process
    stderr: BinaryIO
    dirs: PrivateDirs | None
    guard: Guard | None = None
    watch: GuardWatch | None = None
    garbage_lines: int = 0
    launcher: LauncherKind = "none"
    notes: list[str] = field(default_factory=lambda: [])

    def stderr_tail(self) -> str:
        try:
            self.stderr.seek(0, os.SEEK_END)
            size = self.stderr.tell()
            self.stderr.seek(max(0, size - STDERR_TAIL))
            return self.stderr.read().decode(errors="replace").strip()
        except (OSError, ValueError):
            return ""


def server_env(defn: ServerDef, environ: Mapping[str, str]) -> dict[str, str]:
    """The inherited environment without secrets, plus what the definition names."""
    from sandbox.env import scrub_env

    env = scrub_env(environ)
    for name in defn.env_vars:
        if name in environ:
            env[name] = environ[name]
    env.update(defn.env)
    return env


def _server_cwd(defn: ServerDef, thread_cwd: Path, sandboxed: bool = True) -> Path:
    if not defn.cwd:
        return thread_cwd if sandboxed else Path.home()
    path = Path(defn.cwd).expanduser()
    if not path.is_absolute():
        # A project file's relative cwd is relative to its root; the user's to the thread's cwd.
        base = Path(defn.source).parent
        base = base.parent if base.name == ".tether" else base
        path = (base if defn.project else thread_cwd) / path
    return path


def check_unsandboxed(
    defn: ServerDef, cwd: Path, env: Mapping[str, str], roots: Sequence[Path]
) -> None:
    """StartFailed when an unsandboxed server's cwd, program or a file its arguments name lies
    inside a workspace root: a sandboxed command could rewrite it, and the server would run
    that code outside the sandbox at its next start."""
    real_roots = {Path(f(root)) for root in roots for f in (os.path.abspath, os.path.realpath)}

    def inside(path: Path) -> bool:
        try:
            shown, real = Path(os.path.abspath(path)), Path(os.path.realpath(path))
            return path.exists() and any(
                p.is_relative_to(root) for root in real_roots for p in (shown, real)
            )
        except (OSError, ValueError):
            return False

    command = defn.command or ""
    program = cwd / command if "/" in command else shutil.which(command, path=env.get("PATH"))
    named = [("cwd", cwd), ("program", Path(program) if program else None)]
    named += [("argument", cwd / arg) for arg in defn.args if arg and not arg.startswith("-")]
    for what, path in named:
        if path is not None and inside(path):
            raise StartFailed(
                f'it runs unsandboxed (sandbox = "none") and its {what} {path} is in the '
                "workspace, where sandboxed commands could rewrite what it runs; move it out "
                "of the workspace or let the server run sandboxed"
            )


def program_dirs(argv: Sequence[str], cwd: Path) -> list[Path]:
    """The top folders under /tmp holding the server's program or a file among its arguments
    (`/tmp/tools` for `python /tmp/tools/mcp/server.py`): the sandbox's private /tmp would hide
    them, and a script imports its neighbours, a node package its `node_modules`. They are
    shown read-only; the rest of the real /tmp stays hidden."""
    found: list[Path] = []
    for word in argv:
        if not word or word.startswith("-") or ("/" not in word and not (cwd / word).exists()):
            continue
        path = Path(os.path.realpath(cwd / word))
        if not (path.is_file() or path.is_dir()) or not path.is_relative_to("/tmp"):  # no socket
            continue
        if path == Path("/tmp"):
            continue
        top = Path("/tmp", path.relative_to("/tmp").parts[0])
        if top not in found:
            found.append(top)
    return found


@asynccontextmanager
async def stdio_process(
    defn: ServerDef,
    *,
    policy: Policy | None,
    launcher: LauncherKind,
    thread_cwd: Path,
    environ: Mapping[str, str],
    roots: Sequence[Path] = (),
) -> AsyncIterator[StdioProcess]:
    """Start the server's process (under `policy` unless None: then `roots` are the
    workspace's, which nothing it runs may lie in) and stop its whole tree after."""
    assert defn.command is not None
    cwd = _server_cwd(defn, thread_cwd, sandboxed=policy is not None)
    if not cwd.is_dir():
        raise StartFailed(f"its cwd {cwd} is not a directory")
    env = server_env(defn, environ)
    if policy is None:
        check_unsandboxed(defn, cwd, env, roots)
    argv = [defn.command, *defn.args]
    dirs: PrivateDirs | None = None
    pass_fds: tuple[int, ...] = ()
    guard: Guard | None = None
    chosen: LauncherKind = "none"
    if policy is not None:
        if launcher == "none":
            raise StartFailed(
                "no OS sandbox works on this machine, and a stdio server runs sandboxed; "
                'set `sandbox = "none"` for it to run it unsandboxed'
            )
        dirs = PrivateDirs.create()
        homes = homes_of(env)
        prepared = prepare(
            launcher,
            argv,
            policy=policy,
            dirs=dirs,
            cwd=Path(os.path.realpath(cwd)),
            secrets=secret_paths_for(policy, homes),
            readable=program_dirs(argv, cwd),
        )
        argv, pass_fds, chosen = prepared.argv, prepared.pass_fds, launcher
        env = command_env(env, policy, prepared.inside)
        if launcher == "landlock":
            guard = await anyio.to_thread.run_sync(Guard.record, policy, homes)
    # Kept for the server's life (its stderr tail explains a crash); `_stop` closes it.
    stderr = tempfile.TemporaryFile(prefix="tether-mcp-")  # noqa: SIM115
    try:
        process = await anyio.open_process(
            argv,
            stdin=-1,
            stdout=-1,
            stderr=stderr,
            cwd=cwd,
            env=env,
            start_new_session=True,
            pass_fds=pass_fds,
        )
    except OSError as exc:
        stderr.close()
        if dirs is not None:
            dirs.cleanup()
        raise StartFailed(f"`{defn.command}` could not be started ({exc.strerror or exc})") from exc
    finally:
        for fd in pass_fds:
            os.close(fd)
    running = StdioProcess(process, stderr, dirs, guard, launcher=chosen)
    if guard is not None:
        running.watch = GuardWatch(guard)
        running.watch.start()
    try:
        yield running
    finally:
        with anyio.CancelScope(shield=True):
            await _stop(running)


async def _stop(running: StdioProcess) -> None:
    """Close stdin, give the server a moment, then kill its process group."""
    process = running.process
    with contextlib.suppress(Exception):
        if process.stdin is not None:
            await process.stdin.aclose()
    with anyio.move_on_after(1.0):
        await process.wait()
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGTERM if process.returncode is None else signal.SIGKILL)
    with anyio.move_on_after(1.0):
        await process.wait()
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    with anyio.move_on_after(1.0):
        await process.wait()
    if running.watch is not None:
        running.watch.stop()
    if running.guard is not None:
        report = running.guard.restore(running.dirs.staged_repositories if running.dirs else None)
        if report.lines:
            log.warning("MCP server changed protected paths, put back: %s", report.lines)
    if running.dirs is not None:
        running.dirs.cleanup()
    running.stderr.close()


@asynccontextmanager
async def message_streams(
    running: StdioProcess,
) -> AsyncIterator[tuple[Any, Any]]:
    """The (read, write) streams of SessionMessages the SDK's ClientSession takes."""
    process = running.process
    assert process.stdout is not None and process.stdin is not None
    stdout, stdin = process.stdout, process.stdin
    read_send, read_recv = anyio.create_memory_object_stream[SessionMessage | Exception](16)
    write_send, write_recv = anyio.create_memory_object_stream[SessionMessage](16)

    async def reader() -> None:
        buffer = b""
        async with read_send:
            with contextlib.suppress(anyio.EndOfStream, anyio.ClosedResourceError, OSError):
                while True:
                    buffer += await stdout.receive(65536)
                    *lines, buffer = buffer.split(b"\n")
                    if len(buffer) > MAX_LINE:
                        running.notes.append("it wrote a line longer than 64 MiB to stdout")
                        return
                    for line in lines:
                        if message := _parse(line, running):
                            await read_send.send(message)

    async def writer() -> None:
        async with write_recv:
            with contextlib.suppress(anyio.ClosedResourceError, anyio.BrokenResourceError, OSError):
                async for message in write_recv:
                    data = message.message.model_dump_json(by_alias=True, exclude_unset=True)
                    await stdin.send(data.encode() + b"\n")

    async with anyio.create_task_group() as tg:
        tg.start_soon(reader)
        tg.start_soon(writer)
        try:
            yield read_recv, write_send
        finally:
            tg.cancel_scope.cancel()


def _parse(line: bytes, running: StdioProcess) -> SessionMessage | None:
    line = line.strip()
    if not line:
        return None
    try:
        return SessionMessage(types.jsonrpc_message_adapter.validate_json(line, by_name=False))
    except ValueError:
        running.garbage_lines += 1
        return None


def http_client(defn: ServerDef, environ: Mapping[str, str]) -> httpx2.AsyncClient:
    """The HTTP client for a server: its headers, the ones read from the environment, and the
    bearer token; a missing variable is a StartFailed naming it. No redirects off the origin
    (the SDK checks them)."""
    headers = dict(defn.http_headers)
    for header, var in defn.env_http_headers.items():
        if environ.get(var):
            headers[header] = environ[var]
    if defn.bearer_token_env_var:
        token = environ.get(defn.bearer_token_env_var)
        if not token:
            raise StartFailed(
                f"its bearer token variable {defn.bearer_token_env_var} is not set in the "
                "environment Tether runs in"
            )
        headers["Authorization"] = f"Bearer {token}"
    timeout = httpx2.Timeout(defn.tool_timeout_s, connect=min(defn.startup_timeout_s, 30.0))
    return httpx2.AsyncClient(headers=headers, timeout=timeout, trust_env=False)
