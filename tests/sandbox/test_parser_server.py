"""The real server survives commands that used to crash the parser (issue 14, point 1).

`{` followed by an astral character made tree-sitter-bash's scanner read past glibc's ctype
table, and the server parses every command the model sends: one such command killed it. Here a
scripted model sends a batch of them; the server must finish the turn and answer `thread/list`.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.e2e.harness import start_tether, stop_tether
from tests.model_server import ModelServer, Reply, ToolCall

_COMMANDS = [
    "echo {\U0010ffff",
    "ls {\U0010fffe..\U00010000}",
    "cat <<\U0001f600\nbody\n\U0001f600\necho {\U000e0001",
    "test -\U0010ffff x",
    "echo ${x:-\U0010ffff} $\U0010ffff {\U0010ffff",
]


async def test_astral_commands_do_not_kill_the_server(
    model_server: ModelServer, tmp_path: Path
) -> None:
    workspace = tmp_path / "ws"
    workspace.mkdir()
    tether = await start_tether(model_server.env(), tmp_path / "home")
    try:
        thread = await tether.start_thread(workspace, mode="agent")
        calls = [
            ToolCall("shell", {"command": command}, call_id=f"c{n}")
            for n, command in enumerate(_COMMANDS)
        ]
        model_server.enqueue(Reply(tool_calls=calls), Reply(text="done"))
        turn = await tether.run_turn(thread["id"], "run these")
        assert turn["status"] == "completed", {k: v for k, v in turn.items() if k != "items"}
        outputs = model_server.requests[-1].tool_outputs()
        assert set(outputs) == {f"c{n}" for n in range(len(_COMMANDS))}
        listed = await asyncio.wait_for(tether.request("thread/list", {}), 5)
        assert [t["id"] for t in listed["threads"]] == [thread["id"]]
    finally:
        await stop_tether(tether)
