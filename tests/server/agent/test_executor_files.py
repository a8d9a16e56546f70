"""The file tools with an executor whose workspace is not this host's tree (Kubernetes): reads,
writes and listings go through the `Executor` protocol, the gate, approvals, protected paths and
per-hunk review stay on Tether's side, and the turn diff comes from what the executor gave.

The executor here is a test double of the `Executor` protocol (`PodFiles`: a workspace held in
memory, as a Pod's would be, recording each call), since the boundary under test is the routing
of the tools to that protocol. The Kubernetes executor's own file scripts run against a real
shell in tests/sandbox/test_kubernetes_files.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from protocol.approval import FileChangeApprovalResult, HunkSelection
from protocol.item import FileChangeItem, TextInput
from protocol.turn import TurnDiffUpdatedNotification
from sandbox.errors import SandboxUnavailable
from sandbox.executor import CommandRequest, ExecutorKind
from sandbox.run import CommandResult
from server.agent.errors import ToolFailed
from server.agent.executor_files import ExecutorFiles
from server.agent.files import EditorFiles
from server.agent.hooks import ThreadHooks
from server.agent.model import ModelClient
from server.agent.tools.base import ToolContext
from server.agent.tools.edits import apply_patch_tool, edit_file_tool
from server.agent.tools.files import list_dir, read_file
from server.agent.tools.search import search
from server.agent.turn import ThreadParts, TurnRunner, TurnServices
from server.agent.watcher import WorkspaceWatcher
from tests.server.agent.fakes import FakeModel, World

BEFORE = "".join(f"line {n}\n" for n in range(1, 21))
AFTER = BEFORE.replace("line 2\n", "line two\n").replace("line 18\n", "line eighteen\n")


class PodFiles:
    """An `Executor` whose workspace lives elsewhere: files in memory, every call recorded."""

    kind: ExecutorKind = "kubernetes"
    image: str | None = "img:1"
    shares_host_files = False

    def __init__(self, files: dict[Path, bytes]) -> None:
        self.files = files
        self.calls: list[tuple[str, Path]] = []

    async def run(self, request: CommandRequest) -> CommandResult:
        raise AssertionError("no command runs in these tests")

    async def read_file(self, path: Path) -> bytes:
        self.calls.append(("read", path))
        if path not in self.files:
            raise FileNotFoundError(path)
        return self.files[path]

    async def write_file(self, path: Path, data: bytes) -> None:
        self.calls.append(("write", path))
        self.files[path] = data

    async def list_dir(self, path: Path) -> list[str]:
        self.calls.append(("list", path))
        return sorted({p.relative_to(path).parts[0] for p in self.files if p.is_relative_to(path)})

    async def snapshot(self, root: Path) -> bytes | None:
        return b""

    async def close(self) -> None:
        return None


def remote_world(tmp_path: Path, mode: Any = "agent") -> tuple[World, PodFiles, ToolContext]:
    world = World(tmp_path, mode=mode)
    pod = PodFiles({world.workspace / "notes.txt": BEFORE.encode()})
    # The host tree holds a stale copy: the tools must not read or write it.
    (world.workspace / "notes.txt").write_text("host copy\n")
    world.files = EditorFiles(world.buffers.get, world.client, remote=ExecutorFiles(pod))
    base = world.tool_context(world.turn())
    ctx = ToolContext(
        base.conversation, base.stream, base.gate, base.files, base.turn_files, base.settings, pod
    )
    return world, pod, ctx


def diffs(world: World) -> list[str]:
    return [n.diff for n in world.client.sent if isinstance(n, TurnDiffUpdatedNotification)]


async def test_read_file_and_list_dir_read_the_executors_workspace(tmp_path: Path) -> None:
    world, pod, ctx = remote_world(tmp_path)
    pod.files[world.workspace / "src" / "only_in_pod.py"] = b"print('pod')\n"
    text = await read_file({"path": "notes.txt", "start_line": 2, "end_line": 3}, ctx, "c1")
    assert "line 2" in text and "line 3" in text and "host copy" not in text
    listing = await list_dir({"path": "."}, ctx, "c2")
    assert listing.splitlines()[:2] == ["notes.txt", "src"]
    assert ("list", world.workspace) in pod.calls
    pod.files[world.workspace / "blob.bin"] = b"\x00\x01" * 10
    assert "binary file" in await read_file({"path": "blob.bin"}, ctx, "c3")
    with pytest.raises(ToolFailed, match="does not exist"):
        await read_file({"path": "missing.txt"}, ctx, "c4")


async def test_edit_file_writes_to_the_executor_and_the_turn_diff_is_its_files(
    tmp_path: Path,
) -> None:
    world, pod, ctx = remote_world(tmp_path)
    path = world.workspace / "notes.txt"
    args = {"path": "notes.txt", "old_string": "line 2\n", "new_string": "line two\n"}
    observation = await edit_file_tool(args, ctx, "c1")
    assert "applied" in observation
    assert pod.files[path] == BEFORE.replace("line 2\n", "line two\n").encode()
    assert path.read_text() == "host copy\n"
    assert ("write", path) in pod.calls
    (diff,) = diffs(world)
    assert "-line 2\n+line two\n" in diff and "host copy" not in diff
    created = {"path": "new.txt", "old_string": "", "new_string": "fresh\n"}
    await edit_file_tool(created, ctx, "c2")
    assert pod.files[world.workspace / "new.txt"] == b"fresh\n"
    assert not (world.workspace / "new.txt").exists()
    assert "+fresh" in diffs(world)[-1] and "-line 2" in diffs(world)[-1]


async def test_per_hunk_review_writes_only_the_accepted_hunk_to_the_executor(
    tmp_path: Path,
) -> None:
    world, pod, ctx = remote_world(tmp_path, mode="readOnly")
    path = world.workspace / "notes.txt"
    world.client.answer(
        "approval/fileChange",
        FileChangeApprovalResult("accept", accepted=[HunkSelection(str(path), [1])]),
    )
    patch = (
        "*** Begin Patch\n*** Update File: notes.txt\n@@\n line 1\n-line 2\n+line two\n line 3\n"
        "@@\n line 17\n-line 18\n+line eighteen\n line 19\n*** End Patch"
    )
    observation = await apply_patch_tool({"patch": patch}, ctx, "c1")
    assert "rejected hunks [0]" in observation
    assert pod.files[path] == BEFORE.replace("line 18\n", "line eighteen\n").encode()
    assert world.client.asked_methods() == ["approval/fileChange"]


async def test_a_protected_path_asks_even_in_agent_mode_and_a_decline_writes_nothing(
    tmp_path: Path,
) -> None:
    world, pod, ctx = remote_world(tmp_path)
    world.client.answer("approval/fileChange", FileChangeApprovalResult("decline"))
    args = {"path": ".git/config", "old_string": "", "new_string": "[core]\n"}
    observation = await edit_file_tool(args, ctx, "c1")
    assert "declined" in observation and world.client.asked_methods() == ["approval/fileChange"]
    assert [c for c, _ in pod.calls] == ["read"]
    assert world.workspace / ".git/config" not in pod.files and diffs(world) == []


async def test_delete_and_search_say_to_use_shell(tmp_path: Path) -> None:
    world, pod, ctx = remote_world(tmp_path)
    patch = "*** Begin Patch\n*** Delete File: notes.txt\n*** End Patch"
    observation = await apply_patch_tool({"patch": patch}, ctx, "c1")
    assert "CONFLICT" in observation and "shell" in observation
    assert world.workspace / "notes.txt" in pod.files
    (item,) = [
        i for t in world.conversation.turns for i in t.items if isinstance(i, FileChangeItem)
    ]
    assert item.status == "failed"
    with pytest.raises(ToolFailed, match="grep"):
        await search({"pattern": "line"}, ctx, "c2")


def test_a_turn_routes_its_files_only_when_the_executor_does_not_share_them(
    tmp_path: Path,
) -> None:
    world = World(tmp_path)

    async def model_client() -> ModelClient:
        return FakeModel([]).as_client()

    services = TurnServices(
        settings=world.settings,
        notifier=world.client,
        model_client=model_client,
        tools={},
        read_buffer=world.buffers.get,
        checkpoints=world.checkpoints,
    )
    watcher = WorkspaceWatcher(world.conversation.roots)
    hooks = ThreadHooks(world.conversation, world.client)
    local = ThreadParts(world.conversation, world.gate, watcher, hooks)
    remote = ThreadParts(world.conversation, world.gate, watcher, hooks, PodFiles({}))
    runner = TurnRunner(services, local, "m", [TextInput("hi")], lambda _r: None)
    assert runner.files.remote is None
    runner = TurnRunner(services, remote, "m", [TextInput("hi")], lambda _r: None)
    assert runner.files.remote is not None


async def test_an_executor_without_its_workspace_yet_gives_the_model_a_message(
    tmp_path: Path,
) -> None:
    _world, pod, ctx = remote_world(tmp_path)

    async def not_started(path: Path) -> bytes:
        raise SandboxUnavailable("the thread's Pod is not running yet: run a command first")

    pod.read_file = not_started
    with pytest.raises(ToolFailed, match="run a command first"):
        await read_file({"path": "notes.txt"}, ctx, "c1")


async def test_a_file_changed_in_the_pod_during_the_review_is_not_overwritten(
    tmp_path: Path,
) -> None:
    world, pod, ctx = remote_world(tmp_path, mode="readOnly")
    path = world.workspace / "notes.txt"
    world.client.answer("approval/fileChange", FileChangeApprovalResult("accept"))
    world.client.while_asked = lambda _params: pod.files.update({path: b"changed in the pod\n"})
    args = {"path": "notes.txt", "old_string": "line 2\n", "new_string": "line two\n"}
    observation = await edit_file_tool(args, ctx, "c1")
    assert "CONFLICT" in observation and "changed" in observation
    assert pod.files[path] == b"changed in the pod\n"
