"""`change/propose`: a code block from the chat becomes an edit reviewed per hunk, in every mode,
through the real server; what the user accepted is on disk, undoable, and told to the model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.e2e.harness import Tether
from tests.model_server import ModelServer, Reply

CALC = "def add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n    return a - b\n"
BOTH = "def add(a, b):\n    return b + a\n\n\ndef sub(a, b):\n    return -(b - a)\n"
APART = CALC.replace(
    "\n\n\ndef sub", "\n\n" + "".join(f"n{i} = {i}\n" for i in range(12)) + "\n\ndef sub"
)


async def propose(tether: Tether, thread_id: str, path: Path, content: str) -> dict[str, Any]:
    """Run a proposal turn to its end; its final turn."""
    turn = (
        await tether.request(
            "change/propose", {"threadId": thread_id, "path": str(path), "content": content}
        )
    )["turn"]
    done = await tether.wait_for("turn/completed", lambda p: p["turn"]["id"] == turn["id"])
    return done["turn"]


async def test_agent_mode_still_asks_and_applies_only_the_accepted_hunk(
    tether: Tether, workspace: Path
) -> None:
    calc = workspace / "src" / "calc.py"
    calc.write_text(APART)
    seen: list[list[str]] = []

    def approve(method: str, params: dict[str, Any]) -> dict[str, Any]:
        assert method == "approval/fileChange"
        (change,) = params["changes"]
        seen.append([h["status"] for h in change["hunks"]])
        return {"decision": "accept", "accepted": [{"path": change["path"], "indexes": [0]}]}

    tether.approver = approve
    thread = await tether.start_thread(workspace, mode="agent")
    turn = await propose(tether, thread["id"], calc, BOTH)
    assert seen == [["pending", "pending"]]
    assert turn["status"] == "completed"
    (item,) = tether.items(turn, "fileChange")
    assert item["status"] == "partiallyApplied"
    assert "apply a code block" in item["reason"]
    assert calc.read_text() == APART.replace("a + b", "b + a")
    # Kept like any edit: change/revert undoes it.
    await tether.request("change/revert", {"threadId": thread["id"], "itemId": item["id"]})
    assert calc.read_text() == APART


async def test_a_snippet_replaces_its_function_and_the_model_hears_of_it(
    tether: Tether, model_server: ModelServer, workspace: Path
) -> None:
    calc = workspace / "src" / "calc.py"
    tether.approver = lambda _m, _p: {"decision": "accept"}
    thread = await tether.start_thread(workspace)  # readOnly
    turn = await propose(tether, thread["id"], calc, "def sub(a, b):\n    return a - b - 0\n")
    (item,) = tether.items(turn, "fileChange")
    assert item["status"] == "applied"
    assert item["changes"][0]["hunks"][0]["lines"][-3:] == [
        " def sub(a, b):",
        "-    return a - b",
        "+    return a - b - 0",
    ]
    assert calc.read_text() == CALC.replace("a - b\n", "a - b - 0\n")
    model_server.enqueue(Reply(text="noted"))
    await tether.run_turn(thread["id"], "and now?")
    assert any("applied a code block" in t for t in model_server.requests[-1].user_texts())


async def test_declined_writes_nothing_and_a_new_file_is_an_add(
    tether: Tether, workspace: Path
) -> None:
    calc = workspace / "src" / "calc.py"
    tether.approver = lambda _m, _p: {"decision": "decline"}
    thread = await tether.start_thread(workspace, mode="agent")
    turn = await propose(tether, thread["id"], calc, "def add(a, b):\n    return 0\n")
    assert tether.items(turn, "fileChange")[0]["status"] == "declined"
    assert calc.read_text() == CALC
    tether.approver = lambda _m, _p: {"decision": "accept"}
    new = workspace / "src" / "mul.py"
    turn = await propose(tether, thread["id"], new, "def mul(a, b):\n    return a * b")
    (item,) = tether.items(turn, "fileChange")
    assert item["changes"][0]["kind"] == "add" and item["status"] == "applied"
    assert new.read_text() == "def mul(a, b):\n    return a * b\n"


@pytest.mark.parametrize(
    ("path", "code"),
    [("../outside.py", -32602), (".git/config", None), ("nothing-here", -32001)],
)
async def test_refusals(tether: Tether, workspace: Path, path: str, code: int | None) -> None:
    thread = await tether.start_thread(workspace, mode="agent")
    params = {"threadId": "thread_nope" if code == -32001 else thread["id"]}
    target = workspace / path
    if code == -32602:
        # An escape through a symlink is refused before any turn starts.
        (workspace / "link").symlink_to(workspace.parent)
        target = workspace / "link" / "outside.py"
    request = tether.request(
        "change/propose", {**params, "path": str(target), "content": "x = 1\n"}
    )
    if code is None:
        # A protected path is proposed like any other: the user decides.
        tether.approver = lambda _m, _p: {"decision": "decline"}
        turn = (await request)["turn"]
        done = await tether.wait_for("turn/completed", lambda p: p["turn"]["id"] == turn["id"])
        assert "protected" in tether.items(done["turn"], "fileChange")[0]["reason"]
        return
    with pytest.raises(Exception) as refused:
        await request
    assert getattr(refused.value, "code", None) == code, refused.value
    assert not (workspace.parent / "outside.py").exists()
