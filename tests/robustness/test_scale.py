"""Turn revert in a big workspace, where commands are recorded from the roots' inotify watch
instead of walks of the whole tree (issue 25; `server.edits.tracked`).

Each test drives the real server and the scripted model in a generated tree (30,000 files,
three levels deep; a smaller one where the test walks the tree on purpose). Before the turn,
each waits until the first snapshot and the background reading of the tree are done (its
manifest is written then): what a command changes before that reading reached a file cannot
be restored, and says so (tests/edits/test_tracked.py). The per-command cost itself is a
bench figure (`python -m bench.scale_row`), not asserted here.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import subprocess
from pathlib import Path

import pytest
from lsprotocol import types as lsp

from tests.conftest import SandboxCell
from tests.model_server import ModelServer, Reply, ToolCall
from tests.robustness.hazards import (
    HazardServer,
    Poller,
    command_items,
    hazard_server,
    start_turn,
    wait_turn,
)

pytestmark = pytest.mark.sandbox_matrix

DEEP = (
    "src/pkg007/sub03/mod7153.py",
    "src/pkg021/sub11/mod21571.py",
    "src/pkg029/sub19/mod29999.py",
)
DOOMED = "src/pkg012/sub05"


def make_tree(root: Path, files: int) -> Path:
    for i in range(files):
        d = root / "src" / f"pkg{i // 1000:03d}" / f"sub{(i // 50) % 20:02d}"
        if i % 50 == 0:
            d.mkdir(parents=True, exist_ok=True)
        (d / f"mod{i}.py").write_bytes(f"def f{i}(x):\n    return x * {i % 97}\n".encode())
    os.chmod(root / DEEP[0], 0o755)
    return root


def fingerprint(root: Path, *, git: bool = True) -> dict[str, tuple[str, int]]:
    """Every file below `root` (without `.git` unless `git`): content digest and permission
    bits."""
    found: dict[str, tuple[str, int]] = {}
    for directory, dirs, names in os.walk(root):
        if not git and directory == str(root) and ".git" in dirs:
            dirs.remove(".git")
        for name in names:
            path = Path(directory, name)
            found[path.relative_to(root).as_posix()] = (
                hashlib.sha256(path.read_bytes()).hexdigest(),
                path.stat().st_mode & 0o7777,
            )
    return found


async def read_in(server: HazardServer, root: Path) -> str:
    """Start a thread on `root` and wait until its first snapshot has read the tree (it starts
    with the thread's first turn)."""
    manifests = server.state / "checkpoints" / "manifests"
    async with Poller(server.tether, watch=manifests) as poller:
        thread = await server.tether.start_thread(root, mode="agent")
        server.model.enqueue(Reply(text="Ready."))
        first = await server.tether.run_turn(thread["id"], "Hello.", timeout=60)
        assert first["status"] == "completed", first.get("error")
        await poller.wait_appeared(240)
    assert poller.appeared is not None, "the first snapshot did not finish"
    return thread["id"]


async def revert(server: HazardServer, thread_id: str, turn_id: str) -> dict[str, list[str]]:
    params = {"threadId": thread_id, "turnId": turn_id}
    return await server.tether.request("turn/revert", params)


CHANGE_DEEP = " && ".join(
    [f"printf 'changed\\n' >> {DEEP[0]}", f"chmod 600 {DEEP[1]}", f"printf 'new\\n' > {DEEP[2]}"]
)


async def test_deep_changes_and_a_deleted_directory_are_reverted_exactly(
    model_server: ModelServer, tmp_path: Path, sandbox_cell: SandboxCell
) -> None:
    root = make_tree(tmp_path / "big", 30_000)
    before = fingerprint(root)
    async with hazard_server(model_server, tmp_path, sandbox_cell) as server:
        thread_id = await read_in(server, root)
        model_server.enqueue(
            Reply(tool_calls=[ToolCall("shell", {"command": CHANGE_DEEP}, call_id="a")]),
            Reply(tool_calls=[ToolCall("shell", {"command": f"rm -r {DOOMED}"}, call_id="b")]),
            Reply(text="Done."),
        )
        turn = await wait_turn(server.tether, await start_turn(server.tether, thread_id, "Go."))
        assert turn["status"] == "completed", turn.get("error")
        assert [i["exitCode"] for i in command_items(turn)] == [0, 0]
        assert not (root / DOOMED).exists()
        result = await revert(server, thread_id, turn["id"])
    assert result["conflicts"] == []
    assert {os.path.relpath(p, root) for p in result["restored"]} >= {
        *DEEP,
        f"{DOOMED}/mod12250.py",
    }
    assert fingerprint(root) == before


async def test_a_file_the_user_saves_while_a_command_runs_is_not_reverted(
    model_server: ModelServer, tmp_path: Path, sandbox_cell: SandboxCell
) -> None:
    root = make_tree(tmp_path / "big", 30_000)
    mine = root / "src/pkg003/sub04/mod3200.py"
    original = (root / DEEP[0]).read_bytes()
    command = f"sleep 3 && printf 'by the command\\n' >> {DEEP[0]}"
    async with hazard_server(model_server, tmp_path, sandbox_cell) as server:
        thread_id = await read_in(server, root)
        model_server.enqueue(
            Reply(tool_calls=[ToolCall("shell", {"command": command}, call_id="a")]),
            Reply(text="Done."),
        )
        turn_id = await start_turn(server.tether, thread_id, "Go.")
        await server.tether.wait_for(
            "item/started", lambda p: p["item"]["type"] == "commandExecution"
        )
        # The user edits and saves another file in the editor while the command runs.
        text = "def mine():\n    return 'the user wrote this'\n"
        uri = mine.as_uri()
        document = lsp.TextDocumentItem(uri=uri, language_id="python", version=1, text=text)
        server.tether.lsp.text_document_did_open(lsp.DidOpenTextDocumentParams(document))
        await asyncio.sleep(0.2)
        mine.write_text(text)
        turn = await wait_turn(server.tether, turn_id)
        assert turn["status"] == "completed", turn.get("error")
        result = await revert(server, thread_id, turn_id)
    assert (root / DEEP[0]).read_bytes() == original
    assert mine.read_text() == text  # the user's save survives the revert
    assert str(mine) in result["conflicts"]


async def test_past_the_watch_limit_commands_are_walked_and_still_reverted_exactly(
    model_server: ModelServer, tmp_path: Path, sandbox_cell: SandboxCell
) -> None:
    root = make_tree(tmp_path / "big", 30_000)
    before = fingerprint(root)
    limit = {"TETHER_WATCH_LIMIT": "20"}  # the tree has 631 directories
    async with hazard_server(model_server, tmp_path, sandbox_cell, env=limit) as server:
        thread_id = await read_in(server, root)
        model_server.enqueue(
            Reply(tool_calls=[ToolCall("shell", {"command": CHANGE_DEEP}, call_id="a")]),
            Reply(tool_calls=[ToolCall("shell", {"command": f"rm -r {DOOMED}"}, call_id="b")]),
            Reply(text="Done."),
        )
        turn = await wait_turn(server.tether, await start_turn(server.tether, thread_id, "Go."))
        assert turn["status"] == "completed", turn.get("error")
        items = command_items(turn)
        assert [i["exitCode"] for i in items] == [0, 0]
        for item in items:
            assert "walking the whole workspace" in (item.get("trackingNote") or ""), item
            assert "more than 20 directories to watch" in item["trackingNote"]
        result = await revert(server, thread_id, turn["id"])
    assert result["conflicts"] == []
    assert fingerprint(root) == before


def make_repository(root: Path) -> Path:
    """`root` as a git repository whose index and HEAD hold every file, their mtimes set an
    hour back first (so no entry is racily clean, whatever the clock's granularity)."""
    for path in root.rglob("*.py"):
        info = path.stat()
        os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns - 3600 * 10**9))
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    subprocess.run(["git", "-C", str(root), "add", "-A"], check=True)
    # No `gc --auto` after the commit: run detached, it packs and deletes loose objects while
    # the test goes on (a fresh-clone run's walk met an object that had just gone).
    commit = ["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@t"]
    commit += ["-c", "gc.auto=0", "-c", "maintenance.auto=false", "commit"]
    subprocess.run([*commit, "-qm", "files"], check=True)
    return root


