"""A proposed edit's way to disk: diff, review (per hunk when the mode asks), apply, record.

The tools (`apply_patch`, `edit_file`) compute new file contents; this module turns them into a
`fileChange` item the user sees at once, has the gate clear it (`Gate.clear_file_change` asks
when the mode says so), writes only the accepted hunks, and keeps the exact hunks so
`change/revert` can undo them later. If the file changed while the user was deciding, the
accepted hunks are merged onto the new content, or the file is reported as a conflict and left
alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from protocol.item import FileChange, FileChangeItem, HunkStatus
from protocol.item import Hunk as WireHunk
from server.agent.gate import Declined
from server.agent.ids import new_id
from server.agent.journal import ChangeFileRecord, ChangeRecord, HunkRecord
from server.agent.tools.base import ToolContext
from server.edits.diff import FileDiff, diff_file
from server.edits.hunks import rebase_change
from server.edits.patch import FileEdit


@dataclass
class FileOutcome:
    """What happened to one file of a change; kept per item for `change/revert`."""

    path: Path
    old_path: Path | None
    base: str | None
    diff: FileDiff
    applied: set[int] = field(default_factory=set)
    conflict: str | None = None
    written: str | None = None
    """Blob digest of the text written, for exact undo."""


def to_wire(fd: FileDiff, statuses: dict[int, HunkStatus] | None = None) -> FileChange:
    hunks = [
        WireHunk(
            index=h.index,
            old_start=h.old_start,
            old_lines=h.old_lines,
            new_start=h.new_start,
            new_lines=h.new_lines,
            lines=h.wire_lines(),
            status=(statuses or {}).get(h.index, "pending"),
        )
        for h in fd.hunks
    ]
    if fd.old_path is not None:
        return FileChange(
            path=fd.old_path, kind="update", diff=fd.diff, hunks=hunks, move_path=fd.path
        )
    return FileChange(path=fd.path, kind=fd.kind, diff=fd.diff, hunks=hunks)


async def review_and_apply(ctx: ToolContext, edits: list[FileEdit]) -> str:
    """Show, approve and apply `edits` (absolute paths); the observation for the model."""
    roots = [str(r) for r in ctx.conversation.roots]
    outcomes = [_outcome(e, roots) for e in edits]
    outcomes = [o for o in outcomes if o.diff.hunks or o.diff.kind != "update" or o.old_path]
    if not outcomes:
        return "The edit changes nothing: the new content equals the current content."
    item = FileChangeItem(
        id=new_id("item"), status="inProgress", changes=[to_wire(o.diff) for o in outcomes]
    )
    ctx.stream.started(item)
    clearance = await ctx.gate.clear_file_change(
        ctx.stream, item, [o.path for o in outcomes] + [o.old_path for o in outcomes if o.old_path]
    )
    if isinstance(clearance, Declined):
        _finish(ctx, item, outcomes, "declined")
        return (
            "The user declined this change; nothing was written. Ask what they want "
            "instead of trying the same edit again."
        )
    accepted = {o.path: {h.index for h in o.diff.hunks} for o in outcomes}
    if clearance.accepted is not None:
        chosen = {Path(s.path): set(s.indexes) for s in clearance.accepted}
        accepted = {
            o.path: chosen.get(o.path, chosen.get(o.old_path or o.path, set())) for o in outcomes
        }
    for o in outcomes:
        await _write(ctx, o, accepted[o.path])
    ctx.conversation.record_change(change_record(item.id, outcomes))
    status = _finish(ctx, item, outcomes, None)
    ctx.stream.diff_updated(ctx.turn_files.diff())
    return _observation(outcomes, status)


def change_record(item_id: str, outcomes: list[FileOutcome]) -> ChangeRecord:
    """The exact hunks each file got, kept in the thread's log for `change/revert`."""
    return ChangeRecord(
        item_id,
        [
            ChangeFileRecord(
                path=str(o.path),
                old_path=str(o.old_path) if o.old_path else None,
                kind=o.diff.kind,
                hunks=[
                    HunkRecord(
                        h.index, h.old_start, h.old_lines, h.new_start, h.new_lines, list(h.lines)
                    )
                    for h in o.diff.hunks
                ],
                applied=sorted(o.applied),
                written=o.written,
            )
            for o in outcomes
        ],
    )


