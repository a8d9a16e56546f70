"""What the editor's own features ask of the server: a turn from the inline chat
(`turn/start {proposeEdits}`: a selection attached, every edit a proposal) and the review of what
a turn changed (`turn/files`: before and after, from the turn's checkpoint)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.e2e.harness import Tether
from tests.model_server import ModelServer, Reply, ToolCall

SWAP = {"path": "src/calc.py", "old_string": "return a + b", "new_string": "return b + a"}


async def start_turn(tether: Tether, thread_id: str, **params: Any) -> dict[str, Any]:
    turn = (await tether.request("turn/start", {"threadId": thread_id, **params}))["turn"]
    done = await tether.wait_for("turn/completed", lambda p: p["turn"]["id"] == turn["id"])
    return done["turn"]


@pytest.mark.sandbox_matrix
async def test_a_proposal_turn_asks_for_every_edit_in_agent_mode(
    tether: Tether, model_server: ModelServer, workspace: Path
) -> None:
    calc = workspace / "src" / "calc.py"
    original = calc.read_text()
    model_server.enqueue(
        Reply(tool_calls=[ToolCall("edit_file", SWAP)]),
        Reply(tool_calls=[ToolCall("shell", {"command": "touch made.txt"})]),
        Reply(text="proposed"),
        Reply(tool_calls=[ToolCall("edit_file", SWAP)]),
        Reply(text="applied"),
    )
    thread = await tether.start_thread(workspace, mode="agent")
    selection = {
        "type": "selection",
        "path": str(calc),
        "range": {"start": {"line": 1, "character": 0}, "end": {"line": 1, "character": 16}},
    }
    turn = await start_turn(
        tether,
        thread["id"],
        input=[{"type": "text", "text": "swap the operands"}, selection],
        proposeEdits=True,
    )

    # The edit was put to the user (declined here) and the command asked too: nothing landed.
    methods = [m for m, _ in tether.approvals]
    assert methods == ["approval/fileChange", "approval/commandExecution"]
    assert "review the change hunk by hunk" in tether.approvals[0][1]["reason"]
    # The command asks because of the proposal, and says so: the thread is not in Read-only.
    command_reason = tether.approvals[1][1]["reason"]
    assert command_reason.startswith("This change is proposed for review")
    assert "read-only" not in command_reason.lower()
    assert calc.read_text() == original and not (workspace / "made.txt").exists()
    assert [i["status"] for i in tether.items(turn, "fileChange")] == ["declined"]
    first = model_server.requests[0]
    assert "read-only mode" in first.instructions
    assert (
        '<selection path="' in first.user_texts()[-1]
        or "<selection path='" in first.user_texts()[-1]
    )
    assert "    return a + b" in first.user_texts()[-1]

    # The thread's mode is untouched: the next plain turn edits at once.
    tether.approvals.clear()
    turn = await tether.run_turn(thread["id"], "now swap them")
    assert tether.approvals == []
    assert calc.read_text() == original.replace("return a + b", "return b + a")
    read = await tether.request("thread/read", {"threadId": thread["id"]})
    assert read["thread"]["mode"] == "agent"
    assert "agent mode" in model_server.requests[-1].instructions


@pytest.mark.sandbox_matrix
async def test_a_proposal_turn_asks_even_after_accept_for_session(
    tether: Tether, model_server: ModelServer, workspace: Path
) -> None:
    calc = workspace / "src" / "calc.py"
    model_server.enqueue(
        Reply(tool_calls=[ToolCall("edit_file", SWAP)]),
        Reply(text="ok"),
        Reply(
            tool_calls=[ToolCall("edit_file", {**SWAP, "old_string": "b + a", "new_string": "a+b"})]
        ),
        Reply(text="proposed"),
    )
    answers = iter([{"decision": "acceptForSession"}, {"decision": "accept"}])
    tether.approver = lambda _method, _params: next(answers)
    thread = await tether.start_thread(workspace, mode="readOnly")
    await tether.run_turn(thread["id"], "swap")
    assert "return b + a" in calc.read_text()
    turn = await start_turn(
        tether, thread["id"], input=[{"type": "text", "text": "undo that"}], proposeEdits=True
    )
    assert len(tether.approvals) == 2  # asked again, although edits were allowed for the session
    assert "return a+b" in calc.read_text()
    assert [i["status"] for i in tether.items(turn, "fileChange")] == ["applied"]


async def test_turn_files_are_what_the_turn_left_by_edits_and_commands(
    tether: Tether, model_server: ModelServer, workspace: Path
) -> None:
    calc = workspace / "src" / "calc.py"
    original = calc.read_text()
    model_server.enqueue(
        Reply(tool_calls=[ToolCall("edit_file", SWAP)]),
        Reply(
            tool_calls=[
                ToolCall("shell", {"command": "printf 'new\\n' > added.txt && rm README.md"})
            ]
        ),
        Reply(text="done"),
        Reply(text="nothing to change"),
    )
    thread = await tether.start_thread(workspace, mode="agent")
    turn = await tether.run_turn(thread["id"], "change things")
    calc.write_text("the user's own later text\n")  # the review shows the turn, not the disk

    result = await tether.request("turn/files", {"threadId": thread["id"], "turnId": turn["id"]})
    by_path = {f["path"]: f for f in result["files"]}
    assert list(by_path) == sorted(by_path)
    assert by_path[str(calc)] == {
        "path": str(calc),
        "kind": "changed",
        "before": original,
        "after": original.replace("return a + b", "return b + a"),
    }
    assert by_path[str(workspace / "added.txt")] == {
        "path": str(workspace / "added.txt"),
        "kind": "created",
        "after": "new\n",
    }
    assert by_path[str(workspace / "README.md")] == {
        "path": str(workspace / "README.md"),
        "kind": "deleted",
        "before": "# Calc\n\nA tiny calculator.\n",
    }
    assert len(by_path) == 3

    quiet = await tether.run_turn(thread["id"], "anything else?")
    empty = await tether.request("turn/files", {"threadId": thread["id"], "turnId": quiet["id"]})
    assert empty == {"files": []}


async def test_turn_files_of_an_unknown_turn_is_an_error(tether: Tether, workspace: Path) -> None:
    thread = await tether.start_thread(workspace)
    with pytest.raises(Exception) as raised:
        await tether.request("turn/files", {"threadId": thread["id"], "turnId": "turn_nope"})
    assert getattr(raised.value, "code", None) == -32004
    with pytest.raises(Exception) as raised:
        await tether.request("turn/files", {"threadId": "thread_nope", "turnId": "turn_nope"})
    assert getattr(raised.value, "code", None) == -32001


async def test_turn_files_note_what_cannot_be_shown_as_text(
    tether: Tether, model_server: ModelServer, workspace: Path
) -> None:
    command = "printf 'a\\000b' > data.bin && ln -s src/calc.py link.py"
    model_server.enqueue(
        Reply(tool_calls=[ToolCall("shell", {"command": command})]), Reply(text="done")
    )
    thread = await tether.start_thread(workspace, mode="agent")
    turn = await tether.run_turn(thread["id"], "make a binary file and a link")
    result = await tether.request("turn/files", {"threadId": thread["id"], "turnId": turn["id"]})
    by_path = {f["path"]: f for f in result["files"]}
    assert by_path[str(workspace / "data.bin")] == {
        "path": str(workspace / "data.bin"),
        "kind": "created",
        "note": "a binary or large file",
    }
    assert by_path[str(workspace / "link.py")] == {
        "path": str(workspace / "link.py"),
        "kind": "created",
        "note": "a symlink (to src/calc.py)",
    }


@pytest.mark.sandbox_matrix
@pytest.mark.parametrize(
    ("mode", "reason_start"),
    [("readOnly", "Read-only mode: "), ("fullAccess", "This change is proposed for review")],
)
async def test_a_command_in_a_proposal_turn_says_why_it_asks(
    tether: Tether, model_server: ModelServer, workspace: Path, mode: str, reason_start: str
) -> None:
    model_server.enqueue(
        Reply(tool_calls=[ToolCall("shell", {"command": "touch made.txt"})]),
        Reply(text="asked"),
    )
    thread = await tether.start_thread(workspace, mode=mode)
    await start_turn(
        tether, thread["id"], input=[{"type": "text", "text": "make it"}], proposeEdits=True
    )
    [(method, params)] = tether.approvals
    assert method == "approval/commandExecution"
    assert params["reason"].startswith(reason_start)
    assert not (workspace / "made.txt").exists()
