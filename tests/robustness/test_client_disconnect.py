"""When the client goes away mid-turn (its end of stdin closes), the server kills what it started
and exits within 2 s, leaving no process behind. Checked during a long command, sandboxed
(agent) and not (fullAccess), part of which escaped into its own session: every process below
the server, and any `sleep` with the test's unique argument anywhere on the machine, must be
gone. And during a model stream held open by the scripted model server, whose connection must
be closed.
"""

from __future__ import annotations

import asyncio
import random
import time
from pathlib import Path

import pytest

from tests.e2e.raw import RawServer
from tests.model_server import ModelServer, Reply, ToolCall
from tests.robustness.wire import Conversation, descendants, processes_running, running

EXIT_WITHIN_S = 2.0


async def all_gone(pids: set[int], within_s: float = EXIT_WITHIN_S) -> set[int]:
    """The pids still running after up to `within_s` (a helper such as the server's cgroup
    watchdog may take a moment to finish its cleanup and exit)."""
    deadline = time.monotonic() + within_s
    while running(pids) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    return running(pids)


async def close_stdin_and_time_the_exit(server: RawServer) -> float:
    assert server.proc.stdin is not None
    started = time.monotonic()
    server.proc.stdin.close()
    await asyncio.wait_for(server.proc.wait(), 10)
    return time.monotonic() - started


@pytest.mark.parametrize("mode", ["agent", "fullAccess"])  # sandboxed, and not
async def test_stdin_closing_during_a_command_kills_it_and_exits(
    tmp_path: Path, model_server: ModelServer, workspace: Path, mode: str
) -> None:
    argv = ["sleep", f"60.{random.randrange(10**6):06d}"]  # unique on this machine
    sleep = " ".join(argv)
    # One sleep escapes the process group into its own session; both must die.
    command = f"setsid {sleep} & {sleep}; wait"
    model_server.enqueue(Reply(tool_calls=[ToolCall("shell", {"command": command})]))
    server = await RawServer.start(tmp_path / "home", model_server.env())
    try:
        conv = Conversation(server)
        await conv.initialize()
        params = {"cwd": str(workspace), "mode": mode}
        thread_id = (await conv.result("thread/start", params))["thread"]["id"]
        await conv.start_turn(thread_id, "wait a minute")
        await conv.read_until(
            lambda m: (
                m.get("method") == "item/started"
                and m["params"]["item"]["type"] == "commandExecution"
            )
        )
        for _ in range(200):
            if len(processes_running(argv)) == 2:
                break
            await asyncio.sleep(0.05)
        assert len(processes_running(argv)) == 2, "the command never started"
        children = descendants(server.proc.pid)

        took = await close_stdin_and_time_the_exit(server)
        print(f"client gone during `{command}`: server exited in {took * 1000:.0f} ms")
        assert took < EXIT_WITHIN_S
        assert server.proc.returncode == 0
        assert await all_gone(children) == set(), "processes outlived the server"
        assert processes_running(argv) == set()
    finally:
        await server.close()


async def test_stdin_closing_during_a_held_model_stream_exits(
    tmp_path: Path, model_server: ModelServer, workspace: Path
) -> None:
    model_server.enqueue(Reply(text="words " * 200, chunk_size=6, hold_after=10))
    server = await RawServer.start(tmp_path / "home", model_server.env())
    try:
        conv = Conversation(server)
        await conv.initialize()
        thread_id = (await conv.result("thread/start", {"cwd": str(workspace)}))["thread"]["id"]
        await conv.start_turn(thread_id, "talk slowly")
        held = await model_server.wait_held_async(timeout=20)
        await conv.read_until(lambda m: m.get("method") == "item/agentMessage/delta")
        children = descendants(server.proc.pid)

        took = await close_stdin_and_time_the_exit(server)
        print(f"client gone during a held model stream: server exited in {took * 1000:.0f} ms")
        assert took < EXIT_WITHIN_S
        assert server.proc.returncode == 0
        assert await all_gone(children) == set()
        # The model connection was closed, not left to the endpoint's timeout.
        assert await asyncio.to_thread(held.wait_done, 5) == "client_closed"
    finally:
        await server.close()
