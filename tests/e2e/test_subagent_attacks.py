"""Sub-agent attacks through the real server: a worktree child's proposal aimed through a
symlink the workspace got after HEAD (its worktree has a real directory there)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from tests.e2e.harness import Tether
from tests.e2e.test_subagents import MUL_PATCH, child_ids, scripted, steps
from tests.model_server import ModelServer, RecordedRequest, Reply, ToolCall


async def test_a_worktree_proposal_never_writes_through_a_symlink_out_of_the_root(
    tether: Tether, model_server: ModelServer, workspace: Path, tmp_path: Path
) -> None:
    agents = workspace / ".tether" / "agents"
    agents.mkdir(parents=True)
    (agents / "iso.md").write_text(
        "---\nname: iso\ndescription: works apart\nisolation: worktree\n"
        "tools: [apply_patch, read_file]\n---\nEdit in your worktree.\n"
    )
    git = ["git", "-C", str(workspace), "-c", "user.name=t", "-c", "user.email=t@e"]
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "base"], check=True)
    # Since HEAD, src/ became a link out of the workspace (a command may leave one).
    outside = tmp_path / "outside"
    shutil.copytree(workspace / "src", outside)
    shutil.rmtree(workspace / "src")
    (workspace / "src").symlink_to(outside)
    victim = (outside / "calc.py").read_text()

    def parent(r: RecordedRequest) -> Reply:
        if steps(r) == 0:
            return Reply(
                tool_calls=[
                    ToolCall("spawn_agent", {"agent_type": "iso", "prompt": "ISO: add mul"}, "s1")
                ]
            )
        if steps(r) == 1:
            return Reply(tool_calls=[ToolCall("wait_agents", {"ids": child_ids(r)}, "w1")])
        return Reply(text="proposed")

    def iso(r: RecordedRequest) -> Reply:
        if steps(r) == 0:
            return Reply(tool_calls=[ToolCall("apply_patch", {"patch": MUL_PATCH}, "p1")])
        return Reply(text="added mul in my worktree")

    model_server.fallback = scripted(parent, {"ISO": iso})
    tether.approver = lambda _m, _p: {"decision": "accept"}
    thread = await tether.start_thread(workspace, mode="agent")
    turn = await tether.run_turn(thread["id"], "go", timeout=60)
    assert turn["status"] == "completed", turn
    assert (outside / "calc.py").read_text() == victim  # nothing written out of the root
    assert (workspace / "src").is_symlink()
    (change,) = tether.items(turn, "fileChange")  # proposed, and refused when applied
    assert change["status"] == "failed", change
    listed = await tether.request("thread/list", {})
    assert listed is not None  # the server is still up
