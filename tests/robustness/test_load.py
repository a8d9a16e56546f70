"""Eight threads at once in one server, each running turns that stream hundreds of deltas and
run a sandboxed command: no notification is lost or reordered (every turn's `seq` runs 1, 2, 3
... with no gap, from `turn/started` to `turn/completed`), the deltas of every message and
command add up to the final item, and nothing deadlocks. Latency from `turn/start` to the
first delta and to `turn/completed` is printed (medians and max), not asserted.
"""

from __future__ import annotations

import asyncio
import re
import statistics
import time
from pathlib import Path
from typing import Any

from tests.e2e.harness import Tether
from tests.model_server import ModelServer, RecordedRequest, Reply, ToolCall

THREADS = 8
TURNS = 2
DELTAS = 300
OUTPUT_LINES = 300
COMMAND = f"for n in $(seq 1 {OUTPUT_LINES}); do echo output-line-$n; done"


def answer(turn: str) -> str:
    return "".join(f"{turn}-w{i} " for i in range(DELTAS))


def scripted_load(request: RecordedRequest) -> Reply:
    """First call of a turn: a short streamed note and the command; second: the long answer."""
    turn = request.user_texts()[-1]
    if not re.fullmatch(r"load \d+\.\d+", turn):
        return Reply(text="?")
    if f"{turn}/cmd" not in request.tool_outputs():
        return Reply(
            text=f"Running the command for {turn}; then I will explain what it printed. ",
            deltas=40,
            delay=0.002,
            tool_calls=[ToolCall("shell", {"command": COMMAND}, call_id=f"{turn}/cmd")],
        )
    return Reply(text=answer(turn), deltas=DELTAS, delay=0.002)


async def run_thread(tether: Tether, workspace: Path, n: int, timing: dict[str, Any]) -> list[str]:
    thread = await tether.start_thread(workspace, mode="agent")
    turn_ids = []
    for j in range(TURNS):
        started = time.monotonic()
        turn = await tether.request(
            "turn/start",
            {"threadId": thread["id"], "input": [{"type": "text", "text": f"load {n}.{j}"}]},
        )
        turn_id = turn["turn"]["id"]
        timing[turn_id] = started
        done = await tether.wait_for(
            "turn/completed", lambda p, t=turn_id: p["turn"]["id"] == t, timeout=120
        )
        assert done["turn"]["status"] == "completed", done["turn"]
        turn_ids.append(turn_id)
    return turn_ids


def check_sequence(tether: Tether) -> int:
    """Per thread, in arrival order, every turn's seq is 1..N without a gap; returns how many
    numbered notifications there were."""
    expected: dict[str, int] = {}  # thread id -> next seq
    numbered = 0
    for method, params in tether.notifications:
        if "seq" not in params or params["seq"] is None:
            continue
        numbered += 1
        thread_id = params["threadId"]
        if method == "turn/started":
            assert params["seq"] == 1 and thread_id not in expected, (method, params["seq"])
            expected[thread_id] = 2
            continue
        assert params["seq"] == expected.get(thread_id), f"{method}: seq gap on {thread_id}"
        expected[thread_id] += 1
        if method == "turn/completed":
            del expected[thread_id]
    assert expected == {}, "turns without turn/completed"
    return numbered


def check_items(tether: Tether, turn: dict[str, Any], text: str) -> None:
    message_deltas: dict[str, list[str]] = {}
    for d in tether.of("item/agentMessage/delta", turn["id"]):
        message_deltas.setdefault(d["itemId"], []).append(d["delta"])
    messages = tether.items(turn, "agentMessage")
    assert [len(message_deltas[m["id"]]) for m in messages] == [40, DELTAS]
    for m in messages:
        assert "".join(message_deltas[m["id"]]) == m["text"]
    assert messages[-1]["text"] == text
    (command,) = tether.items(turn, "commandExecution")
    chunks = [
        d["chunk"]
        for d in tether.of("item/commandExecution/outputDelta", turn["id"])
        if d["itemId"] == command["id"]
    ]
    expected_output = "".join(f"output-line-{n}\n" for n in range(1, OUTPUT_LINES + 1))
    assert "".join(chunks) == command["output"] == expected_output
    assert command["status"] == "completed" and command["sandbox"] == "workspaceWrite"


async def test_eight_threads_stream_and_run_commands_at_once(
    tether: Tether, model_server: ModelServer, workspace: Path
) -> None:
    model_server.fallback = scripted_load
    arrived: dict[int, float] = {}
    record = tether._record

    async def timed_record(method: str, params: Any) -> None:
        arrived[id(params)] = time.monotonic()
        await record(method, params)

    tether._record = timed_record  # type: ignore[method-assign]
    started: dict[str, float] = {}
    began = time.monotonic()
    turn_ids = [
        t
        for ids in await asyncio.wait_for(
            asyncio.gather(*(run_thread(tether, workspace, n, started) for n in range(THREADS))),
            timeout=170,
        )
        for t in ids
    ]
    wall = time.monotonic() - began

    numbered = check_sequence(tether)
    first_delta, completed = [], []
    for turn_id in turn_ids:
        (done,) = tether.of("turn/completed", turn_id)
        turn = done["turn"]
        text = turn["items"][0]["content"][0]["text"]
        check_items(tether, turn, answer(text))
        delta = tether.of("item/agentMessage/delta", turn_id)[0]
        first_delta.append(arrived[id(delta)] - started[turn_id])
        completed.append(arrived[id(done)] - started[turn_id])

    assert len(turn_ids) == THREADS * TURNS
    print(
        f"load: {THREADS} threads x {TURNS} turns, {numbered} numbered notifications "
        f"({len(tether.notifications)} in all) in {wall:.1f} s; turn/start -> first delta: "
        f"median {statistics.median(first_delta) * 1000:.0f} ms, "
        f"max {max(first_delta) * 1000:.0f} ms; turn/start -> turn/completed: "
        f"median {statistics.median(completed):.2f} s, max {max(completed):.2f} s"
    )
