"""Commands run in the sandbox and stream their output; an interrupt stops the model stream or
kills the running command within 500 ms and ends the turn `interrupted`."""

from __future__ import annotations

import asyncio
import os
import uuid
from pathlib import Path

from tests.e2e.harness import Tether
from tests.model_server import ModelServer, Reply, ToolCall


async def test_command_output_streams_and_reaches_the_model(
    tether: Tether, model_server: ModelServer, workspace: Path
) -> None:
    command = "echo out-1; echo err-1 >&2; echo $OPENAI_API_KEY; touch made.txt; exit 3"
    model_server.enqueue(
        Reply(tool_calls=[ToolCall("shell", {"command": command}, call_id="s")]), Reply(text="done")
    )
    thread = await tether.start_thread(workspace, mode="agent")
    turn = await tether.run_turn(thread["id"], "run it")
    (item,) = tether.items(turn, "commandExecution")
    assert item["exitCode"] == 3 and item["status"] == "failed"
    assert item["sandbox"] == "workspaceWrite" and item["launcher"] in ("bwrap", "landlock")
    deltas = tether.of("item/commandExecution/outputDelta", turn["id"])
    streamed = {d["stream"]: "" for d in deltas}
    for d in deltas:
        streamed[d["stream"]] += d["chunk"]
    assert streamed["stdout"].startswith("out-1") and "err-1" in streamed["stderr"]
    assert "sk-scripted" not in item["output"]  # the model's key never reaches commands
    assert (workspace / "made.txt").exists()  # agent mode writes inside the workspace
    observation = model_server.requests[1].tool_outputs()["s"]
    assert "Exit code: 3" in observation and "out-1" in observation


async def test_interrupt_stops_a_streaming_model(
    tether: Tether, model_server: ModelServer, workspace: Path
) -> None:
    model_server.enqueue(Reply(text="x" * 400, chunk_size=4, hold_after=10))
    thread = await tether.start_thread(workspace)
    turn = (
        await tether.request(
            "turn/start", {"threadId": thread["id"], "input": [{"type": "text", "text": "talk"}]}
        )
    )["turn"]
    await model_server.wait_held_async()
    await tether.wait_for("item/agentMessage/delta")
    await tether.request("turn/interrupt", {"threadId": thread["id"], "turnId": turn["id"]})
    done = await tether.wait_for("turn/completed", timeout=5)
    assert done["turn"]["status"] == "interrupted"
    # The thread is usable again.
    model_server.enqueue(Reply(text="again"))
    assert (await tether.run_turn(thread["id"], "once more"))["status"] == "completed"


async def test_interrupt_kills_a_running_command(
    tether: Tether, model_server: ModelServer, workspace: Path
) -> None:
    pidfile = workspace / "pid"
    # A duration no other process on the machine uses, so the leftover check below sees only ours.
    duration = f"60.{uuid.uuid4().int % 10**9:09d}"
    model_server.enqueue(
        Reply(
            tool_calls=[
                ToolCall("shell", {"command": f"sleep {duration} & echo $! > {pidfile}; wait"})
            ]
        )
    )
    thread = await tether.start_thread(workspace, mode="agent")
    turn = (
        await tether.request(
            "turn/start", {"threadId": thread["id"], "input": [{"type": "text", "text": "sleep"}]}
        )
    )["turn"]
    await tether.wait_for("item/started", lambda p: p["item"]["type"] == "commandExecution")
    for _ in range(100):
        if pidfile.exists() and pidfile.read_text().strip():
            break
        await asyncio.sleep(0.05)
    await tether.request("turn/interrupt", {"threadId": thread["id"], "turnId": turn["id"]})
    done = await tether.wait_for("turn/completed", timeout=5)
    assert done["turn"]["status"] == "interrupted"
    (item,) = tether.items(done["turn"], "commandExecution")
    assert item["status"] == "failed"
    # The sleep lived in a pid namespace under bwrap; look for it anywhere on the machine.
    await asyncio.sleep(0.2)
    leftovers = [
        p for p in os.listdir("/proc") if p.isdigit() and _cmdline(p) == f"sleep{duration}"
    ]
    assert leftovers == []


def _cmdline(pid: str) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b"").decode()
    except OSError:
        return ""


async def test_a_command_writing_bytes_that_are_not_utf8_keeps_the_turn_alive(
    tether: Tether, model_server: ModelServer, workspace: Path
) -> None:
    # No NUL in them, as in zlib data such as a copied .git/objects file: the turn diff must
    # not carry them as text (they cannot be sent as JSON) and the turn must go on.
    command = r"printf 'x\377\376\355\240\200y' > blob.bin; printf 'text\n' > plain.txt"
    model_server.enqueue(
        Reply(tool_calls=[ToolCall("shell", {"command": command}, call_id="s")]), Reply(text="ok")
    )
    thread = await tether.start_thread(workspace, mode="agent")
    turn = await tether.run_turn(thread["id"], "write them")
    assert turn["status"] == "completed"
    diffs = [d["diff"] for d in tether.of("turn/diff/updated", turn["id"])]
    assert diffs and "Binary or non-UTF-8 file" in diffs[-1] and "+text" in diffs[-1]
    assert "\ufffd" not in diffs[-1]
