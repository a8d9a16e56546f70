"""The scripted model for row 12 (`subagents_row`), as its own process: prints its base URL,
then serves until terminated. It answers by what a request holds, never by arrival order: a
child's (its prompt starts with BENCH-CHILD) gets 2,000 deltas, a single thread's 6,000 (the
same total, so both figures span as many 10 ms CPU ticks); the parent spawns three explorers,
then waits for them, then answers briefly. The -SHORT variants answer 8 deltas: the same turns
with almost no streaming, whose CPU is subtracted to get what streaming itself costs."""

from __future__ import annotations

import re
import signal
import threading

from bench.turns import LONG, SHORT
from tests.model_server import ModelServer, RecordedRequest, Reply, ToolCall

CHILDREN = 3


def answer(request: RecordedRequest) -> Reply:
    texts = request.user_texts()
    first = texts[0] if texts else ""
    if first.startswith(("BENCH-CHILD-SHORT", "BENCH-SINGLE-SHORT")):
        return Reply(text=SHORT["text"], deltas=SHORT["deltas"])
    if first.startswith("BENCH-CHILD"):
        return Reply(text=LONG["text"], deltas=LONG["deltas"])
    if first.startswith("BENCH-SINGLE"):
        return Reply(text=LONG["text"] * CHILDREN, deltas=LONG["deltas"] * CHILDREN)
    outputs = request.tool_outputs()
    if not outputs:
        child = "BENCH-CHILD-SHORT" if first.startswith("BENCH-PARENT-SHORT") else "BENCH-CHILD"
        return Reply(
            tool_calls=[
                ToolCall(
                    "spawn_agent",
                    {"agent_type": "explorer", "prompt": f"{child} {i}: write an answer"},
                    f"s{i}",
                )
                for i in range(CHILDREN)
            ]
        )
    if len(outputs) == CHILDREN:
        ids = [i for out in outputs.values() for i in re.findall(r"as agent (thr_\w+)", out)]
        return Reply(tool_calls=[ToolCall("wait_agents", {"ids": ids}, "w")])
    return Reply(text="All three answered.")


def main() -> None:
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with ModelServer(fallback=answer) as server:
        print(server.base_url, flush=True)
        stop.wait()


if __name__ == "__main__":
    main()
