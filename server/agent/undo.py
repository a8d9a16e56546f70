"""Undo: `change/revert` (chosen hunks of one fileChange item) and `turn/revert` (everything a
turn changed, through edits or commands, from its checkpoint).

Both leave alone what the user changed since, and say so: a hunk whose own lines are no longer
intact is a conflict (nothing of that request is written); a file the user edited after the turn
is reported in `conflicts` unless the revert is forced.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from protocol.approval import HunkSelection
from protocol.errors import ErrorCode
from protocol.events import ItemUpdatedNotification
from protocol.item import FileChangeItem
from protocol.turn import Turn
from server.agent.client import Notifier
from server.agent.conversation import Conversation
from server.agent.errors import AgentError
from server.agent.files import EditorFiles
from server.agent.gate import Gate
from server.agent.journal import ChangeFileRecord, ChangeRecord
from server.edits.checkpoints import CheckpointStore
from server.edits.diff import Hunk
from server.edits.hunks import revert_hunks
from server.edits.safe_read import NotReadable


@dataclass
class _Plan:
    """One file's revert, computed in full before anything is written."""

    record: ChangeFileRecord
    indexes: list[int]
    text: str | None
    """The file's new content; None deletes it."""
    target: Path


def _hunks(record: ChangeFileRecord) -> list[Hunk]:
    return [
        Hunk(h.index, h.old_start, h.old_lines, h.new_start, h.new_lines, tuple(h.lines))
        for h in record.hunks
    ]


def _plan_file(
    files: EditorFiles, store: CheckpointStore, record: ChangeFileRecord, wanted: list[int] | None
) -> _Plan | None:
    applied = set(record.applied)
    indexes = sorted(applied if wanted is None else set(wanted))
    if not indexes:
        return None
    if not_applied := sorted(set(indexes) - applied):
        raise AgentError(
            ErrorCode.INVALID_PARAMS,
            f"invalid params for change/revert: hunk(s) "
            f"{not_applied} of {record.path} are not applied",
        )
    path = Path(record.path)
    current = files.read(path)
    hunks = _hunks(record)
    if record.kind == "add":
        added = "".join(line[1:] for h in hunks for line in h.lines)
        if current != added:
            raise AgentError(
                ErrorCode.CHANGE_CONFLICT,
                f"{path} changed after it was created; it was left as it is",
            )
        return _Plan(record, indexes, None, path)
    if record.kind == "delete":
        if current is not None:
            raise AgentError(ErrorCode.CHANGE_CONFLICT, f"{path} exists again; not restored")
        return _Plan(record, indexes, "".join(line[1:] for h in hunks for line in h.lines), path)
    if record.old_path is not None and set(indexes) != applied:
        raise AgentError(
            ErrorCode.INVALID_PARAMS,
            f"{record.old_path} was moved to {path}: undo all of its hunks at once",
        )
    if current is None:
        raise AgentError(ErrorCode.CHANGE_CONFLICT, f"{path} no longer exists; nothing to undo")
    written = _blob_text(store, record.written)
    result = revert_hunks(current, hunks, indexes, applied=applied, applied_text=written)
    if result.conflicts:
        why = "; ".join(f"hunk {c.index}: {c.reason}" for c in result.conflicts)
        raise AgentError(
            ErrorCode.CHANGE_CONFLICT, f"cannot undo in {path}: {why}. The file was not changed."
        )
    return _Plan(record, indexes, result.text, Path(record.old_path) if record.old_path else path)


def _blob_text(store: CheckpointStore, digest: str | None) -> str | None:
    if digest is None:
        return None
    try:
        return store.blobs.get(digest).decode("utf-8", errors="surrogateescape")
    except OSError:
        return None  # pruned or damaged: revert_hunks falls back to searching


