"""The scripted model for row 12 (`subagents_row`), as its own process: prints its base URL,
then serves until terminated. It answers by what a request holds, never by arrival order: a
child's (its prompt starts with BENCH-CHILD) or a single thread's gets 2,000 deltas; the parent
spawns three explorers, then waits for them, then answers briefly."""

from __future__ import annotations

import re
import signal
import threading

from bench.turns import LONG
from tests.model_server import ModelServer, RecordedRequest, Reply, ToolCall

CHILDREN = 3


def answer(request: RecordedRequest) -> Reply:
    texts = request.user_texts()
    if texts and texts[0].startswith(("BENCH-CHILD", "BENCH-SINGLE")):
        return Reply(text=LONG["text"], deltas=LONG["deltas"])
    outputs = request.tool_outputs()
    if not outputs:
        return Reply(
            tool_calls=[
                ToolCall(
                    "spawn_agent",
                    {"agent_type": "explorer", "prompt": f"BENCH-CHILD {i}: write a long answer"},
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
