"""PROTOCOL.md §6, cell by cell: what each mode does for each kind of action, over the wire."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.harness import Tether, start_tether, stop_tether
from tests.model_server import ModelServer, Reply, ToolCall

MODES = ("readOnly", "agent", "fullAccess")


@dataclass
class Cell:
    name: str
    call: ToolCall
    asks: dict[str, bool]
    """mode -> whether the user is asked."""


def cells(workspace: Path, outside: Path, port: int) -> list[Cell]:
    connect = (
        f"python3 -c \"import socket; s=socket.create_connection(('127.0.0.1', {port}), "
        "timeout=2); s.sendall(b'hi')\""
    )
    return [
        Cell(
            "read inside",
            ToolCall("read_file", {"path": "src/calc.py"}),
            {"readOnly": False, "agent": False, "fullAccess": False},
        ),
        Cell(
            "read outside",
            ToolCall("read_file", {"path": str(outside / "notes.txt")}),
            {"readOnly": True, "agent": True, "fullAccess": False},
        ),
        Cell(
            "edit inside",
            ToolCall(
                "edit_file",
                {"path": "src/calc.py", "old_string": "a - b", "new_string": "a - b  # sub"},
            ),
            {"readOnly": True, "agent": False, "fullAccess": False},
        ),
        Cell(
            "edit protected",
            ToolCall(
                "edit_file",
                {"path": ".vscode/settings.json", "old_string": "", "new_string": "{}\n"},
            ),
            {"readOnly": True, "agent": True, "fullAccess": False},
        ),
        Cell(
            "edit outside",
            ToolCall(
                "edit_file",
                {
                    "path": str(outside / "notes.txt"),
                    "old_string": "outside",
                    "new_string": "OUTSIDE",
                },
            ),
            {"readOnly": True, "agent": True, "fullAccess": False},
        ),
        Cell(
            "safe command",
            ToolCall("shell", {"command": "ls src && git status --short"}),
            {"readOnly": False, "agent": False, "fullAccess": False},
        ),
        Cell(
            "other command",
            ToolCall("shell", {"command": "touch made.txt"}),
            {"readOnly": True, "agent": False, "fullAccess": False},
        ),
        Cell(
            "network",
            ToolCall("shell", {"command": connect}),
            {"readOnly": True, "agent": False, "fullAccess": False},
        ),
        Cell(
            "network, escalated",
            ToolCall(
                "shell",
                {"command": connect, "escalate": True, "justification": "talk to the listener"},
            ),
            {"readOnly": True, "agent": True, "fullAccess": False},
        ),
        Cell(
            "allow rule",
            ToolCall("shell", {"command": "make --version"}),
            {"readOnly": False, "agent": False, "fullAccess": False},
        ),
        Cell(
            "forbid rule",
            ToolCall("shell", {"command": "rm -f src/calc.py"}),
            {"readOnly": False, "agent": False, "fullAccess": False},
        ),
    ]


@pytest.mark.parametrize("mode", MODES)
async def test_every_cell_of_the_mode_table(
    mode: str,
    model_server: ModelServer,
    workspace: Path,
    tmp_path: Path,
    listener: tuple[int, list[bytes]],
) -> None:
    port, connections = listener
    home = tmp_path / "home"
    home.mkdir()
    (home / "rules.toml").write_text(
        '[[rules]]\nprefix = ["make", "--version"]\n'
        'decision = "allow"\n\n[[rules]]\nprefix = ["rm"]\n'
        'decision = "forbid"\n'
    )
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "notes.txt").write_text("outside\n")
    tether = await start_tether(model_server.env(), home)
    asked: list[str] = []

    def approve(method: str, params: dict[str, Any]) -> dict[str, Any]:
        asked.append(method)
        return {"decision": "accept"}

    tether.approver = approve
    try:
        thread = await tether.start_thread(workspace, mode=mode)
        results: dict[str, tuple[bool, dict[str, Any], str]] = {}
        for n, cell in enumerate(cells(workspace, outside, port)):
            asked.clear()
            call = replace(cell.call, call_id=f"call-{n}")
            model_server.enqueue(Reply(tool_calls=[call]), Reply(text="ok"))
            turn = await tether.run_turn(thread["id"], cell.name)
            item = [i for i in turn["items"] if i["type"] not in ("userMessage", "agentMessage")]
            output = model_server.requests[-1].tool_outputs()[f"call-{n}"]
            results[cell.name] = (bool(asked), item[0], output)
        for cell in cells(workspace, outside, port):
            was_asked, item, output = results[cell.name]
            assert was_asked == cell.asks[mode], (cell.name, mode, item, output)

        sandbox = {"readOnly": "readOnly", "agent": "readOnly", "fullAccess": "none"}[mode]
        assert results["safe command"][1]["sandbox"] == sandbox
        other = "none" if mode == "fullAccess" else "workspaceWrite"
        assert results["other command"][1]["sandbox"] == other
        assert (workspace / "made.txt").exists()  # approved in readOnly, auto elsewhere
        assert results["allow rule"][1]["status"] == "completed"
        forbid = results["forbid rule"][1]
        assert forbid["status"] == "declined" and "forbidden" in results["forbid rule"][2]
        assert (workspace / "src" / "calc.py").exists()
        # Network: blocked inside the sandbox (with a hint to escalate), allowed after an
        # approved escalation and in fullAccess.
        plain, escalated = results["network"], results["network, escalated"]
        if mode == "fullAccess":
            assert plain[1]["exitCode"] == 0
        else:
            assert plain[1]["exitCode"] != 0 and "escalate=true" in plain[2]
        assert escalated[1]["exitCode"] == 0 and escalated[1]["sandbox"] == "none"
        assert len(connections) == (3 if mode == "fullAccess" else 1) - (
            1 if mode == "fullAccess" else 0
        )
        assert (outside / "notes.txt").read_text() == "OUTSIDE\n"
        assert (workspace / ".vscode" / "settings.json").read_text() == "{}\n"
    finally:
        await stop_tether(tether)


async def test_allow_rules_never_cover_chains_or_redirections(
    model_server: ModelServer, workspace: Path, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "rules.toml").write_text('[[rules]]\nprefix = ["git", "status"]\ndecision = "allow"\n')
    tether = await start_tether(model_server.env(), home)
    try:
        thread = await tether.start_thread(workspace)  # readOnly
        for command, asks in (
            ("git status", False),
            ("git status && curl x | sh", True),
            ("git status > f", True),
        ):
            tether.approvals.clear()
            model_server.enqueue(
                Reply(tool_calls=[ToolCall("shell", {"command": command})]), Reply(text="ok")
            )
            await tether.run_turn(thread["id"], command)
            assert bool(tether.approvals) == asks, command
        assert not (workspace / "f").exists()  # declined
    finally:
        await stop_tether(tether)


async def test_decline_cancel_and_always(
    model_server: ModelServer, workspace: Path, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    tether = await start_tether(model_server.env(), home)
    try:
        thread = await tether.start_thread(workspace)
        # decline: the model is told and the turn goes on.
        tether.approver = lambda m, p: {"decision": "decline"}
        model_server.enqueue(
            Reply(tool_calls=[ToolCall("shell", {"command": "touch a"}, call_id="d")]),
            Reply(text="fine"),
        )
        turn = await tether.run_turn(thread["id"], "touch a")
        assert turn["status"] == "completed" and not (workspace / "a").exists()
        assert "declined" in model_server.requests[-1].tool_outputs()["d"]
        # cancel: the turn ends interrupted.
        tether.approver = lambda m, p: {"decision": "cancel"}
        model_server.enqueue(Reply(tool_calls=[ToolCall("shell", {"command": "touch b"})]))
        turn = await tether.run_turn(thread["id"], "touch b")
        assert turn["status"] == "interrupted" and not (workspace / "b").exists()
        # acceptAlways persists a rule that applies at once and after a restart.
        tether.approver = lambda m, p: {
            "decision": "acceptAlways",
            "rule": p["suggestedRules"][0],
            "scope": "user",
        }
        model_server.enqueue(
            Reply(tool_calls=[ToolCall("shell", {"command": "git add -A"})]), Reply(text="ok")
        )
        await tether.run_turn(thread["id"], "stage")
        assert '"git", "add"' in (home / "rules.toml").read_text()
    finally:
        await stop_tether(tether)
    again = await start_tether(model_server.env(), home)
    try:
        thread = await again.start_thread(workspace)
        model_server.enqueue(
            Reply(tool_calls=[ToolCall("shell", {"command": "git add README.md"})]),
            Reply(text="ok"),
        )
        turn = await again.run_turn(thread["id"], "stage again")
        assert again.approvals == []
        assert tether.items(turn, "commandExecution")[0]["status"] == "completed"
    finally:
        await stop_tether(again)


async def test_interrupt_cancels_a_pending_approval(
    tether: Tether, model_server: ModelServer, workspace: Path
) -> None:
    import asyncio

    release = asyncio.Event()

    async def slow_answer(method: str, params: dict[str, Any]) -> dict[str, Any]:
        await release.wait()
        return {"decision": "accept"}

    tether.approver = slow_answer  # type: ignore[assignment]
    model_server.enqueue(Reply(tool_calls=[ToolCall("shell", {"command": "touch late"})]))
    thread = await tether.start_thread(workspace)
    turn = (
        await tether.request(
            "turn/start", {"threadId": thread["id"], "input": [{"type": "text", "text": "go"}]}
        )
    )["turn"]
    await tether.wait_for("item/updated", lambda p: p["item"].get("status") == "pending")
    await tether.request("turn/interrupt", {"threadId": thread["id"], "turnId": turn["id"]})
    done = await tether.wait_for("turn/completed")
    assert done["turn"]["status"] == "interrupted"
    await asyncio.sleep(0.5)
    assert tether.cancelled_requests, [m for m, _ in tether.notifications]
    release.set()
    assert not (workspace / "late").exists()


def test_git_is_a_real_repo(workspace: Path) -> None:
    assert (
        subprocess.run(["git", "-C", str(workspace), "status"], capture_output=True).returncode == 0
    )
