"""The podman executor end to end: the real server (`python -m server --stdio`) with
`[executor] kind = "podman"`, the scripted model asking for shell commands, real Podman.

Checked on the wire and on the disk: items say sandbox "container", the engine and the image;
output streams; writes land in the workspace only; no network until the user approves an
escalation; an interrupt kills the command inside the container; turn/revert undoes what the
container wrote; thread/close removes the container, and so does killing the server with -9.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from tests.containers.conftest import containers_of
from tests.e2e.harness import Tether, start_tether, stop_tether
from tests.model_server import ModelServer, Reply, ToolCall


@pytest_asyncio.fixture
async def tether(
    model_server: ModelServer, home_with_podman: Path, leftover_check: list[str]
) -> AsyncIterator[Tether]:
    client = await start_tether(model_server.env(), home_with_podman)
    yield client
    await stop_tether(client)


async def start(tether: Tether, workspace: Path, leftover_check: list[str]) -> str:
    thread = await tether.start_thread(workspace, mode="agent")
    leftover_check.append(thread["id"])
    return thread["id"]


async def test_commands_run_in_the_container_and_revert_covers_them(
    tether: Tether,
    model_server: ModelServer,
    workspace: Path,
    image: str,
    leftover_check: list[str],
) -> None:
    command = (
        "echo out-1; echo err-1 >&2; echo from-container > made.txt; echo more >> README.md;"
        " echo x > /etc/evil; echo ${OPENAI_API_KEY:-no-key}; exit 3"
    )
    model_server.enqueue(
        Reply(tool_calls=[ToolCall("shell", {"command": command}, call_id="s")]), Reply(text="ok")
    )
    thread_id = await start(tether, workspace, leftover_check)
    turn = await tether.run_turn(thread_id, "run it", timeout=120)
    (item,) = tether.items(turn, "commandExecution")
    assert item["sandbox"] == "container" and item["launcher"] == "podman"
    assert item["image"] == image and item["exitCode"] == 3
    started = [p["item"] for p in tether.of("item/started", turn["id"])]
    assert any(i.get("sandbox") == "container" for i in started)
    streamed: dict[str, str] = {}
    for delta in tether.of("item/commandExecution/outputDelta", turn["id"]):
        streamed[delta["stream"]] = streamed.get(delta["stream"], "") + delta["chunk"]
    assert streamed["stdout"].startswith("out-1") and "err-1" in streamed["stderr"]
    assert "sk-scripted" not in item["output"] and "no-key" in item["output"]
    assert "Read-only file system" in item["output"]
    assert (workspace / "made.txt").read_text() == "from-container\n"
    assert "Exit code: 3" in model_server.requests[1].tool_outputs()["s"]

    result = await tether.request("turn/revert", {"threadId": thread_id, "turnId": turn["id"]})
    assert result["conflicts"] == []
    assert not (workspace / "made.txt").exists()
    assert (workspace / "README.md").read_text() == "# Calc\n\nA tiny calculator.\n"


async def test_no_network_until_the_user_approves_an_escalation(
    tether: Tether,
    model_server: ModelServer,
    workspace: Path,
    host_listener: tuple[int, list[bytes]],
    leftover_check: list[str],
) -> None:
    port, got = host_listener
    connect = f"echo hello >/dev/tcp/host.containers.internal/{port} && echo sent"
    escalated = {"command": connect, "escalate": True, "justification": "reach the listener"}
    model_server.enqueue(
        Reply(tool_calls=[ToolCall("shell", {"command": connect}, call_id="a")]),
        Reply(tool_calls=[ToolCall("shell", escalated, call_id="b")]),
        Reply(text="done"),
    )
    asked: list[dict[str, Any]] = []

    def accept(method: str, params: dict[str, Any]) -> dict[str, Any]:
        asked.append(params)
        return {"decision": "accept"}

    tether.approver = accept
    thread_id = await start(tether, workspace, leftover_check)
    turn = await tether.run_turn(thread_id, "connect", timeout=120)
    plain, approved = tether.items(turn, "commandExecution")
    assert plain["exitCode"] != 0 and "sent" not in plain["output"]
    assert approved["exitCode"] == 0 and "sent" in approved["output"]
    assert got == [b"hello\n"]
    # The approval names the policy the gate chose (out of the sandbox); in a container that
    # means the network, and writes still reach only what is mounted.
    assert len(asked) == 1 and asked[0]["sandbox"] == "none" and asked[0].get("escalation")
    assert plain["sandbox"] == approved["sandbox"] == "container"


async def test_interrupt_kills_the_command_in_the_container(
    tether: Tether, model_server: ModelServer, workspace: Path, leftover_check: list[str]
) -> None:
    marker = f"sleep 4{uuid.uuid4().int % 10**6:06d}"
    model_server.enqueue(
        Reply(tool_calls=[ToolCall("shell", {"command": f"{marker} & {marker}; echo never"})])
    )
    thread_id = await start(tether, workspace, leftover_check)
    turn = (
        await tether.request(
            "turn/start", {"threadId": thread_id, "input": [{"type": "text", "text": "sleep"}]}
        )
    )["turn"]
    await tether.wait_for(
        "item/started", lambda p: p["item"]["type"] == "commandExecution", timeout=60
    )
    for _ in range(1200):
        names = containers_of(thread_id)
        if names and marker in await processes_in(names[0]):
            break
        await asyncio.sleep(0.05)
    else:
        pytest.fail("the command never showed up in the container")
    await tether.request("turn/interrupt", {"threadId": thread_id, "turnId": turn["id"]})
    done = await tether.wait_for("turn/completed", timeout=30)
    assert done["turn"]["status"] == "interrupted"
    assert marker not in await processes_in(names[0])


async def processes_in(container: str) -> str:
    shown = await asyncio.create_subprocess_exec(
        "podman", "exec", container, "ps", "-eo", "args", stdout=asyncio.subprocess.PIPE
    )
    out, _ = await shown.communicate()
    return out.decode()


async def test_thread_close_removes_its_container(
    tether: Tether, model_server: ModelServer, workspace: Path, leftover_check: list[str]
) -> None:
    model_server.enqueue(
        Reply(tool_calls=[ToolCall("shell", {"command": "true"})]), Reply(text="ok")
    )
    thread_id = await start(tether, workspace, leftover_check)
    await tether.run_turn(thread_id, "go", timeout=120)
    assert containers_of(thread_id)
    await tether.request("thread/close", {"threadId": thread_id})
    assert containers_of(thread_id) == []


async def test_the_container_is_gone_after_the_server_is_killed_with_9(
    model_server: ModelServer, home_with_podman: Path, workspace: Path, leftover_check: list[str]
) -> None:
    client = await start_tether(model_server.env(), home_with_podman)
    model_server.enqueue(
        Reply(tool_calls=[ToolCall("shell", {"command": "true"})]), Reply(text="ok")
    )
    thread_id = await start(client, workspace, leftover_check)
    await client.run_turn(thread_id, "go", timeout=120)
    assert containers_of(thread_id)
    await client.kill()  # SIGKILL: no shutdown, no cleanup code runs in the server
    for _ in range(600):  # a hang guard, not a timing assertion
        if not containers_of(thread_id):
            break
        await asyncio.sleep(0.1)
    assert containers_of(thread_id) == []
