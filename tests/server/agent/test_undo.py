"""Undo (`change/revert`, `turn/revert`) of edits the real `changes` path applied: chosen hunks
or all, the client told, and what the user changed since (or a path the mode may not write)
left alone with a -32005 conflict."""

from __future__ import annotations

from pathlib import Path

import pytest

from protocol.approval import HunkSelection
from protocol.errors import ErrorCode
from protocol.item import FileChangeItem
from server.agent.changes import review_and_apply
from server.agent.errors import AgentError
from server.agent.undo import revert_change, revert_turn
from server.edits.patch import FileEdit
from tests.server.agent.fakes import World

BEFORE = "".join(f"line {n}\n" for n in range(1, 21))
AFTER = BEFORE.replace("line 2\n", "line two\n").replace("line 18\n", "line eighteen\n")


async def _applied(world: World, path: Path) -> tuple[str, str]:
    """Apply BEFORE -> AFTER to `path` in a turn of its own; its (turn id, item id)."""
    path.write_text(BEFORE)
    stream = world.turn()
    ctx = world.tool_context(stream)
    await review_and_apply(ctx, [FileEdit(str(path), BEFORE, AFTER)])
    stream.turn_completed()
    (item,) = [i for i in stream.turn.items if isinstance(i, FileChangeItem)]
    return stream.turn.id, item.id


async def test_reverting_one_hunk_leaves_the_other_and_tells_the_client(tmp_path: Path) -> None:
    world = World(tmp_path)
    path = world.workspace / "notes.txt"
    _turn, item_id = await _applied(world, path)
    item = await revert_change(
        world.conversation,
        world.gate,
        world.files,
        world.checkpoints,
        world.client,
        item_id,
        [HunkSelection(str(path), [0])],
    )
    assert path.read_text() == BEFORE.replace("line 18\n", "line eighteen\n")
    assert item.status == "partiallyApplied"
    assert [h.status for h in item.changes[0].hunks] == ["reverted", "applied"]
    assert world.client.wire[-1]["method"] == "item/updated"
    record = world.conversation.change(item_id)
    assert record is not None and record.files[0].applied == [1]


async def test_reverting_all_restores_the_file(tmp_path: Path) -> None:
    world = World(tmp_path)
    path = world.workspace / "notes.txt"
    _turn, item_id = await _applied(world, path)
    args = (world.conversation, world.gate, world.files, world.checkpoints, world.client)
    item = await revert_change(*args, item_id, None)
    assert path.read_text() == BEFORE and item.status == "reverted"
    with pytest.raises(AgentError) as again:  # nothing left applied to undo
        await revert_change(*args, item_id, [HunkSelection(str(path), [0])])
    assert again.value.code == ErrorCode.INVALID_PARAMS


async def test_a_hunk_the_user_changed_since_is_a_conflict_and_nothing_is_written(
    tmp_path: Path,
) -> None:
    world = World(tmp_path)
    path = world.workspace / "notes.txt"
    _turn, item_id = await _applied(world, path)
    users = AFTER.replace("line two\n", "line two, edited\n")
    path.write_text(users)
    with pytest.raises(AgentError) as conflict:
        await revert_change(
            world.conversation,
            world.gate,
            world.files,
            world.checkpoints,
            world.client,
            item_id,
            None,
        )
    assert conflict.value.code == ErrorCode.CHANGE_CONFLICT
    assert path.read_text() == users


async def test_an_undo_outside_the_workspace_needs_full_access(tmp_path: Path) -> None:
    world = World(tmp_path, mode="fullAccess")
    path = tmp_path / "outside.txt"
    _turn, item_id = await _applied(world, path)
    world.conversation.set_mode("agent")
    args = (world.conversation, world.gate, world.files, world.checkpoints, world.client)
    with pytest.raises(AgentError) as refused:
        await revert_change(*args, item_id, None)
    assert refused.value.code == ErrorCode.CHANGE_CONFLICT
    assert "outside the workspace" in refused.value.message and path.read_text() == AFTER
    world.conversation.set_mode("fullAccess")
    await revert_change(*args, item_id, None)
    assert path.read_text() == BEFORE


async def test_turn_revert_restores_the_turn_and_marks_its_items(tmp_path: Path) -> None:
    world = World(tmp_path)
    path = world.workspace / "notes.txt"
    turn_id, item_id = await _applied(world, path)
    restored, conflicts = revert_turn(
        world.conversation, world.gate, world.checkpoints, world.client, turn_id, False
    )
    assert restored == [str(path)] and conflicts == []
    assert path.read_text() == BEFORE
    found = world.conversation.find_item(item_id)
    assert found is not None and isinstance(found[1], FileChangeItem)
    assert found[1].status == "reverted"
    with pytest.raises(AgentError) as unknown:
        revert_turn(world.conversation, world.gate, world.checkpoints, world.client, "t_x", False)
    assert unknown.value.code == ErrorCode.TURN_NOT_RUNNING
