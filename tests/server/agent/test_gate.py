"""The gate, one call per action, against a scripted client: what runs at once, what asks (and
the request it builds), what is refused, and what the session grants remember."""

from __future__ import annotations

from pathlib import Path

import pytest

from protocol.approval import (
    CommandApprovalParams,
    CommandApprovalResult,
    FileChangeApprovalParams,
    FileChangeApprovalResult,
    FileReadApprovalResult,
)
from protocol.item import CommandExecutionItem, FileChangeItem, ToolCallItem
from server.agent.errors import ToolFailed, TurnCancelled
from server.agent.gate import CommandCleared, Declined, EditsCleared, Gate, Refused
from tests.server.agent.fakes import World


def _command_item(clearance: object) -> CommandExecutionItem:
    item = getattr(clearance, "item")  # noqa: B009 - every outcome carries the item
    assert isinstance(item, CommandExecutionItem)
    return item


async def test_agent_mode_runs_a_command_in_the_workspace_sandbox_without_asking(
    tmp_path: Path,
) -> None:
    world = World(tmp_path, mode="agent")
    stream = world.turn()
    clearance = await world.gate.clear_command(
        stream, "touch made.txt", workdir=None, escalate=False, justification=None
    )
    assert isinstance(clearance, CommandCleared)
    assert clearance.policy.kind == "workspaceWrite"
    assert clearance.policy.roots == (world.workspace,)
    assert clearance.item.sandbox == "workspaceWrite" and clearance.item.launcher == "bwrap"
    assert clearance.item.status == "inProgress" and world.client.asked == []
    assert world.client.methods()[-1] == "item/started"


async def test_read_only_mode_asks_with_the_request_built_from_the_decision(
    tmp_path: Path,
) -> None:
    world = World(tmp_path, mode="readOnly")
    world.client.answer("approval/commandExecution", CommandApprovalResult("accept"))
    stream = world.turn()
    clearance = await world.gate.clear_command(
        stream, "touch made.txt", workdir=None, escalate=False, justification="to test"
    )
    assert isinstance(clearance, CommandCleared)
    (asked,) = world.client.asked
    assert isinstance(asked, CommandApprovalParams)
    assert asked.command == "touch made.txt" and asked.cwd == str(world.workspace)
    assert asked.sandbox == "workspaceWrite" and asked.reason == "to test"
    assert asked.turn_id == stream.turn.id and asked.suggested_rules
    assert asked.escalation is None
    # pending while the user decides, then back in progress; the log keeps both states
    assert world.client.item_statuses("item/updated") == ["pending", "inProgress"]


async def test_a_declined_command_is_completed_as_declined(tmp_path: Path) -> None:
    world = World(tmp_path, mode="readOnly")
    world.client.answer("approval/commandExecution", CommandApprovalResult("decline"))
    clearance = await world.gate.clear_command(
        world.turn(), "touch x", workdir=None, escalate=False, justification=None
    )
    assert isinstance(clearance, Declined)
    assert _command_item(clearance).status == "declined"
    assert world.client.methods()[-1] == "item/completed"


async def test_cancel_at_an_approval_ends_the_turn(tmp_path: Path) -> None:
    world = World(tmp_path, mode="readOnly")
    world.client.answer("approval/commandExecution", CommandApprovalResult("cancel"))
    with pytest.raises(TurnCancelled):
        await world.gate.clear_command(
            world.turn(), "touch x", workdir=None, escalate=False, justification=None
        )


async def test_a_forbid_rule_refuses_without_asking_even_in_full_access(tmp_path: Path) -> None:
    world = World(tmp_path, mode="fullAccess")
    (world.home / "rules.toml").write_text('[[rules]]\nprefix = ["rm"]\ndecision = "forbid"\n')
    clearance = await world.gate.clear_command(
        world.turn(), "rm -rf build", workdir=None, escalate=False, justification=None
    )
    assert isinstance(clearance, Refused) and "not run" in clearance.reason
    assert _command_item(clearance).status == "declined" and world.client.asked == []


async def test_full_access_runs_unsandboxed(tmp_path: Path) -> None:
    world = World(tmp_path, mode="fullAccess")
    clearance = await world.gate.clear_command(
        world.turn(), "touch x", workdir=None, escalate=False, justification=None
    )
    assert isinstance(clearance, CommandCleared)
    assert clearance.item.sandbox == "none" and clearance.item.launcher == "none"
    assert not clearance.policy.sandboxed


