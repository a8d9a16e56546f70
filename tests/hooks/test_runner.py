"""Running hook commands: stdin payload, parallel, timeout kills the process group."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from server.hooks.config import HookCommand, HookSource
from server.hooks.runner import hook_env, run_hooks

SOURCE = HookSource("/h/hooks.json", False, {})


def hook(command: str, timeout: float = 60.0) -> HookCommand:
    return HookCommand("Stop", "", command, timeout, SOURCE)


def test_payload_on_stdin_env_and_results_in_order(tmp_path: Path) -> None:
    env = hook_env(tmp_path, {"PATH": os.environ["PATH"], "OPENAI_API_KEY": "sk-secret"})
    results = asyncio.run(
        run_hooks(
            [
                hook("jq -r .hook_event_name"),
                hook('echo "$CLAUDE_PROJECT_DIR:$TETHER_PROJECT_DIR:${OPENAI_API_KEY:-none}"'),
                hook("pwd; echo err >&2; exit 3"),
            ],
            {"hook_event_name": "Stop"},
            tmp_path,
            env,
        )
    )
    assert [r.exit_code for r in results] == [0, 0, 3]
    assert results[0].stdout == "Stop\n"
    assert results[1].stdout == f"{tmp_path}:{tmp_path}:none\n"
    assert results[2].stdout == f"{tmp_path}\n" and results[2].stderr == "err\n"


def test_hooks_run_in_parallel(tmp_path: Path) -> None:
    # Each waits for the other's file: only hooks running at the same time both finish.
    a, b = tmp_path / "a", tmp_path / "b"
    wait_for = "for i in $(seq 200); do [ -e {0} ] && exit 0; sleep 0.05; done; exit 1"
    results = asyncio.run(
        run_hooks(
            [hook(f"touch {a}; " + wait_for.format(b)), hook(f"touch {b}; " + wait_for.format(a))],
            {},
            tmp_path,
            hook_env(tmp_path),
        )
    )
    assert [r.exit_code for r in results] == [0, 0]


def test_timeout_kills_the_whole_process_group(tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    (result,) = asyncio.run(
        run_hooks(
            [hook(f"sleep 300 & echo $! > {pid_file}; wait", timeout=0.5)],
            {},
            tmp_path,
            hook_env(tmp_path),
        )
    )
    assert result.timed_out and result.exit_code is None
    pid = int(pid_file.read_text())
    status = Path(f"/proc/{pid}/status")
    assert not status.exists() or "zombie" in status.read_text()
