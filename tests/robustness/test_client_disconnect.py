"""When the client goes away mid-turn (its end of stdin closes), the server kills what it started
and exits within 2 s, leaving no process behind. Checked during a long command, sandboxed
(agent) and not (fullAccess), part of which escaped into its own session: every process below
the server, and any `sleep` with the test's unique argument anywhere on the machine, must be
gone. And during a model stream held open by the scripted model server, whose connection must
be closed.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

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


def test_a_killed_parent_ends_the_server_quietly(
    tmp_path: Path, model_server: ModelServer, workspace: Path
) -> None:
    """The client's process dies mid-stream: nobody reads the server's output any more (its
    writes fail with EPIPE), then its input ends. The server exits 0 with one clear line on
    stderr, no traceback."""
    model_server.enqueue(Reply(text="words " * 2000, chunk_size=6, hold_after=10))
    base = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "TETHER_"))}
    env = {**base, "TETHER_HOME": str(tmp_path / "home"), **model_server.env()}
    proc = subprocess.Popen(
        [sys.executable, "-m", "server", "--stdio"],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    ids = itertools.count(1)

    def call(method: str, params: Any) -> Any:
        msg_id = next(ids)
        body = json.dumps({"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params})
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(b"Content-Length: %d\r\n\r\n%s" % (len(body), body.encode()))
        proc.stdin.flush()
        while True:  # notifications before the answer are skipped
            length = int(proc.stdout.readline().split(b":")[1])
            proc.stdout.readline()
            message = json.loads(proc.stdout.read(length))
            if message.get("id") == msg_id:
                return message["result"]

    try:
        call("initialize", {"capabilities": {}})
        thread = call("thread/start", {"cwd": str(workspace)})["thread"]
        text = [{"type": "text", "text": "talk"}]
        call("turn/start", {"threadId": thread["id"], "input": text})
        held = model_server.wait_held(timeout=20)
        proc.stdout.close()  # the parent is gone: its end of the pipe with it
        model_server.release()  # the rest of the reply streams into the closed pipe
        assert held.wait_done(20) == "completed"
        proc.stdin.close()
        assert proc.wait(timeout=10) == 0
        stderr = proc.stderr.read().decode()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert "Traceback" not in stderr, stderr
    assert stderr.count("the client is gone") == 1, stderr
