"""Threads that last: crash and resume, compaction, steering, project instructions, editor
context, models."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.harness import Tether, start_tether, stop_tether
from tests.model_server import ModelServer, RecordedRequest, Reply, ToolCall


async def test_kill_9_mid_turn_then_resume(
    model_server: ModelServer, workspace: Path, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    first = await start_tether(model_server.env(), home)
    model_server.enqueue(
        Reply(
            text="Reading.", tool_calls=[ToolCall("read_file", {"path": "README.md"}, call_id="r1")]
        ),
        Reply(text="partial answer " * 20, chunk_size=5, hold_after=6),
    )
    thread = await first.start_thread(workspace, mode="agent")
    turn = (
        await first.request(
            "turn/start",
            {
                "threadId": thread["id"],
                "input": [{"type": "text", "text": "What is this project?"}],
            },
        )
    )["turn"]
    await model_server.wait_held_async()
    await first.wait_for("item/agentMessage/delta", lambda p: p["delta"] == "parti")
    await first.kill()

    second = await start_tether(model_server.env(), home)
    try:
        listed = await second.request("thread/list", {})
        assert [t["id"] for t in listed["threads"]] == [thread["id"]]
        read = await second.request("thread/resume", {"threadId": thread["id"]})
        (old,) = read["turns"]
        assert old["id"] == turn["id"] and old["status"] == "interrupted"
        kinds = [(i["type"], i.get("status")) for i in old["items"]]
        assert kinds[:3] == [
            ("userMessage", None),
            ("agentMessage", None),
            ("toolCall", "completed"),
        ]
        # The resumed thread carries on with its history.
        model_server.enqueue(Reply(text="It is a tiny calculator."))
        again = await second.run_turn(thread["id"], "And?")
        assert again["status"] == "completed"
        request = model_server.requests[-1]
        assert request.user_texts() == ["What is this project?", "And?"]
        assert "# Calc" in request.tool_outputs()["r1"]
    finally:
        await stop_tether(second)


def _responder(request: RecordedRequest) -> Reply:
    if "compacting a coding session" in request.instructions:
        goals = [t for t in request.user_texts() if t.startswith("Turn")]
        return Reply(text=f"SUMMARY of {len(goals)} turns; latest: {goals[-1][:20]}")
    return Reply(text="Noted. " + "x" * 200)


async def test_a_long_thread_compacts_and_keeps_the_goal(
    model_server: ModelServer, workspace: Path, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    window = 4000
    (home / "config.toml").write_text(f"context_window = {window}\ncompact_threshold = 0.8\n")
    tether = await start_tether(model_server.env(), home)
    model_server.fallback = _responder
    try:
        thread = await tether.start_thread(workspace)
        goal = "GOAL: make calc.py support division by zero gracefully."
        await tether.run_turn(thread["id"], goal)
        for i in range(1, 40):
            turn = await tether.run_turn(thread["id"], f"Turn {i}: " + "detail " * 60)
            assert turn["status"] == "completed"
        compactions = [
            p["item"]
            for m, p in tether.notifications
            if m == "item/completed" and p["item"]["type"] == "contextCompaction"
        ]
        assert len(compactions) >= 2
        assert all(c["summary"].startswith("SUMMARY of") for c in compactions)
        chat = [r for r in model_server.requests if "compacting" not in r.instructions]
        last = chat[-1]
        # The request after compactions holds the summary, the user's first goal verbatim,
        # the latest turn, and fits the window.
        assert any("SUMMARY of" in t for t in last.user_texts())
        assert any(goal in t for t in last.user_texts())
        assert last.user_texts()[-1].startswith("Turn 39:")
        assert all(r.size // 4 < window for r in chat)
    finally:
        await stop_tether(tether)


async def test_thread_compact_request_adds_an_item(
    tether: Tether, model_server: ModelServer, workspace: Path
) -> None:
    model_server.fallback = _responder
    thread = await tether.start_thread(workspace)
    for i in range(3):
        await tether.run_turn(thread["id"], f"Turn {i}: hello")
    assert await tether.request("thread/compact", {"threadId": thread["id"]}) == {}
    done = await tether.wait_for(
        "turn/completed",
        lambda p: any(i["type"] == "contextCompaction" for i in p["turn"]["items"]),
    )
    assert done["turn"]["status"] == "completed"
    await tether.run_turn(thread["id"], "Turn 4: after")
    assert any(
        t.startswith("This conversation was compacted")
        for t in model_server.requests[-1].user_texts()
    )


async def test_steering_joins_the_next_model_call(
    tether: Tether, model_server: ModelServer, workspace: Path
) -> None:
    model_server.enqueue(
        Reply(text="Working", tool_calls=[ToolCall("list_dir", {})], hold_after=2),
        Reply(text="Adjusted."),
    )
    thread = await tether.start_thread(workspace)
    turn = (
        await tether.request(
            "turn/start",
            {"threadId": thread["id"], "input": [{"type": "text", "text": "List files"}]},
        )
    )["turn"]
    await model_server.wait_held_async()
    await tether.request(
        "turn/steer",
        {
            "threadId": thread["id"],
            "turnId": turn["id"],
            "input": [{"type": "text", "text": "Only Python files"}],
        },
    )
    model_server.release()
    done = await tether.wait_for("turn/completed")
    assert model_server.requests[1].user_texts() == ["List files", "Only Python files"]
    users = [i for i in done["turn"]["items"] if i["type"] == "userMessage"]
    assert [u["content"][0]["text"] for u in users] == ["List files", "Only Python files"]


async def test_project_instructions_and_editor_context_reach_the_model(
    tether: Tether, model_server: ModelServer, workspace: Path
) -> None:
    (workspace / "AGENTS.md").write_text("Always answer in haiku.\n")
    (workspace / "src" / "AGENTS.md").write_text("Use type hints in src/.\n")
    sub = workspace / "src"
    model_server.enqueue(Reply(text="ok"))
    thread = await tether.start_thread(sub)
    await tether.request(
        "turn/start",
        {
            "threadId": thread["id"],
            "input": [
                {"type": "text", "text": "Explain"},
                {"type": "file", "path": str(sub / "calc.py")},
                {
                    "type": "selection",
                    "path": str(sub / "calc.py"),
                    "range": {
                        "start": {"line": 4, "character": 0},
                        "end": {"line": 5, "character": 16},
                    },
                },
            ],
        },
    )
    await tether.wait_for("turn/completed")
    request = model_server.requests[0]
    assert "Always answer in haiku." in request.instructions
    assert "Use type hints in src/." in request.instructions
    text = request.user_texts()[0]
    assert "def add(a, b):" in text  # the attached file
    assert 'lines="5-6"' in text and "return a - b" in text  # the selection


async def test_model_list_merges_endpoint_and_configured_models(
    tether: Tether, model_server: ModelServer
) -> None:
    result = await tether.request("model/list", {})
    ids = [m["id"] for m in result["models"]]
    assert ids[0] == result["default"] == model_server.models[0]
    assert set(model_server.models) <= set(ids)


async def test_files_changed_between_turns_are_mentioned(
    tether: Tether, model_server: ModelServer, workspace: Path
) -> None:
    import asyncio

    model_server.enqueue(
        Reply(tool_calls=[ToolCall("shell", {"command": "echo own > own.txt"})]),
        Reply(text="one"),
        Reply(text="two"),
    )
    thread = await tether.start_thread(workspace, mode="agent")
    await tether.run_turn(thread["id"], "first")
    await asyncio.sleep(0.8)  # the watcher has settled; now the user edits
    (workspace / "src" / "calc.py").write_text("def add(a, b):\n    return b + a\n")
    (workspace / "build" / "ignored.txt").write_text("x")  # .gitignore'd: not mentioned
    await asyncio.sleep(1.0)
    await tether.run_turn(thread["id"], "second")
    text = model_server.requests[-1].user_texts()[-1]
    assert text.startswith("second") and "changed src/calc.py" in text
    assert "own.txt" not in text and "ignored.txt" not in text


async def test_a_turn_can_override_the_model(
    tether: Tether, model_server: ModelServer, workspace: Path
) -> None:
    model_server.enqueue(Reply(text="a"), Reply(text="b"))
    thread = await tether.start_thread(workspace)
    await tether.request(
        "turn/start",
        {
            "threadId": thread["id"],
            "model": "other-model",
            "input": [{"type": "text", "text": "x"}],
        },
    )
    await tether.wait_for("turn/completed")
    await tether.run_turn(thread["id"], "y")
    assert [r.model for r in model_server.requests] == ["other-model", model_server.models[0]]
