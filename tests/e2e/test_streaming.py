"""A turn streams the model's reply token by token, in order, over both wire APIs."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.harness import Tether
from tests.model_server import ModelServer, Reply, Usage


async def test_two_thousand_deltas_arrive_in_order(
    tether: Tether, model_server: ModelServer, workspace: Path, wire_api: str
) -> None:
    text = "".join(f"w{i} " for i in range(2000))
    model_server.enqueue(
        Reply(
            text=text,
            deltas=2000,
            reasoning="Thinking it over.",
            usage=Usage(input_tokens=1200, output_tokens=2000, cached_input_tokens=200),
        )
    )
    thread = await tether.start_thread(workspace)
    turn = await tether.run_turn(thread["id"], "Count to 2000.")

    assert turn["status"] == "completed"
    deltas = tether.of("item/agentMessage/delta", turn["id"])
    assert len(deltas) == 2000
    assert "".join(d["delta"] for d in deltas) == text
    (message,) = tether.items(turn, "agentMessage")
    assert message["text"] == text and {d["itemId"] for d in deltas} == {message["id"]}
    reasoning = tether.of("item/reasoning/delta", turn["id"])
    assert "".join(d["delta"] for d in reasoning) == "Thinking it over."
    assert tether.items(turn, "reasoning")[0]["text"] == "Thinking it over."

    # Order: turn/started, then the message's item/started, its deltas, item/completed,
    # and turn/completed last.
    order = [
        m
        for m, p in tether.notifications
        if p.get("turnId") == turn["id"] or p.get("turn", {}).get("id") == turn["id"]
    ]
    assert order[0] == "turn/started" and order[-1] == "turn/completed"
    first_delta = order.index("item/agentMessage/delta")
    assert "item/started" in order[:first_delta]
    assert order[first_delta + 2000 - 1 + 1] == "item/completed"
    assert turn["usage"]["inputTokens"] == 1200 and turn["usage"]["cachedInputTokens"] == 200
    usage = tether.of("thread/tokenUsage/updated")
    assert usage and usage[-1]["usage"]["outputTokens"] == 2000

    request = model_server.requests[0]
    assert request.api == wire_api
    assert request.user_texts() == ["Count to 2000."]
    assert {"read_file", "list_dir", "search", "update_plan"} <= set(request.tools)


async def test_thread_read_and_list_show_the_finished_turn(
    tether: Tether, model_server: ModelServer, workspace: Path
) -> None:
    model_server.enqueue(Reply(text="Hello there."))
    thread = await tether.start_thread(workspace)
    turn = await tether.run_turn(thread["id"], "Hi")
    read = await tether.request("thread/read", {"threadId": thread["id"]})
    assert read["turns"][0]["id"] == turn["id"]
    assert [i["type"] for i in read["turns"][0]["items"]] == ["userMessage", "agentMessage"]
    listed = await tether.request("thread/list", {})
    assert listed["threads"][0]["id"] == thread["id"]
    assert listed["threads"][0]["status"] == "idle"