async def test_a_repository_is_reverted_exactly_before_its_files_were_read(
    model_server: ModelServer, tmp_path: Path, sandbox_cell: SandboxCell
) -> None:
    root = make_repository(make_tree(tmp_path / "big", 30_000))
    before = fingerprint(root, git=False)
    async with hazard_server(model_server, tmp_path, sandbox_cell) as server:
        thread = await server.tether.start_thread(root, mode="agent")
        model_server.enqueue(  # at once: the background reading has just begun, if that
            Reply(tool_calls=[ToolCall("shell", {"command": CHANGE_DEEP}, call_id="a")]),
            Reply(tool_calls=[ToolCall("shell", {"command": f"rm -r {DOOMED}"}, call_id="b")]),
            Reply(text="Done."),
        )
        turn_id = await start_turn(server.tether, thread["id"], "Go.")
        turn = await wait_turn(server.tether, turn_id)
        assert turn["status"] == "completed", turn.get("error")
        items = command_items(turn)
        assert [i["exitCode"] for i in items] == [0, 0]
        for item in items:  # what the reading had not reached, git's index gave
            assert "had not been read yet" not in (item.get("trackingNote") or ""), item
        result = await revert(server, thread["id"], turn_id)
    assert result["conflicts"] == []
    assert fingerprint(root, git=False) == before
