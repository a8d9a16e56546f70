"""Reviewable edits: per-hunk approval in readOnly, per-hunk undo later, whole-turn revert
(edits and commands), and no clobbering of the user's work (disk and open buffers)."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

from lsprotocol import types as lsp

from tests.e2e.harness import Tether
from tests.model_server import ModelServer, Reply, ToolCall

ORIGINAL = "".join(f"line {i}\n" for i in range(1, 41))

TWO_HUNKS = """*** Begin Patch
*** Update File: notes.txt
@@
 line 2
-line 3
+LINE THREE
 line 4
@@
 line 30
-line 31
+LINE THIRTY-ONE
 line 32
*** End Patch"""


def edited(text: str, **lines: str) -> str:
    out = text
    for old, new in lines.items():
        out = out.replace(f"line {old[1:]}\n", new + "\n", 1)
    return out


async def test_readonly_accepts_only_the_chosen_hunks(
    tether: Tether, model_server: ModelServer, workspace: Path
) -> None:
    notes = workspace / "notes.txt"
    notes.write_text(ORIGINAL)
    model_server.enqueue(
        Reply(tool_calls=[ToolCall("apply_patch", {"patch": TWO_HUNKS}, call_id="p")]),
        Reply(text="ok"),
    )

    def approve(method: str, params: dict[str, Any]) -> dict[str, Any]:
        change = params["changes"][0]
        assert [h["status"] for h in change["hunks"]] == ["pending", "pending"]
        return {"decision": "accept", "accepted": [{"path": change["path"], "indexes": [1]}]}

    tether.approver = approve
    thread = await tether.start_thread(workspace)  # readOnly is the default mode
    turn = await tether.run_turn(thread["id"], "edit")
    assert notes.read_text() == edited(ORIGINAL, n31="LINE THIRTY-ONE")
    (item,) = tether.items(turn, "fileChange")
    assert item["status"] == "partiallyApplied"
    assert [h["status"] for h in item["changes"][0]["hunks"]] == ["rejected", "applied"]
    # The proposal streamed before the approval was asked.
    started = await tether.wait_for("item/started", lambda p: p["item"]["type"] == "fileChange")
    assert started["item"]["changes"][0]["hunks"][0]["lines"] == [
        " line 1",
        " line 2",
        "-line 3",
        "+LINE THREE",
        " line 4",
        " line 5",
        " line 6",
    ]
    observation = model_server.requests[1].tool_outputs()["p"]
    assert "applied 1 of 2 hunks" in observation and "rejected hunks [0]" in observation


async def _agent_patches_notes(
    tether: Tether, model_server: ModelServer, workspace: Path
) -> tuple[Path, dict[str, Any], dict[str, Any]]:
    """notes.txt, patched in agent mode with TWO_HUNKS: (its path, the thread, the item)."""
    notes = workspace / "notes.txt"
    notes.write_text(ORIGINAL)
    model_server.enqueue(
        Reply(tool_calls=[ToolCall("apply_patch", {"patch": TWO_HUNKS})]), Reply(text="ok")
    )
    thread = await tether.start_thread(workspace, mode="agent")
    turn = await tether.run_turn(thread["id"], "edit")
    (item,) = tether.items(turn, "fileChange")
    return notes, thread, item


async def test_agent_edits_undo_per_hunk_after_other_edits(
    tether: Tether, model_server: ModelServer, workspace: Path
) -> None:
    notes, thread, item = await _agent_patches_notes(tether, model_server, workspace)
    assert item["status"] == "applied" and not tether.approvals
    both = edited(ORIGINAL, n3="LINE THREE", n31="LINE THIRTY-ONE")
    assert notes.read_text() == both

    # The user edits elsewhere in the file; undoing hunk 1 still works.
    notes.write_text(both.replace("line 20\n", "line twenty (user)\n"))
    path = str(notes)
    result = await tether.request(
        "change/revert",
        {"threadId": thread["id"], "itemId": item["id"], "hunks": [{"path": path, "indexes": [1]}]},
    )
    assert notes.read_text() == edited(ORIGINAL, n3="LINE THREE").replace(
        "line 20\n", "line twenty (user)\n"
    )
    assert result["item"]["status"] == "partiallyApplied"
    assert [h["status"] for h in result["item"]["changes"][0]["hunks"]] == ["applied", "reverted"]

    # The user rewrote hunk 0's own lines: undoing it is a clear conflict and changes nothing.
    before = notes.read_text().replace("LINE THREE", "line three (user)")
    notes.write_text(before)
    try:
        await tether.request("change/revert", {"threadId": thread["id"], "itemId": item["id"]})
        raise AssertionError("expected a conflict")
    except Exception as exc:  # pygls raises JsonRpcException with the server's code
        assert getattr(exc, "code", None) == -32005, exc
        assert "hunk 0" in str(exc)
    assert notes.read_text() == before
    # thread/read shows the hunk statuses after the undo.
    read = await tether.request("thread/read", {"threadId": thread["id"]})
    stored = next(i for i in read["turns"][0]["items"] if i["id"] == item["id"])
    assert [h["status"] for h in stored["changes"][0]["hunks"]] == ["applied", "reverted"]


async def test_turn_revert_undoes_edits_and_commands(
    tether: Tether, model_server: ModelServer, workspace: Path
) -> None:
    calc = workspace / "src" / "calc.py"
    original_calc = calc.read_text()
    readme = workspace / "README.md"
    model_server.enqueue(
        Reply(
            tool_calls=[
                ToolCall(
                    "edit_file",
                    {"path": "src/calc.py", "old_string": "a + b", "new_string": "a + b + 0"},
                )
            ]
        ),
        Reply(
            tool_calls=[
                ToolCall(
                    "shell",
                    {
                        "command": "mkdir -p gen && echo made > gen/new.txt"
                        " && rm README.md && echo more >> src/calc.py"
                    },
                )
            ]
        ),
        Reply(text="done"),
    )
    thread = await tether.start_thread(workspace, mode="agent")
    turn = await tether.run_turn(thread["id"], "change things")
    assert turn["status"] == "completed"
    assert not readme.exists() and (workspace / "gen" / "new.txt").exists()
    diff = tether.of("turn/diff/updated", turn["id"])[-1]["diff"]
    assert "gen/new.txt" in diff and "README.md" in diff and "+more" in diff

    result = await tether.request("turn/revert", {"threadId": thread["id"], "turnId": turn["id"]})
    assert result["conflicts"] == []
    assert calc.read_text() == original_calc
    assert readme.read_text() == "# Calc\n\nA tiny calculator.\n"
    assert not (workspace / "gen").exists()
    items = tether.of("item/updated")
    assert any(
        p["item"]["type"] == "fileChange" and p["item"]["status"] == "reverted" for p in items
    )


async def test_turn_revert_reports_files_the_user_changed_since(
    tether: Tether, model_server: ModelServer, workspace: Path
) -> None:
    calc = workspace / "src" / "calc.py"
    model_server.enqueue(
        Reply(tool_calls=[ToolCall("shell", {"command": "echo x >> src/calc.py; echo y > b.txt"})]),
        Reply(text="done"),
    )
    thread = await tether.start_thread(workspace, mode="agent")
    turn = await tether.run_turn(thread["id"], "go")
    calc.write_text(calc.read_text() + "# the user's line\n")
    result = await tether.request("turn/revert", {"threadId": thread["id"], "turnId": turn["id"]})
    assert result["conflicts"] == [str(calc)]
    assert result["restored"] == [str(workspace / "b.txt")]
    assert calc.read_text().endswith("# the user's line\n")
    forced = await tether.request(
        "turn/revert", {"threadId": thread["id"], "turnId": turn["id"], "force": True}
    )
    assert str(calc) in forced["restored"] and forced["conflicts"] == []
    assert "x\n" not in calc.read_text()


async def test_edit_merges_onto_a_file_changed_during_approval(
    tether: Tether, model_server: ModelServer, workspace: Path
) -> None:
    notes = workspace / "notes.txt"
    notes.write_text(ORIGINAL)
    model_server.enqueue(
        Reply(tool_calls=[ToolCall("apply_patch", {"patch": TWO_HUNKS})]), Reply(text="ok")
    )

    def approve(method: str, params: dict[str, Any]) -> dict[str, Any]:
        # While the user looks at the proposal, they edit line 20 on disk.
        notes.write_text(ORIGINAL.replace("line 20\n", "line 20 edited\n"))
        return {"decision": "accept"}

    tether.approver = approve
    thread = await tether.start_thread(workspace)
    turn = await tether.run_turn(thread["id"], "edit")
    assert notes.read_text() == edited(ORIGINAL, n3="LINE THREE", n31="LINE THIRTY-ONE").replace(
        "line 20\n", "line 20 edited\n"
    )
    assert tether.items(turn, "fileChange")[0]["status"] == "applied"


async def test_edit_never_clobbers_a_conflicting_user_change(
    tether: Tether, model_server: ModelServer, workspace: Path
) -> None:
    notes = workspace / "notes.txt"
    notes.write_text(ORIGINAL)
    model_server.enqueue(
        Reply(tool_calls=[ToolCall("apply_patch", {"patch": TWO_HUNKS}, call_id="p")]),
        Reply(text="ok"),
    )
    users = ORIGINAL.replace("line 3\n", "line 3 is mine\n")

    def approve(method: str, params: dict[str, Any]) -> dict[str, Any]:
        notes.write_text(users)
        return {"decision": "accept"}

    tether.approver = approve
    thread = await tether.start_thread(workspace)
    turn = await tether.run_turn(thread["id"], "edit")
    assert notes.read_text() == users
    (item,) = tether.items(turn, "fileChange")
    assert item["status"] == "failed" and "changed under the edit" in item["reason"]
    assert "CONFLICT" in model_server.requests[1].tool_outputs()["p"]


async def test_edits_to_a_dirty_buffer_go_through_the_editor(
    tether: Tether, model_server: ModelServer, workspace: Path
) -> None:
    notes = workspace / "notes.txt"
    notes.write_text(ORIGINAL)
    unsaved = ORIGINAL.replace("line 10\n", "line 10 unsaved\n")
    tether.lsp.text_document_did_open(
        lsp.DidOpenTextDocumentParams(
            lsp.TextDocumentItem(
                uri=notes.as_uri(), language_id="plaintext", version=1, text=unsaved
            )
        )
    )
    model_server.enqueue(
        Reply(
            tool_calls=[
                ToolCall("read_file", {"path": "notes.txt"}, call_id="r"),
                ToolCall("apply_patch", {"patch": TWO_HUNKS}),
            ]
        ),
        Reply(text="ok"),
    )
    thread = await tether.start_thread(workspace, mode="agent")
    await tether.run_turn(thread["id"], "edit")
    assert "line 10 unsaved" in model_server.requests[1].tool_outputs()["r"]
    assert notes.read_text() == ORIGINAL  # the disk is the user's to save
    (edit,) = tether.applied_edits
    (text_edit,) = edit["edit"]["changes"][notes.as_uri()]
    assert text_edit["newText"] == edited(unsaved, n3="LINE THREE", n31="LINE THIRTY-ONE")


ADD_DELETE_MOVE = """*** Begin Patch
*** Add File: docs/guide.md
+# Guide
+Use add() and sub().
*** Delete File: README.md
*** Update File: src/calc.py
*** Move to: src/arith.py
@@ def sub(a, b):
-    return a - b
+    return a - b  # moved
*** End Patch"""


async def test_add_delete_and_move_are_items_and_revert_together(
    tether: Tether, model_server: ModelServer, workspace: Path
) -> None:
    calc = (workspace / "src" / "calc.py").read_text()
    model_server.enqueue(
        Reply(tool_calls=[ToolCall("apply_patch", {"patch": ADD_DELETE_MOVE})]), Reply(text="ok")
    )
    thread = await tether.start_thread(workspace, mode="agent")
    turn = await tether.run_turn(thread["id"], "reorganize")
    (item,) = tether.items(turn, "fileChange")
    changes = {c["kind"]: c for c in item["changes"]}
    assert set(changes) == {"add", "delete", "update"} and item["status"] == "applied"
    moved = changes["update"]
    assert moved["path"] == str(workspace / "src" / "calc.py")
    assert moved["movePath"] == str(workspace / "src" / "arith.py")
    assert "+++ b/" in moved["diff"] and "# moved" in moved["diff"]
    assert changes["add"]["diff"].startswith("--- /dev/null")
    assert not (workspace / "README.md").exists() and not (workspace / "src" / "calc.py").exists()
    assert (workspace / "docs" / "guide.md").read_text() == "# Guide\nUse add() and sub().\n"

    result = await tether.request("turn/revert", {"threadId": thread["id"], "turnId": turn["id"]})
    assert result["conflicts"] == []
    assert (workspace / "src" / "calc.py").read_text() == calc
    assert not (workspace / "src" / "arith.py").exists() and not (workspace / "docs").exists()
    assert (workspace / "README.md").exists()


async def test_undo_of_a_file_a_command_replaced_with_a_fifo_is_a_conflict(
    tether: Tether, model_server: ModelServer, workspace: Path
) -> None:
    notes, thread, item = await _agent_patches_notes(tether, model_server, workspace)
    notes.unlink()
    os.mkfifo(notes)
    try:
        await tether.request("change/revert", {"threadId": thread["id"], "itemId": item["id"]})
        raise AssertionError("expected a conflict")
    except Exception as exc:  # pygls raises JsonRpcException with the server's code
        assert getattr(exc, "code", None) == -32005, exc
        assert "FIFO" in str(exc)
    assert stat.S_ISFIFO(notes.lstat().st_mode)  # left as the command made it
    listed = await tether.request("thread/list", {})
    assert any(t["id"] == thread["id"] for t in listed["threads"])