def _outcome(edit: FileEdit, roots: list[str]) -> FileOutcome:
    fd = diff_file(edit.path, edit.old_text, edit.new_text, old_path=edit.old_path, roots=roots)
    return FileOutcome(
        Path(edit.path), Path(edit.old_path) if edit.old_path else None, edit.old_text, fd
    )


async def _write(ctx: ToolContext, o: FileOutcome, chosen: set[int]) -> None:
    """Write the chosen hunks of one file, merging onto user edits made meanwhile."""
    if not chosen:
        return
    files = ctx.files
    source = o.old_path or o.path
    try:
        current = files.read(source)
    except OSError as exc:  # swapped for a FIFO or grown too large since it was read
        o.conflict = f"{source} could not be read again before writing: {exc}"
        return
    kind = o.diff.kind
    if kind == "add":
        if current is not None:
            o.conflict = f"{o.path} was created by someone else meanwhile; left as it is."
            return
        text: str | None = apply_all(o, chosen)
    elif current is None:
        o.conflict = f"{source} was deleted meanwhile; the change was not applied."
        return
    elif kind == "delete":
        if current != o.base:
            o.conflict = f"{source} changed after the model read it; not deleted."
            return
        text = None
    else:
        result = rebase_change(o.base or "", o.diff.hunks, current, chosen)
        if result.conflicts:
            o.conflict = (
                f"{source} changed under the edit ("
                + "; ".join(c.reason for c in result.conflicts)
                + "); nothing was written to it."
            )
            return
        text = result.text
    try:
        ctx.turn_files.before_write(source)
        if o.old_path is not None:
            ctx.turn_files.before_write(o.path)
        if text is None:
            files.delete(source, beneath=ctx.gate.write_root(source))
        else:
            await files.write(o.path, text, beneath=ctx.gate.write_root(o.path))
            o.written = ctx.turn_files.keep_text(text)
            if o.old_path is not None:
                files.delete(o.old_path, beneath=ctx.gate.write_root(o.old_path))
        ctx.turn_files.after_write(source)
        if o.old_path is not None:
            ctx.turn_files.after_write(o.path)
    except OSError as exc:
        o.conflict = f"{o.path} could not be written: {exc}"
        return
    o.applied = set(chosen)


def apply_all(o: FileOutcome, chosen: set[int]) -> str:
    """An added file is one hunk: all of it or nothing."""
    return "".join(
        line[1:]
        for h in o.diff.hunks
        if h.index in chosen
        for line in h.lines
        if line.startswith("+")
    )


def _finish(
    ctx: ToolContext, item: FileChangeItem, outcomes: list[FileOutcome], forced: str | None
) -> str:
    changes: list[FileChange] = []
    for o in outcomes:
        statuses: dict[int, HunkStatus] = {
            h.index: ("applied" if h.index in o.applied else "rejected") for h in o.diff.hunks
        }
        changes.append(to_wire(o.diff, statuses))
    item.changes = changes
    total = sum(len(o.diff.hunks) for o in outcomes)
    done = sum(len(o.applied) for o in outcomes)
    conflicts = [o.conflict for o in outcomes if o.conflict]
    if forced is not None:
        item.status = forced  # type: ignore[assignment]
    elif done == 0:
        item.status = "failed" if conflicts else "declined"
    else:
        item.status = "applied" if done == total else "partiallyApplied"
    if conflicts:
        item.reason = " ".join(conflicts)
    ctx.stream.completed(item)
    return item.status


def _observation(outcomes: list[FileOutcome], status: str) -> str:
    lines: list[str] = []
    for o in outcomes:
        name = f"{o.old_path} -> {o.path}" if o.old_path else str(o.path)
        total = len(o.diff.hunks)
        if o.conflict:
            lines.append(f"CONFLICT {name}: {o.conflict}")
        elif len(o.applied) == total:
            lines.append(f"{o.diff.kind} {name}: applied")
        else:
            rejected = sorted({h.index for h in o.diff.hunks} - o.applied)
            lines.append(
                f"{o.diff.kind} {name}: applied {len(o.applied)} of {total} hunks; the "
                f"user rejected hunks {rejected}: do not re-apply them unless asked"
            )
    if status in ("failed",):
        lines.append(
            "Nothing was written. Read the files again and redo the edit on their current content."
        )
    return "\n".join(lines)
