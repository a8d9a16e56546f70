"""Run the commands that match one event: in parallel, outside the sandbox (they are the
user's code, not the model's), each in its own process group that is killed whole on timeout
or when the turn is interrupted.

Hooks the client declared run in the client instead (`ClientRunner`, `hook/callback`).

The environment is the server's with secrets scrubbed (`sandbox.env.scrub_env`: the model's
key never reaches a hook), plus `TETHER_PROJECT_DIR` and, for scripts written for Claude Code,
`CLAUDE_PROJECT_DIR`. The payload goes to stdin as one JSON object.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sandbox.env import scrub_env
from server.hooks.config import HookCommand

OUTPUT_CAP = 256 * 1024
"""Characters of a hook's stdout and stderr kept; more is cut (a hook is not a log sink)."""


@dataclass(frozen=True)
class HookResult:
    hook: HookCommand
    exit_code: int | None
    """None when the hook did not finish: timed out (then killed) or could not start."""
    stdout: str
    stderr: str
    duration_ms: int
    timed_out: bool = False


def hook_env(project_dir: Path, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    env = scrub_env(os.environ if environ is None else environ)
    env["TETHER_PROJECT_DIR"] = env["CLAUDE_PROJECT_DIR"] = str(project_dir)
    return env


ClientRunner = Callable[[HookCommand], Awaitable[HookResult]]
"""Runs a hook of the client's (`HookCommand.callback_id`) by asking the client."""


async def run_hooks(
    hooks: list[HookCommand],
    payload: dict[str, Any],
    cwd: Path,
    env: dict[str, str],
    client: ClientRunner | None = None,
) -> list[HookResult]:
    """Every hook at once; the results in the hooks' order. The client's hooks go to
    `client` (without one they fail, not blocking)."""
    data = json.dumps(payload).encode()

    async def run(hook: HookCommand) -> HookResult:
        if hook.callback_id is None:
            return await run_hook(hook, data, cwd, env)
        if client is None:
            return HookResult(hook, None, "", "no client to run it", 0)
        return await client(hook)

    return list(await asyncio.gather(*(run(h) for h in hooks)))


async def run_hook(hook: HookCommand, stdin: bytes, cwd: Path, env: dict[str, str]) -> HookResult:
    started = time.monotonic()

    def took() -> int:
        return int((time.monotonic() - started) * 1000)

    shell = shutil.which("bash") or "/bin/sh"
    try:
        proc = await asyncio.create_subprocess_exec(
            shell,
            "-c",
            hook.command,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            cwd=cwd,
            env=env,
            start_new_session=True,
        )
    except OSError as exc:
        return HookResult(hook, None, "", f"could not start: {exc}", took())
    try:
        out, err = await asyncio.wait_for(proc.communicate(stdin), hook.timeout_s)
    except TimeoutError:
        await _kill_group(proc)
        return HookResult(
            hook, None, "", f"timed out after {hook.timeout_s:g} s and was killed", took(), True
        )
    except asyncio.CancelledError:
        await _kill_group(proc)
        raise
    return HookResult(hook, proc.returncode, _text(out), _text(err), took())


async def _kill_group(proc: asyncio.subprocess.Process) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    await proc.wait()


def _text(data: bytes) -> str:
    return data.decode(errors="replace")[:OUTPUT_CAP]