async def test_accept_for_session_is_remembered_by_the_thread_gate_and_its_variants(
    tmp_path: Path,
) -> None:
    world = World(tmp_path, mode="readOnly")
    world.client.answer(
        "approval/commandExecution", CommandApprovalResult("acceptForSession", rule=["touch"])
    )
    stream = world.turn()
    for _ in range(2):
        clearance = await world.gate.clear_command(
            stream, "touch a", workdir=None, escalate=False, justification=None
        )
        assert isinstance(clearance, CommandCleared)
    assert len(world.client.asked) == 1

    class Stricter(Gate):
        pass

    variant = world.gate.variant(Stricter)
    assert isinstance(
        await variant.clear_command(
            stream, "touch b", workdir=None, escalate=False, justification=None
        ),
        CommandCleared,
    )
    assert len(world.client.asked) == 1
    # A gate of another thread knows nothing of this one's grants.
    (tmp_path / "other").mkdir()
    other = World(tmp_path / "other", mode="readOnly")
    other.client.answer("approval/commandExecution", CommandApprovalResult("decline"))
    assert isinstance(
        await other.gate.clear_command(
            other.turn(), "touch a", workdir=None, escalate=False, justification=None
        ),
        Declined,
    )


async def test_a_workdir_outside_the_workspace_is_a_tool_failure(tmp_path: Path) -> None:
    world = World(tmp_path, mode="agent")
    with pytest.raises(ToolFailed, match="outside the workspace"):
        await world.gate.clear_command(
            world.turn(), "ls", workdir=str(tmp_path), escalate=False, justification=None
        )


async def test_reading_outside_the_roots_asks_and_accept_for_session_covers_the_directory(
    tmp_path: Path,
) -> None:
    world = World(tmp_path, mode="agent")
    outside = tmp_path / "notes"
    outside.mkdir()
    (outside / "a.txt").write_text("a")
    (outside / "b.txt").write_text("b")
    (world.workspace / "in.txt").write_text("in")
    world.client.answer("approval/fileRead", FileReadApprovalResult("acceptForSession"))
    stream = world.turn()
    item = ToolCallItem(id="i1", tool="read_file", arguments={}, status="inProgress")
    stream.started(item)
    assert await world.gate.clear_read(stream, item, "in.txt") == world.workspace / "in.txt"
    assert world.client.asked == []
    assert await world.gate.clear_read(stream, item, str(outside / "a.txt")) == outside / "a.txt"
    assert await world.gate.clear_read(stream, item, str(outside / "b.txt")) == outside / "b.txt"
    assert world.client.asked_methods() == ["approval/fileRead"]


async def test_secrets_are_neither_read_nor_written(tmp_path: Path) -> None:
    world = World(tmp_path, mode="agent")
    secret = world.home / "config.toml"  # TETHER_HOME holds Tether's keys
    secret.write_text("api_key = 'x'")
    stream = world.turn()
    item = ToolCallItem(id="i1", tool="read_file", arguments={}, status="inProgress")
    with pytest.raises(ToolFailed, match="secret"):
        await world.gate.clear_read(stream, item, str(secret))
    with pytest.raises(ToolFailed, match="secret"):
        world.gate.clear_write(str(secret))


async def test_file_changes_ask_in_read_only_mode_until_accepted_for_the_session(
    tmp_path: Path,
) -> None:
    world = World(tmp_path, mode="readOnly")
    world.client.answer(
        "approval/fileChange",
        FileChangeApprovalResult("acceptForSession"),
        FileChangeApprovalResult("accept"),
    )
    stream = world.turn()
    item = FileChangeItem(id="c1", status="inProgress", changes=[])
    stream.started(item)
    path = world.workspace / "a.py"
    assert await world.gate.clear_file_change(stream, item, [path]) == EditsCleared(None)
    (asked,) = world.client.asked
    assert isinstance(asked, FileChangeApprovalParams) and "hunk by hunk" in (asked.reason or "")
    assert await world.gate.clear_file_change(stream, item, [path]) == EditsCleared(None)
    assert len(world.client.asked) == 1
    # A protected path still asks after the session grant.
    git = world.workspace / ".git"
    git.mkdir()
    assert await world.gate.clear_file_change(stream, item, [git / "config"]) == EditsCleared(None)
    assert len(world.client.asked) == 2
    again = world.client.asked[1]
    assert isinstance(again, FileChangeApprovalParams) and "protected" in (again.reason or "")


async def test_agent_mode_applies_edits_at_once_and_a_decline_is_reported(tmp_path: Path) -> None:
    world = World(tmp_path, mode="agent")
    stream = world.turn()
    item = FileChangeItem(id="c1", status="inProgress", changes=[])
    stream.started(item)
    assert await world.gate.clear_file_change(
        stream, item, [world.workspace / "a.py"]
    ) == EditsCleared(None)
    outside = tmp_path / "elsewhere.py"
    world.client.answer("approval/fileChange", FileChangeApprovalResult("decline"))
    assert await world.gate.clear_file_change(stream, item, [outside]) == Declined(item)


def test_undo_needs_full_access_outside_the_workspace(tmp_path: Path) -> None:
    world = World(tmp_path, mode="agent")
    inside, outside = world.workspace / "a.py", tmp_path / "b.py"
    assert world.gate.clear_undo(inside) is None
    assert "outside the workspace" in (world.gate.clear_undo(outside) or "")
    world.conversation.set_mode("fullAccess")
    assert world.gate.clear_undo(outside) is None
    assert world.gate.write_root(inside) == world.workspace
    assert world.gate.write_root(outside) == Path("/")
