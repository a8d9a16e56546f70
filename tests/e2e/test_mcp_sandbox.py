"""A stdio MCP server runs in the thread's sandbox (issue 18): attempts in the server's own code
to reach the network, to write outside the workspace and to read a secret from its environment
fail, under each launcher and as root and a normal user (the sandbox matrix runs this module in
every cell); each attack has a control showing it works with `sandbox = "none"`."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import SandboxCell
from tests.e2e.harness import Tether
from tests.e2e.test_mcp import ready
from tests.mcp.setup import python_server, write_user_config
from tests.model_server import ModelServer, Reply, ToolCall

pytestmark = pytest.mark.sandbox_matrix


async def call(
    tether: Tether, model_server: ModelServer, thread_id: str, tool: str, args: dict[str, Any]
) -> str:
    model_server.enqueue(Reply(tool_calls=[ToolCall(tool, args, call_id="c1")]), Reply(text="done"))
    turn = await tether.run_turn(thread_id, "try it", timeout=60)
    assert turn["status"] == "completed", turn
    return model_server.requests[-1].tool_outputs()["c1"]


@pytest.mark.parametrize("sandboxed", [True, False], ids=["sandboxed", "control"])
async def test_network_write_outside_and_secrets(
    tether: Tether,
    model_server: ModelServer,
    workspace: Path,
    tmp_path: Path,
    listener: tuple[int, list[bytes]],
    sandbox_cell: SandboxCell,
    sandboxed: bool,
) -> None:
    entry = python_server("basic.py", env={"GIVEN": "by the config"})
    if not sandboxed:
        entry["sandbox"] = "none"
    write_user_config(tmp_path / "home", {"s": entry})
    thread = await tether.start_thread(workspace, mode="agent")
    server = await ready(tether, thread["id"], "s")
    assert server["sandbox"] == ("workspaceWrite" if sandboxed else "none")
    expected = "landlock" if sandbox_cell.userns_blocked else sandbox_cell.launcher
    if sandboxed and expected != "auto":
        assert server["launcher"] == expected
    elif not sandboxed:
        assert server["launcher"] == "none"
    port, got = listener
    reached = await call(
        tether,
        model_server,
        thread["id"],
        "mcp__s__try_network",
        {"host": "127.0.0.1", "port": port},
    )
    outside = tmp_path / "outside" / "pwned.txt"
    outside.parent.mkdir()
    wrote = await call(
        tether, model_server, thread["id"], "mcp__s__try_write", {"path": str(outside)}
    )
    inside = workspace / "made-by-mcp.txt"
    wrote_inside = await call(
        tether, model_server, thread["id"], "mcp__s__try_write", {"path": str(inside)}
    )
    git_hook = workspace / ".git" / "hooks" / "pre-commit"
    await call(tether, model_server, thread["id"], "mcp__s__try_write", {"path": str(git_hook)})
    assert wrote_inside.startswith("written") and inside.is_file()  # its workspace is writable
    # Secrets never reach its environment, sandboxed or not; what its config gives does.
    key = await call(tether, model_server, thread["id"], "mcp__s__env", {"name": "OPENAI_API_KEY"})
    given = await call(tether, model_server, thread["id"], "mcp__s__env", {"name": "GIVEN"})
    assert key.startswith("<unset>") and given.startswith("by the config")
    await asyncio.sleep(0)  # the listener thread records what connected
    if sandboxed:
        assert reached.startswith("refused"), reached
        assert got == []
        assert not outside.exists(), wrote
        if server["launcher"] == "landlock":
            # Landlock cannot keep protected paths read-only; sandbox.guard puts them back.
            for _ in range(100):
                if not git_hook.exists():
                    break
                await asyncio.sleep(0.05)
        assert not git_hook.exists()  # protected paths stay read-only (or are put back)
    else:
        assert reached.startswith("connected"), reached
        for _ in range(100):
            if got:
                break
            await asyncio.sleep(0.05)
        assert got == [b"hello\n"]
        assert wrote.startswith("written") and outside.read_text().startswith("written by")


async def test_network_true_opens_only_the_network(
    tether: Tether,
    model_server: ModelServer,
    workspace: Path,
    tmp_path: Path,
    listener: tuple[int, list[bytes]],
) -> None:
    write_user_config(tmp_path / "home", {"s": python_server("basic.py", network=True)})
    thread = await tether.start_thread(workspace, mode="agent")
    server = await ready(tether, thread["id"], "s")
    assert server["network"] is True and server["sandbox"] == "workspaceWrite"
    port, got = listener
    reached = await call(
        tether,
        model_server,
        thread["id"],
        "mcp__s__try_network",
        {"host": "127.0.0.1", "port": port},
    )
    assert reached.startswith("connected"), reached
    for _ in range(100):  # the listener thread records what connected
        if got:
            break
        await asyncio.sleep(0.05)
    assert got == [b"hello\n"]
    outside = tmp_path / "outside" / "pwned.txt"
    outside.parent.mkdir()
    await call(tether, model_server, thread["id"], "mcp__s__try_write", {"path": str(outside)})
    assert not outside.exists()  # still confined to the workspace
