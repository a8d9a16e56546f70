"""Sub-agents through the real server and the scripted model: the parent spawns children that
run in parallel, each a thread of its own, under the parent's rules, visible and stoppable.

Children's model requests arrive concurrently, so the script answers by what a request holds
(whose prompt it carries, how many tool results it has), never by arrival order.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.harness import Tether, start_tether, stop_tether
from tests.model_server import ModelServer, RecordedRequest, Reply, ToolCall

HANG_GUARD_S = 20.0
HOOK = Path(__file__).resolve().parents[1] / "hooks" / "scripts" / "subagent_log.py"
MUL_PATCH = """*** Begin Patch
*** Update File: src/calc.py
@@ def sub(a, b):
     return a - b
+
+
+def mul(a, b):
+    return a * b
*** End Patch"""


def child_ids(request: RecordedRequest) -> list[str]:
    """The agent ids spawn_agent returned, in the order of the calls."""
    found: list[str] = []
    for _call_id, output in sorted(request.tool_outputs().items()):
        found += re.findall(r"as agent (thr_\w+)", output)
    return found


def is_child(request: RecordedRequest, marker: str) -> bool:
    texts = request.user_texts()
    return bool(texts) and texts[0].startswith(marker)


Script = Callable[[RecordedRequest], Reply]


def scripted(parent: Script, children: dict[str, Script]) -> Script:
    """Parent requests go to `parent`; a child's to the script named by its prompt's marker."""

    def answer(request: RecordedRequest) -> Reply:
        for marker, script in children.items():
            if is_child(request, marker):
                return script(request)
        return parent(request)

    return answer


def steps(request: RecordedRequest) -> int:
    return len(request.tool_outputs())


async def child_threads(tether: Tether, parent_id: str) -> list[dict[str, Any]]:
    listed = await tether.request("thread/list", {"parentThreadId": parent_id})
    return listed["threads"]


@pytest.mark.sandbox_matrix
async def test_two_explorers_in_parallel_and_a_writer(
    tether: Tether, model_server: ModelServer, workspace: Path, wire_api: str
) -> None:
    b_started = threading.Event()

    def parent(r: RecordedRequest) -> Reply:
        if steps(r) == 0:
            return Reply(
                text="Splitting the work.",
                tool_calls=[
                    ToolCall(
                        "spawn_agent",
                        {"agent_type": "explorer", "prompt": "EXPLORE-A: where is add?"},
                        "s1",
                    ),
                    ToolCall(
                        "spawn_agent",
                        {"agent_type": "explorer", "prompt": "EXPLORE-B: count README lines"},
                        "s2",
                    ),
                    ToolCall("spawn_agent", {"prompt": "WRITE: add mul to src/calc.py"}, "s3"),
                ],
            )
        if steps(r) == 3:
            return Reply(
                tool_calls=[
                    ToolCall("wait_agents", {"ids": child_ids(r), "timeout_ms": 60000}, "w1")
                ]
            )
        return Reply(text="All three reported.")

    def explorer_a(r: RecordedRequest) -> Reply:
        if steps(r) == 0:
            # Parallel: A's first step waits for B's first request (a hang guard, no timing).
            assert b_started.wait(HANG_GUARD_S), "explorer B never ran while A was running"
            return Reply(tool_calls=[ToolCall("read_file", {"path": "src/calc.py"}, "a1")])
        return Reply(text="A: add is defined on line 1 of src/calc.py.")

    def explorer_b(r: RecordedRequest) -> Reply:
        b_started.set()
        if steps(r) == 0:
            return Reply(
                tool_calls=[
                    ToolCall(
                        "shell",
                        {"command": "wc -l README.md > /dev/null; python3 -c 'print(3)'"},
                        "b1",
                    )
                ]
            )
        return Reply(text="B: README.md has 3 lines.")

    def writer(r: RecordedRequest) -> Reply:
        if steps(r) == 0:
            return Reply(tool_calls=[ToolCall("apply_patch", {"patch": MUL_PATCH}, "p1")])
        return Reply(text="W: added mul().")

    model_server.fallback = scripted(
        parent, {"EXPLORE-A": explorer_a, "EXPLORE-B": explorer_b, "WRITE": writer}
    )
    tether.approver = lambda _m, _p: {"decision": "accept"}
    thread = await tether.start_thread(workspace, mode="agent")
    turn = await tether.run_turn(thread["id"], "Use sub-agents.", timeout=60)
    assert turn["status"] == "completed", turn
    assert not model_server.errors, model_server.errors

    items = tether.items(turn, "subagent")
    assert [i["agentType"] for i in items] == ["explorer", "explorer", "general"]
    assert [i["status"] for i in items] == ["completed"] * 3, items
    assert items[0]["summary"].startswith("A: add is defined")
    assert items[1]["summary"].startswith("B: README.md")
    assert items[2]["summary"] == "W: added mul()."

    # The parent model got every child's final message from wait_agents.
    final = [
        r
        for r in model_server.requests
        if not r.user_texts()[0].startswith(("EXPLORE", "WRITE")) and "w1" in r.tool_outputs()
    ]
    (waited,) = final
    reports = {
        rep["agent_type"] + rep["message"][:2]: rep
        for rep in json.loads(waited.tool_outputs()["w1"])
    }
    assert set(reports) == {"explorerA:", "explorerB:", "generalW:"}

    # The children's tool calls ran: A's read reached its model, B's command ran after approval.
    a_second = next(r for r in model_server.requests if is_child(r, "EXPLORE-A") and steps(r) == 1)
    assert "def add(a, b):" in a_second.tool_outputs()["a1"]
    b_second = next(r for r in model_server.requests if is_child(r, "EXPLORE-B") and steps(r) == 1)
    assert "3" in b_second.tool_outputs()["b1"]
    ids = {i["prompt"].split(":")[0]: i["agentThreadId"] for i in items}
    (approval,) = [p for m, p in tether.approvals if m == "approval/commandExecution"]
    assert approval["threadId"] == ids["EXPLORE-B"]
    assert approval["parentThreadId"] == thread["id"]
    assert approval["agentType"] == "explorer"

    # Explorers are read-only whatever the parent's mode; the writer inherits agent.
    children = {t["id"]: t for t in await child_threads(tether, thread["id"])}
    assert set(children) == set(ids.values())
    assert children[ids["EXPLORE-A"]]["mode"] == "readOnly"
    assert children[ids["WRITE"]]["mode"] == "agent"
    assert all(t["parentThreadId"] == thread["id"] for t in children.values())
    workspace_list = await tether.request("thread/list", {"cwd": str(workspace)})
    assert [t["id"] for t in workspace_list["threads"]] == [thread["id"]]

    # A child is readable like any thread.
    read = await tether.request("thread/read", {"threadId": ids["WRITE"]})
    assert read["thread"]["parentItemId"] == items[2]["id"]
    (child_turn,) = read["turns"]
    assert child_turn["id"] in items[2]["agentTurnIds"]
    (change,) = tether.items(child_turn, "fileChange")
    assert change["status"] == "applied"

    # The writer's edit is on disk, in the parent turn's diff, and tagged on its item.
    calc = workspace / "src" / "calc.py"
    assert "def mul(a, b):" in calc.read_text()
    assert items[2]["changedFiles"] == [str(calc)]
    assert "changedFiles" not in items[0]  # an explorer changes nothing
    diffs = tether.of("turn/diff/updated", turn["id"])
    assert diffs and "+def mul(a, b):" in diffs[-1]["diff"]
    # ... and in what a review of the parent turn reads (turn/files).
    files = await tether.request("turn/files", {"threadId": thread["id"], "turnId": turn["id"]})
    ((changed),) = files["files"]
    assert changed["path"] == str(calc) and changed["kind"] == "changed"
    assert "def mul" in changed["after"] and "def mul" not in changed["before"]

    # Reverting the parent turn reverts what its children changed.
    result = await tether.request("turn/revert", {"threadId": thread["id"], "turnId": turn["id"]})
    assert str(calc) in result["restored"]
    assert "def mul" not in calc.read_text()
    read = await tether.request("thread/read", {"threadId": ids["WRITE"]})
    (change,) = tether.items(read["turns"][0], "fileChange")
    assert change["status"] == "reverted"


@pytest.mark.sandbox_matrix
async def test_a_child_cannot_loosen_its_mode(
    tether: Tether, model_server: ModelServer, workspace: Path
) -> None:
    agents = workspace / ".tether" / "agents"
    agents.mkdir(parents=True)
    (agents / "loose.md").write_text(
        "---\nname: loose\ndescription: asks for full access\nmode: fullAccess\n"
        "tools: Bash\n---\nRun what you are told.\n"
    )

    def parent(r: RecordedRequest) -> Reply:
        if steps(r) == 0:
            return Reply(
                tool_calls=[
                    ToolCall("spawn_agent", {"agent_type": "loose", "prompt": "LOOSE: touch"}, "s1")
                ]
            )
        if steps(r) == 1:
            return Reply(tool_calls=[ToolCall("wait_agents", {"ids": child_ids(r)}, "w1")])
        return Reply(text="done")

    def loose(r: RecordedRequest) -> Reply:
        if steps(r) == 0:
            return Reply(tool_calls=[ToolCall("shell", {"command": "touch made-by-child"}, "c1")])
        return Reply(text="touched")

    model_server.fallback = scripted(parent, {"LOOSE": loose})
    thread = await tether.start_thread(workspace, mode="agent")
    turn = await tether.run_turn(thread["id"], "go", timeout=60)
    assert turn["status"] == "completed", turn
    (item,) = tether.items(turn, "subagent")
    read = await tether.request("thread/read", {"threadId": item["agentThreadId"]})
    assert read["thread"]["mode"] == "agent"
    (command,) = tether.items(read["turns"][0], "commandExecution")
    assert command["sandbox"] != "none"  # agent mode's sandbox, not fullAccess's none
    assert command["status"] == "completed", command
    assert (workspace / "made-by-child").exists()
    # The child's tools are what its definition names (Bash -> shell), no spawning.
    child_request = next(r for r in model_server.requests if is_child(r, "LOOSE"))
    assert child_request.tools == ["shell"]


async def test_interrupting_the_parent_interrupts_its_children(
    tether: Tether, model_server: ModelServer, workspace: Path
) -> None:
    child_asked = threading.Event()
    release = threading.Event()

    def parent(r: RecordedRequest) -> Reply:
        if steps(r) == 0:
            return Reply(
                tool_calls=[
                    ToolCall(
                        "spawn_agent", {"agent_type": "explorer", "prompt": "SLOW: think"}, "s1"
                    )
                ]
            )
        return Reply(tool_calls=[ToolCall("wait_agents", {"ids": child_ids(r)}, "w1")])

    def slow(_r: RecordedRequest) -> Reply:
        child_asked.set()
        release.wait(HANG_GUARD_S)
        return Reply(text="too late")

    model_server.fallback = scripted(parent, {"SLOW": slow})
    thread = await tether.start_thread(workspace, mode="agent")
    turn = (
        await tether.request(
            "turn/start", {"threadId": thread["id"], "input": [{"type": "text", "text": "go"}]}
        )
    )["turn"]
    started = await tether.wait_for(
        "item/started", lambda p: p["item"]["type"] == "subagent", HANG_GUARD_S
    )
    child_id = started["item"]["agentThreadId"]
    await tether.wait_for("turn/started", lambda p: p["turn"]["threadId"] == child_id, HANG_GUARD_S)
    try:
        await tether.wait_for(
            "item/started",
            lambda p: p["item"]["type"] == "toolCall" and p["item"]["tool"] == "wait_agents",
            HANG_GUARD_S,
        )
        await tether.request("turn/interrupt", {"threadId": thread["id"], "turnId": turn["id"]})
        done = await tether.wait_for(
            "turn/completed", lambda p: p["turn"]["id"] == turn["id"], HANG_GUARD_S
        )
    finally:
        release.set()
    assert done["turn"]["status"] == "interrupted"
    child_done = await tether.wait_for(
        "turn/completed", lambda p: p["turn"]["threadId"] == child_id, HANG_GUARD_S
    )
    assert child_done["turn"]["status"] == "interrupted"
    (item,) = tether.items(done["turn"], "subagent")
    assert item["status"] == "interrupted"


async def test_stop_on_a_child_ends_only_the_child(
    tether: Tether, model_server: ModelServer, workspace: Path
) -> None:
    release = threading.Event()

    def parent(r: RecordedRequest) -> Reply:
        if steps(r) == 0:
            return Reply(
                tool_calls=[
                    ToolCall(
                        "spawn_agent", {"agent_type": "explorer", "prompt": "SLOW: think"}, "s1"
                    )
                ]
            )
        if steps(r) == 1:
            return Reply(tool_calls=[ToolCall("wait_agents", {"ids": child_ids(r)}, "w1")])
        return Reply(text="the child was stopped")

    def slow(_r: RecordedRequest) -> Reply:
        release.wait(HANG_GUARD_S)
        return Reply(text="too late")

    model_server.fallback = scripted(parent, {"SLOW": slow})
    thread = await tether.start_thread(workspace, mode="agent")
    turn = (
        await tether.request(
            "turn/start", {"threadId": thread["id"], "input": [{"type": "text", "text": "go"}]}
        )
    )["turn"]
    started = await tether.wait_for(
        "item/started", lambda p: p["item"]["type"] == "subagent", HANG_GUARD_S
    )
    child_id = started["item"]["agentThreadId"]
    child_turn = await tether.wait_for(
        "turn/started", lambda p: p["turn"]["threadId"] == child_id, HANG_GUARD_S
    )
    try:
        await tether.request(
            "turn/interrupt", {"threadId": child_id, "turnId": child_turn["turn"]["id"]}
        )
        done = await tether.wait_for(
            "turn/completed", lambda p: p["turn"]["id"] == turn["id"], HANG_GUARD_S
        )
    finally:
        release.set()
    assert done["turn"]["status"] == "completed"
    (item,) = tether.items(done["turn"], "subagent")
    assert item["status"] == "interrupted"


@pytest.mark.sandbox_matrix
async def test_a_worktree_child_comes_back_as_a_proposal(
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
    calc = workspace / "src" / "calc.py"
    # The child worked apart: its own edit applied in the worktree without asking; the parent
    # then got it as a fileChange the user reviewed.
    (approval,) = [p for m, p in tether.approvals if m == "approval/fileChange"]
    assert approval["threadId"] == thread["id"] and "parentThreadId" not in approval
    assert [c["path"] for c in approval["changes"]] == [str(calc)]
    (change,) = tether.items(turn, "fileChange")
    assert change["status"] == "applied"
    assert "def mul(a, b):" in calc.read_text()
    (item,) = tether.items(turn, "subagent")
    assert item["isolation"] == "worktree" and item["changedFiles"] == [str(calc)]
    trees = subprocess.run(
        ["git", "-C", str(workspace), "worktree", "list", "--porcelain"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert trees.count("worktree ") == 1, trees  # the child's worktree is gone
    waited = next(r for r in model_server.requests if "w1" in r.tool_outputs())
    assert "proposed to the user" in waited.tool_outputs()["w1"]


async def test_a_crash_with_children_running_resumes_cleanly(
    model_server: ModelServer, workspace: Path, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    asked = threading.Event()
    release = threading.Event()

    def parent(r: RecordedRequest) -> Reply:
        if r.user_texts()[-1] == "after the crash":
            return Reply(text="back")
        if steps(r) == 0:
            return Reply(
                tool_calls=[
                    ToolCall(
                        "spawn_agent", {"agent_type": "explorer", "prompt": "SLOW: think"}, "s1"
                    )
                ]
            )
        return Reply(tool_calls=[ToolCall("wait_agents", {"ids": child_ids(r)}, "w1")])

    def slow(r: RecordedRequest) -> Reply:
        if r.user_texts()[-1].startswith("CHILD-DIRECT"):
            return Reply(text="still here")
        asked.set()
        release.wait(HANG_GUARD_S)
        return Reply(text="too late")

    model_server.fallback = scripted(parent, {"SLOW": slow})
    tether = await start_tether(model_server.env(), home)
    try:
        thread = await tether.start_thread(workspace, mode="agent")
        await tether.request(
            "turn/start", {"threadId": thread["id"], "input": [{"type": "text", "text": "go"}]}
        )
        started = await tether.wait_for(
            "item/started", lambda p: p["item"]["type"] == "subagent", HANG_GUARD_S
        )
        await tether.wait_for(
            "item/started", lambda p: p["item"]["type"] == "toolCall", HANG_GUARD_S
        )
        child_id = started["item"]["agentThreadId"]
    finally:
        await tether.kill()
        release.set()

    tether = await start_tether(model_server.env(), home)
    try:
        parent_read = await tether.request("thread/read", {"threadId": thread["id"]})
        (turn,) = parent_read["turns"]
        assert turn["status"] == "interrupted"
        (item,) = tether.items(turn, "subagent")
        assert item["status"] == "interrupted"  # cut off by the crash, like its child's turn
        child_read = await tether.request("thread/read", {"threadId": child_id})
        assert child_read["thread"]["parentThreadId"] == thread["id"]
        assert [t["status"] for t in child_read["turns"]] == ["interrupted"]
        listed = await tether.request("thread/list", {})
        assert [t["id"] for t in listed["threads"]] == [thread["id"]]
        again = await tether.run_turn(thread["id"], "after the crash")
        assert again["status"] == "completed"
        assert tether.items(again, "agentMessage")[-1]["text"] == "back"
        # The child's thread resumes like any thread: the user can talk to it directly.
        await tether.request("thread/resume", {"threadId": child_id})
        direct = await tether.run_turn(child_id, "CHILD-DIRECT: still there?")
        assert direct["status"] == "completed"
        assert tether.items(direct, "agentMessage")[-1]["text"] == "still here"
    finally:
        await stop_tether(tether)


async def test_subagent_start_and_stop_hooks(
    tether: Tether, model_server: ModelServer, workspace: Path, tmp_path: Path
) -> None:
    log = tmp_path / "hooks.log"
    command = f"{shlex.quote(sys.executable)} {shlex.quote(str(HOOK))} {shlex.quote(str(log))}"
    hooks = {
        event: [{"matcher": "explorer", "hooks": [{"type": "command", "command": command}]}]
        for event in ("SubagentStart", "SubagentStop")
    }
    (tmp_path / "home").mkdir(exist_ok=True)
    (tmp_path / "home" / "hooks.json").write_text(json.dumps({"hooks": hooks}))

    def parent(r: RecordedRequest) -> Reply:
        if steps(r) == 0:
            return Reply(
                tool_calls=[
                    ToolCall(
                        "spawn_agent", {"agent_type": "explorer", "prompt": "HOOKED: look"}, "s1"
                    )
                ]
            )
        if steps(r) == 1:
            return Reply(tool_calls=[ToolCall("wait_agents", {"ids": child_ids(r)}, "w1")])
        return Reply(text="done")

    def hooked(r: RecordedRequest) -> Reply:
        return Reply(text="checked" if "CHECK AGAIN" in r.user_texts()[-1] else "first answer")

    model_server.fallback = scripted(parent, {"HOOKED": hooked})
    thread = await tether.start_thread(workspace, mode="agent")
    turn = await tether.run_turn(thread["id"], "go", timeout=60)
    assert turn["status"] == "completed", turn
    (item,) = tether.items(turn, "subagent")
    assert item["summary"] == "checked"  # SubagentStop sent it back once
    child_requests = [r for r in model_server.requests if is_child(r, "HOOKED")]
    assert "CTX-FROM-HOOK for explorer" in child_requests[0].instructions
    assert len(child_requests) == 2
    payloads = [json.loads(line) for line in log.read_text().splitlines()]
    assert [p["hook_event_name"] for p in payloads] == [
        "SubagentStart",
        "SubagentStop",
        "SubagentStop",
    ]
    start, first_stop, second_stop = payloads
    assert start["session_id"] == thread["id"]
    assert start["agent_id"] == item["agentThreadId"] and start["agent_type"] == "explorer"
    assert first_stop["agent_id"] == item["agentThreadId"]
    assert [first_stop["stop_hook_active"], second_stop["stop_hook_active"]] == [False, True]
    assert Path(first_stop["agent_transcript_path"]).is_file()


async def test_send_steers_a_working_child_and_close_ends_it(
    tether: Tether, model_server: ModelServer, workspace: Path
) -> None:
    sent = threading.Event()

    def parent(r: RecordedRequest) -> Reply:
        ids = child_ids(r)
        if steps(r) == 0:
            return Reply(
                tool_calls=[
                    ToolCall(
                        "spawn_agent", {"agent_type": "explorer", "prompt": "STEERED: look"}, "s1"
                    )
                ]
            )
        if steps(r) == 1:
            return Reply(
                tool_calls=[
                    ToolCall(
                        "send_agent", {"id": ids[0], "message": "EXTRA: also count the lines"}, "m1"
                    )
                ]
            )
        if steps(r) == 2:
            sent.set()
            return Reply(tool_calls=[ToolCall("wait_agents", {"ids": ids}, "w1")])
        if steps(r) == 3:
            return Reply(tool_calls=[ToolCall("close_agent", {"id": ids[0]}, "c1")])
        return Reply(text="closed it")

    def steered(r: RecordedRequest) -> Reply:
        if steps(r) == 0:
            assert sent.wait(HANG_GUARD_S), "the parent never sent its message"
            return Reply(tool_calls=[ToolCall("read_file", {"path": "README.md"}, "r1")])
        return Reply(
            text="steered: 3 lines" if any("EXTRA" in t for t in r.user_texts()) else "not steered"
        )

    model_server.fallback = scripted(parent, {"STEERED": steered})
    thread = await tether.start_thread(workspace, mode="agent")
    turn = await tether.run_turn(thread["id"], "go", timeout=60)
    assert turn["status"] == "completed", turn
    outputs = {k: v for r in model_server.requests for k, v in r.tool_outputs().items()}
    assert "reads it at its next step" in outputs["m1"]
    (report,) = json.loads(outputs["w1"])
    assert report["message"] == "steered: 3 lines"
    assert json.loads(outputs["c1"])["status"] == "closed"
    (item,) = tether.items(turn, "subagent")
    assert item["status"] == "closed" and item["summary"] == "steered: 3 lines"
    assert [i["tool"] for i in tether.items(turn, "toolCall")] == [
        "send_agent",
        "wait_agents",
        "close_agent",
    ]


@pytest.mark.parametrize(
    ("config", "agent_type"),
    [("max_subagents = 1\n", "explorer"), ("", "general")],
    ids=["one slot", "two writers"],
)
async def test_children_beyond_the_limit_wait_for_a_slot(
    model_server: ModelServer, workspace: Path, tmp_path: Path, config: str, agent_type: str
) -> None:
    """One slot, or two children that can write in the same workspace: one after the other."""
    home = tmp_path / "home"
    home.mkdir()
    (home / "config.toml").write_text(config)
    release = threading.Event()

    def parent(r: RecordedRequest) -> Reply:
        if steps(r) == 0:
            return Reply(
                tool_calls=[
                    ToolCall(
                        "spawn_agent", {"agent_type": agent_type, "prompt": "FIRST: go"}, "s1"
                    ),
                    ToolCall(
                        "spawn_agent", {"agent_type": agent_type, "prompt": "SECOND: go"}, "s2"
                    ),
                ]
            )
        if steps(r) == 2:
            return Reply(tool_calls=[ToolCall("wait_agents", {"ids": child_ids(r)}, "w1")])
        return Reply(text="both done")

    def first(_r: RecordedRequest) -> Reply:
        assert release.wait(HANG_GUARD_S), "the test never released the first child"
        return Reply(text="first done")

    model_server.fallback = scripted(
        parent, {"FIRST": first, "SECOND": lambda _r: Reply(text="second done")}
    )
    tether = await start_tether(model_server.env(), home)
    try:
        thread = await tether.start_thread(workspace, mode="agent")
        turn = (
            await tether.request(
                "turn/start", {"threadId": thread["id"], "input": [{"type": "text", "text": "go"}]}
            )
        )["turn"]
        await tether.wait_for(
            "item/started",
            lambda p: p["item"]["type"] == "toolCall" and p["item"]["tool"] == "wait_agents",
            HANG_GUARD_S,
        )
        items = {
            i["prompt"][:5]: i
            for i in (p["item"] for p in tether.of("item/updated", turn["id"]))
            if i["type"] == "subagent"
        }
        second_id = items["SECON"]["agentThreadId"]
        # Both spawned, one slot: the second has not started a turn, and its item says it waits.
        assert not [p for p in tether.of("turn/started") if p["turn"]["threadId"] == second_id]
        assert items["SECON"]["status"] == "pending"
        release.set()
        done = await tether.wait_for(
            "turn/completed", lambda p: p["turn"]["id"] == turn["id"], HANG_GUARD_S
        )
        assert [i["summary"] for i in tether.items(done["turn"], "subagent")] == [
            "first done",
            "second done",
        ]
        order = [
            p["turn"]["threadId"]
            for m, p in tether.notifications
            if m in ("turn/started", "turn/completed") and p["turn"]["threadId"] != thread["id"]
        ]
        first_id = items["FIRST"]["agentThreadId"]
        assert order == [first_id, first_id, second_id, second_id]  # one after the other
    finally:
        release.set()
        await stop_tether(tether)


async def test_a_stricter_parent_mode_tightens_its_running_children(
    tether: Tether, model_server: ModelServer, workspace: Path
) -> None:
    release = threading.Event()

    def parent(r: RecordedRequest) -> Reply:
        if steps(r) == 0:
            return Reply(tool_calls=[ToolCall("spawn_agent", {"prompt": "HELD: work"}, "s1")])
        return (
            Reply(tool_calls=[ToolCall("wait_agents", {"ids": child_ids(r)}, "w1")])
            if steps(r) == 1
            else Reply(text="ok")
        )

    def held(_r: RecordedRequest) -> Reply:
        release.wait(HANG_GUARD_S)
        return Reply(text="held done")

    model_server.fallback = scripted(parent, {"HELD": held})
    thread = await tether.start_thread(workspace, mode="agent")
    turn = (
        await tether.request(
            "turn/start", {"threadId": thread["id"], "input": [{"type": "text", "text": "go"}]}
        )
    )["turn"]
    try:
        started = await tether.wait_for(
            "item/started", lambda p: p["item"]["type"] == "subagent", HANG_GUARD_S
        )
        child_id = started["item"]["agentThreadId"]
        await tether.request("thread/setMode", {"threadId": thread["id"], "mode": "readOnly"})
        changed = await tether.wait_for(
            "thread/modeChanged", lambda p: p["threadId"] == child_id, HANG_GUARD_S
        )
        assert changed["mode"] == "readOnly"
    finally:
        release.set()
    await tether.wait_for("turn/completed", lambda p: p["turn"]["id"] == turn["id"], HANG_GUARD_S)
    read = await tether.request("thread/read", {"threadId": child_id})
    assert read["thread"]["mode"] == "readOnly"


async def test_definitions_max_turns_context_and_agent_list(
    tether: Tether, model_server: ModelServer, workspace: Path
) -> None:
    agents = workspace / ".claude" / "agents"
    agents.mkdir(parents=True)
    (agents / "brief.md").write_text(
        "---\nname: brief\ndescription: one model call at most\nmaxTurns: 1\n"
        "tools: Read\n---\nBe brief.\n"
    )
    (agents / "broken.md").write_text("---\nname: broken\n---\nno description\n")
    listed = await tether.request("agent/list", {"cwd": str(workspace)})
    names = {a["name"]: a for a in listed["agents"]}
    assert set(names) == {"general", "explorer", "brief"}
    assert names["brief"]["maxTurns"] == 1 and names["brief"]["tools"] == ["read_file"]
    assert names["explorer"]["mode"] == "readOnly" and names["explorer"]["source"] == "builtin"
    (problem,) = listed["problems"]
    assert problem.startswith(str(agents / "broken.md")) and "`description` is required" in problem

    def parent(r: RecordedRequest) -> Reply:
        if steps(r) == 0:
            return Reply(
                tool_calls=[
                    ToolCall("spawn_agent", {"agent_type": "nobody", "prompt": "x"}, "s0"),
                    ToolCall(
                        "spawn_agent",
                        {"agent_type": "brief", "prompt": "BRIEF: loop", "context": "summary"},
                        "s1",
                    ),
                ]
            )
        if steps(r) == 2:
            return Reply(tool_calls=[ToolCall("wait_agents", {"ids": child_ids(r)}, "w1")])
        return Reply(text="done")

    def brief(_r: RecordedRequest) -> Reply:  # would read forever without maxTurns
        return Reply(tool_calls=[ToolCall("read_file", {"path": "README.md"}, "r1")])

    model_server.fallback = scripted(parent, {"BRIEF": brief})
    thread = await tether.start_thread(workspace, mode="agent")
    turn = await tether.run_turn(thread["id"], "PARENT-ASK: summarise the repo", timeout=60)
    assert turn["status"] == "completed", turn
    outputs = {k: v for r in model_server.requests for k, v in r.tool_outputs().items()}
    assert "There is no agent named 'nobody'" in outputs["s0"] and "brief" in outputs["s0"]
    (report,) = json.loads(outputs["w1"])
    assert "used its 1 model calls (maxTurns)" in report["message"]
    (first,) = [r for r in model_server.requests if is_child(r, "BRIEF")]  # one call only
    assert first.tools == ["read_file"]
    # context: "summary" hands the child the parent's conversation so far.
    assert (
        "<parent_context>" in first.instructions and "PARENT-ASK: summarise" in first.instructions
    )
    assert "Be brief." in first.instructions


async def test_depth_two_lets_a_child_spawn_and_revert_reaches_the_grandchild(
    model_server: ModelServer, workspace: Path, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "config.toml").write_text("max_subagent_depth = 2\n")

    def parent(r: RecordedRequest) -> Reply:
        if steps(r) == 0:
            return Reply(tool_calls=[ToolCall("spawn_agent", {"prompt": "MIDDLE: delegate"}, "s1")])
        if steps(r) == 1:
            return Reply(tool_calls=[ToolCall("wait_agents", {"ids": child_ids(r)}, "w1")])
        return Reply(text="done")

    def middle(r: RecordedRequest) -> Reply:
        if steps(r) == 0:
            return Reply(tool_calls=[ToolCall("spawn_agent", {"prompt": "LEAF: write"}, "m1")])
        if steps(r) == 1:
            return Reply(tool_calls=[ToolCall("wait_agents", {"ids": child_ids(r)}, "m2")])
        return Reply(text="the leaf wrote it")

    def leaf(r: RecordedRequest) -> Reply:
        if steps(r) == 0:
            return Reply(tool_calls=[ToolCall("apply_patch", {"patch": MUL_PATCH}, "p1")])
        return Reply(text="wrote mul")

    model_server.fallback = scripted(parent, {"MIDDLE": middle, "LEAF": leaf})
    tether = await start_tether(model_server.env(), home)
    try:
        thread = await tether.start_thread(workspace, mode="agent")
        turn = await tether.run_turn(thread["id"], "go", timeout=60)
        assert turn["status"] == "completed", turn
        middle_first = next(r for r in model_server.requests if is_child(r, "MIDDLE"))
        leaf_first = next(r for r in model_server.requests if is_child(r, "LEAF"))
        assert "spawn_agent" in middle_first.tools  # depth 2: the child may spawn
        assert "spawn_agent" not in leaf_first.tools  # its child may not
        calc = workspace / "src" / "calc.py"
        assert "def mul" in calc.read_text()
        result = await tether.request(
            "turn/revert", {"threadId": thread["id"], "turnId": turn["id"]}
        )
        assert str(calc) in result["restored"] and "def mul" not in calc.read_text()
    finally:
        await stop_tether(tether)


async def test_a_child_shares_the_parents_session_grants_and_hooks(
    tether: Tether, model_server: ModelServer, workspace: Path, tmp_path: Path
) -> None:
    blocker = tmp_path / "block_rm.py"
    blocker.write_text(
        "import json, sys\n"
        "if 'rm ' in json.load(sys.stdin)['tool_input'].get('command', ''):\n"
        "    print('no rm in this repo', file=sys.stderr); sys.exit(2)\n"
    )
    hook = {
        "type": "command",
        "command": f"{shlex.quote(sys.executable)} {shlex.quote(str(blocker))}",
    }
    (tmp_path / "home").mkdir(exist_ok=True)
    (tmp_path / "home" / "hooks.json").write_text(
        json.dumps({"hooks": {"PreToolUse": [{"matcher": "Bash", "hooks": [hook]}]}})
    )
    command = "python3 -c 'print(5)'"

    def parent(r: RecordedRequest) -> Reply:
        if r.user_texts()[-1] == "first":
            return (
                Reply(tool_calls=[ToolCall("shell", {"command": command}, "p1")])
                if steps(r) == 0
                else Reply(text="ran it")
            )
        if steps(r) == 1:  # the first turn's tool result is in the history
            return Reply(
                tool_calls=[
                    ToolCall(
                        "spawn_agent", {"agent_type": "explorer", "prompt": "GRANTED: run"}, "s1"
                    )
                ]
            )
        if steps(r) == 2:
            return Reply(tool_calls=[ToolCall("wait_agents", {"ids": child_ids(r)}, "w1")])
        return Reply(text="done")

    def granted(r: RecordedRequest) -> Reply:
        if steps(r) == 0:
            return Reply(
                tool_calls=[
                    ToolCall("shell", {"command": command}, "g1"),
                    ToolCall("shell", {"command": "rm -rf src"}, "g2"),
                ]
            )
        return Reply(text="ran; rm was blocked")

    model_server.fallback = scripted(parent, {"GRANTED": granted})
    tether.approver = lambda _m, _p: {"decision": "acceptForSession"}
    thread = await tether.start_thread(workspace, mode="readOnly")
    first = await tether.run_turn(thread["id"], "first", timeout=60)
    assert first["status"] == "completed", first
    assert len([m for m, _p in tether.approvals if m == "approval/commandExecution"]) == 1
    second = await tether.run_turn(thread["id"], "now delegate", timeout=60)
    assert second["status"] == "completed", second
    # The child ran the command the user allowed the parent for the session, without asking.
    assert len([m for m, _p in tether.approvals if m == "approval/commandExecution"]) == 1
    outputs = {k: v for r in model_server.requests for k, v in r.tool_outputs().items()}
    assert "5" in outputs["g1"]
    # The workspace's PreToolUse hook held for the child too.
    assert "no rm in this repo" in outputs["g2"] and (workspace / "src" / "calc.py").exists()


def test_tether_exec_waits_for_the_parent_not_a_child(
    model_server: ModelServer, workspace: Path, tmp_path: Path
) -> None:
    from tests.e2e.test_exec import tether_exec

    model_server.enqueue(
        Reply(
            tool_calls=[
                ToolCall("spawn_agent", {"agent_type": "explorer", "prompt": "EXEC-CHILD: hi"}),
                ToolCall("wait_agents", {"ids": []}),
            ]
        ),
        Reply(text="the child says hi"),
        Reply(text="The parent's answer."),
    )
    for args in (["--mode", "agent", "delegate"], ["--json", "--mode", "agent", "delegate"]):
        done = tether_exec(args, model_server.env(), workspace, tmp_path / "home")
        assert done.returncode == 0, done.stderr
        if "--json" in args:
            events = [json.loads(line) for line in done.stdout.splitlines()]
            assert [e["type"] for e in events].count("turn.completed") == 1
            messages = [
                e["item"]["text"]
                for e in events
                if e.get("item", {}).get("type") == "agent_message"
            ]
            assert messages == ["The parent's answer."]
        else:
            assert done.stdout.strip() == "The parent's answer."
        model_server.enqueue(
            Reply(
                tool_calls=[
                    ToolCall("spawn_agent", {"agent_type": "explorer", "prompt": "EXEC-CHILD: hi"}),
                    ToolCall("wait_agents", {"ids": []}),
                ]
            ),
            Reply(text="the child says hi"),
            Reply(text="The parent's answer."),
        )


async def test_a_turn_spawns_a_bounded_number_of_children(
    model_server: ModelServer, workspace: Path, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "config.toml").write_text("max_subagents = 1\n")  # at most 4 children per turn

    def parent(r: RecordedRequest) -> Reply:
        if steps(r) == 0:
            return Reply(
                tool_calls=[
                    ToolCall(
                        "spawn_agent",
                        {"agent_type": "explorer", "prompt": f"MANY {i}: go"},
                        f"s{i}",
                    )
                    for i in range(5)
                ]
            )
        if steps(r) == 5:
            return Reply(tool_calls=[ToolCall("wait_agents", {"ids": child_ids(r)}, "w1")])
        return Reply(text="enough")

    model_server.fallback = scripted(parent, {"MANY": lambda _r: Reply(text="ok")})
    tether = await start_tether(model_server.env(), home)
    try:
        thread = await tether.start_thread(workspace, mode="agent")
        turn = await tether.run_turn(thread["id"], "go", timeout=60)
        assert turn["status"] == "completed", turn
        outputs = {k: v for r in model_server.requests for k, v in r.tool_outputs().items()}
        assert all("Started explorer" in outputs[f"s{i}"] for i in range(4))
        assert "spawned 4 sub-agents, the most it may" in outputs["s4"]
        assert [i["status"] for i in tether.items(turn, "subagent")] == ["completed"] * 4
    finally:
        await stop_tether(tether)
