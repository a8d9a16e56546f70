"""An edit's way to disk (`changes.review_and_apply`) against a scripted client: applied at once
or hunk by hunk as the user chose, declined, merged onto the user's edit made meanwhile, or left
alone as a conflict; the change record keeps what was applied, for undo."""

from __future__ import annotations

from pathlib import Path

from protocol.approval import FileChangeApprovalResult, HunkSelection
from protocol.item import FileChangeItem
from server.agent.changes import review_and_apply
from server.edits.patch import FileEdit
from tests.server.agent.fakes import World

BEFORE = "".join(f"line {n}\n" for n in range(1, 21))
"""Twenty lines: edits of line 2 and of line 18 are two hunks."""
AFTER = BEFORE.replace("line 2\n", "line two\n").replace("line 18\n", "line eighteen\n")


def _file(world: World, text: str = BEFORE) -> Path:
    path = world.workspace / "notes.txt"
    path.write_text(text)
    return path


def _item(world: World) -> FileChangeItem:
    (item,) = [
        i for t in world.conversation.turns for i in t.items if isinstance(i, FileChangeItem)
    ]
    return item


async def test_agent_mode_applies_every_hunk_and_records_them(tmp_path: Path) -> None:
    world = World(tmp_path, mode="agent")
    path = _file(world)
    ctx = world.tool_context(world.turn())
    observation = await review_and_apply(ctx, [FileEdit(str(path), BEFORE, AFTER)])
    assert path.read_text() == AFTER and "applied" in observation
    item = _item(world)
    assert item.status == "applied" and world.client.asked == []
    record = world.conversation.change(item.id)
    assert record is not None and record.files[0].applied == [0, 1]
    assert "turn/diff/updated" in world.client.methods()


async def test_read_only_mode_writes_only_the_hunks_the_user_accepted(tmp_path: Path) -> None:
    world = World(tmp_path, mode="readOnly")
    path = _file(world)
    world.client.answer(
        "approval/fileChange",
        FileChangeApprovalResult("accept", accepted=[HunkSelection(str(path), [1])]),
    )
    ctx = world.tool_context(world.turn())
    observation = await review_and_apply(ctx, [FileEdit(str(path), BEFORE, AFTER)])
    assert path.read_text() == BEFORE.replace("line 18\n", "line eighteen\n")
    item = _item(world)
    assert item.status == "partiallyApplied"
    assert [h.status for h in item.changes[0].hunks] == ["rejected", "applied"]
    assert "rejected hunks [0]" in observation


async def test_a_declined_change_writes_nothing(tmp_path: Path) -> None:
    world = World(tmp_path, mode="readOnly")
    path = _file(world)
    world.client.answer("approval/fileChange", FileChangeApprovalResult("decline"))
    ctx = world.tool_context(world.turn())
    observation = await review_and_apply(ctx, [FileEdit(str(path), BEFORE, AFTER)])
    assert path.read_text() == BEFORE and "declined" in observation
    assert _item(world).status == "declined"
    assert world.conversation.change(_item(world).id) is None


async def test_the_users_edit_made_while_deciding_is_kept(tmp_path: Path) -> None:
    world = World(tmp_path, mode="readOnly")
    path = _file(world)
    users = BEFORE.replace("line 10\n", "line ten (mine)\n")

    world.client.while_asked = lambda _params: (path.write_text(users), None)[1]
    world.client.answer("approval/fileChange", FileChangeApprovalResult("accept"))
    ctx = world.tool_context(world.turn())
    await review_and_apply(ctx, [FileEdit(str(path), BEFORE, AFTER)])
    assert path.read_text() == AFTER.replace("line 10\n", "line ten (mine)\n")
    assert _item(world).status == "applied"


async def test_a_file_changed_under_the_hunk_is_a_conflict_left_alone(tmp_path: Path) -> None:
    world = World(tmp_path, mode="agent")
    path = _file(world, BEFORE.replace("line 2\n", "line 2 (theirs)\n"))
    ctx = world.tool_context(world.turn())
    edit = FileEdit(str(path), BEFORE, BEFORE.replace("line 2\n", "line two\n"))
    observation = await review_and_apply(ctx, [edit])
    assert path.read_text() == BEFORE.replace("line 2\n", "line 2 (theirs)\n")
    assert observation.startswith("CONFLICT") and _item(world).status == "failed"


async def test_a_new_file_is_added_whole(tmp_path: Path) -> None:
    world = World(tmp_path, mode="agent")
    path = world.workspace / "new.txt"
    ctx = world.tool_context(world.turn())
    await review_and_apply(ctx, [FileEdit(str(path), None, "hello\n")])
    assert path.read_text() == "hello\n" and _item(world).status == "applied"
