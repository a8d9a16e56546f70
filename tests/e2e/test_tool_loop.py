"""The agent reads, searches and edits through its tools until the model stops calling them;
every tool's output reaches the model, and edits land on disk (both wire APIs)."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.harness import Tether
from tests.model_server import ModelServer, Reply, ToolCall

PATCH = """*** Begin Patch
*** Update File: src/calc.py
@@ def sub(a, b):
-    return a - b
+    return a - b
+
+
+def mul(a, b):
+    return a * b
*** End Patch"""


async def test_read_search_patch_then_answer(
    tether: Tether, model_server: ModelServer, workspace: Path, wire_api: str
) -> None:
    model_server.enqueue(
        Reply(
            text="Let me look.",
            tool_calls=[
                ToolCall("read_file", {"path": "src/calc.py"}, call_id="c1", chunks=5),
                ToolCall("search", {"pattern": "def \\w+", "path": "."}, call_id="c2"),
            ],
        ),
        Reply(tool_calls=[ToolCall("list_dir", {"path": "."}, call_id="c3")]),
        Reply(tool_calls=[ToolCall("apply_patch", {"patch": PATCH}, call_id="c4", chunks=7)]),
        Reply(text="Added mul()."),
    )
    thread = await tether.start_thread(workspace, mode="agent")
    turn = await tether.run_turn(thread["id"], "Add a mul function.")
    assert turn["status"] == "completed", turn

    # On disk.
    assert (
        (workspace / "src" / "calc.py").read_text().endswith("def mul(a, b):\n    return a * b\n")
    )

    # Every tool output reached the model, in the next request.
    outputs = model_server.requests[1].tool_outputs()
    assert "     1\tdef add(a, b):" in outputs["c1"]
    assert "src/calc.py:1:def add(a, b):" in outputs["c2"]
    assert "src/calc.py:5:def sub(a, b):" in outputs["c2"]
    listing = model_server.requests[2].tool_outputs()["c3"]
    assert "src/calc.py" in listing.splitlines() and "README.md" in listing.splitlines()
    assert "build/out.txt" not in listing  # .gitignore is respected
    assert "update" in model_server.requests[3].tool_outputs()["c4"]
    assert "applied" in model_server.requests[3].tool_outputs()["c4"]

    # The items the user saw.
    kinds = [i["type"] for i in turn["items"]]
    assert kinds == [
        "userMessage",
        "agentMessage",
        "toolCall",
        "toolCall",
        "toolCall",
        "fileChange",
        "agentMessage",
    ]
    (change,) = tether.items(turn, "fileChange")
    assert change["status"] == "applied"
    (file,) = change["changes"]
    assert file["path"] == str(workspace / "src" / "calc.py") and file["kind"] == "update"
    assert [h["status"] for h in file["hunks"]] == ["applied"]
    assert "+def mul(a, b):" in file["diff"]
    # Labelled relative to the root, as git labels paths (never a/<absolute path>).
    assert file["diff"].startswith("--- a/src/calc.py\n+++ b/src/calc.py\n"), file["diff"][:200]
    diffs = tether.of("turn/diff/updated", turn["id"])
    assert diffs and "+def mul(a, b):" in diffs[-1]["diff"]


async def test_tool_errors_are_observations(
    tether: Tether, model_server: ModelServer, workspace: Path
) -> None:
    model_server.enqueue(
        Reply(
            tool_calls=[
                ToolCall("read_file", '{"path": "src/calc.py"', call_id="bad"),  # invalid JSON
                ToolCall("read_file", {"path": "nope.py"}, call_id="missing"),
                ToolCall("read_file", {"path": "../../etc/passwd"}, call_id="escape"),
                ToolCall("read_file", {"path": "/etc/hostname"}, call_id="outside"),
                ToolCall("no_such_tool", {}, call_id="unknown"),
            ]
        ),
        Reply(text="Sorry."),
    )
    thread = await tether.start_thread(workspace)
    turn = await tether.run_turn(thread["id"], "Read things.")
    assert turn["status"] == "completed"
    out = model_server.requests[1].tool_outputs()
    assert "not valid JSON" in out["bad"]
    assert "does not exist" in out["missing"]
    assert out["escape"].startswith("Error:")
    assert "no tool named 'no_such_tool'" in out["unknown"]
    failed = [i for i in turn["items"] if i["type"] == "toolCall" and i["status"] == "failed"]
    assert len(failed) == 5
    # `..` out of the workspace is an escape trick: refused, the real path named.
    assert "/etc/passwd" in out["escape"] and "outside the workspace" in out["escape"]
    # An honest path outside the roots asks the user (who declines here).
    assert [(m, p["path"]) for m, p in tether.approvals] == [("approval/fileRead", "/etc/hostname")]
    assert "declined" in out["outside"]