async def revert_change(
    conversation: Conversation,
    gate: Gate,
    files: EditorFiles,
    store: CheckpointStore,
    notifier: Notifier,
    item_id: str,
    selections: list[HunkSelection] | None,
) -> FileChangeItem:
    found = conversation.find_item(item_id)
    record = conversation.change(item_id)
    if found is None or record is None:
        raise AgentError(
            ErrorCode.INVALID_PARAMS,
            f"invalid params for change/revert: no file change {item_id} in this thread",
        )
    turn, item = found
    wanted: dict[str, list[int]] | None = None
    if selections is not None:
        wanted = {s.path: s.indexes for s in selections}
        known = {f.path for f in record.files} | {f.old_path for f in record.files if f.old_path}
        if unknown := sorted(set(wanted) - known):
            raise AgentError(
                ErrorCode.INVALID_PARAMS,
                f"invalid params for change/revert: {unknown[0]} is not part of {item_id}",
            )
    plans = []
    for f in record.files:
        chosen = None if wanted is None else wanted.get(f.path, wanted.get(f.old_path or "", []))
        if chosen is None or chosen:
            _refuse_unsafe_target(gate, f)
        try:
            plan = _plan_file(files, store, f, chosen)
        except NotReadable as exc:  # a command left a FIFO, a device or a huge file there
            raise AgentError(
                ErrorCode.CHANGE_CONFLICT, f"cannot undo: {exc} The file was not changed."
            ) from None
        if plan is not None:
            plans.append(plan)
    for plan in plans:  # every plan was checked first: all of the request applies, or none
        try:
            await _apply_plan(gate, files, store, plan)
        except OSError as exc:  # a directory swapped for a symlink since the checks
            raise AgentError(
                ErrorCode.CHANGE_CONFLICT, f"{plan.target} could not be restored: {exc}"
            ) from None
    assert isinstance(item, FileChangeItem)
    _mark(item, {(Path(p.record.path), i) for p in plans for i in p.indexes}, record)
    _publish(conversation, notifier, turn, item, record)
    return item


def _refuse_unsafe_target(gate: Gate, record: ChangeFileRecord) -> None:
    """An undo passes the checks a fresh edit of the same paths would (`Gate.clear_undo`)."""
    paths = [record.path] if record.old_path is None else [record.path, record.old_path]
    for path in paths:
        if (why := gate.clear_undo(Path(path))) is not None:
            raise AgentError(ErrorCode.CHANGE_CONFLICT, why)


async def _apply_plan(gate: Gate, files: EditorFiles, store: CheckpointStore, plan: _Plan) -> None:
    target = plan.target
    if plan.text is None:
        files.delete(target, beneath=gate.write_root(target))
        plan.record.written = None
    else:
        await files.write(target, plan.text, beneath=gate.write_root(target))
        plan.record.written = store.blobs.put(plan.text.encode("utf-8", errors="surrogateescape"))
    if target != Path(plan.record.path):
        moved = Path(plan.record.path)
        files.delete(moved, beneath=gate.write_root(moved))
    plan.record.applied = sorted(set(plan.record.applied) - set(plan.indexes))


def revert_turn(
    conversation: Conversation,
    gate: Gate,
    store: CheckpointStore,
    notifier: Notifier,
    turn_id: str,
    force: bool,
) -> tuple[list[str], list[str]]:
    """Undo what a turn that has ended changed (the caller checks that it is not running)."""
    turn = conversation.turn(turn_id)
    if turn is None:
        raise AgentError(ErrorCode.TURN_NOT_RUNNING, f"turn not found: {turn_id}")
    if not store.exists(turn_id):
        return [], []
    restored, conflicts = store.open(turn_id).revert(
        force, refuse=gate.clear_undo, roots=conversation.roots
    )
    restored_paths = {Path(p) for p in restored}
    for item in turn.items:
        record = conversation.change(item.id)
        if not isinstance(item, FileChangeItem) or record is None:
            continue
        undone = {
            (Path(f.path), i)
            for f in record.files
            for i in f.applied
            if Path(f.path) in restored_paths
            or (f.old_path is not None and Path(f.old_path) in restored_paths)
        }
        if not undone:
            continue
        for f in record.files:
            f.applied = [i for i in f.applied if (Path(f.path), i) not in undone]
        _mark(item, undone, record)
        _publish(conversation, notifier, turn, item, record)
    return restored, conflicts


def _mark(item: FileChangeItem, undone: set[tuple[Path, int]], record: ChangeRecord) -> None:
    """Hunk statuses and the item's status after an undo."""
    for change in item.changes:
        path = Path(change.move_path or change.path)
        for hunk in change.hunks:
            if (path, hunk.index) in undone:
                hunk.status = "reverted"
    still_applied = any(f.applied for f in record.files)
    item.status = "partiallyApplied" if still_applied else "reverted"


def _publish(
    conversation: Conversation,
    notifier: Notifier,
    turn: Turn,
    item: FileChangeItem,
    record: ChangeRecord,
) -> None:
    """Record what is applied now and the item's new state, and tell the client."""
    conversation.record_change(record)
    conversation.put_item(turn, item)
    notifier.notify(ItemUpdatedNotification(conversation.id, turn.id, item))
