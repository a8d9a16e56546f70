"""`turn/files`: every file one turn changed, before the turn and as the turn left it, the
changes of the sub-agents it spawned included (a file both touched: before the first, after the
last).

Both sides are read from the turn's checkpoint (`server.edits.checkpoints`) and its blob store,
never from the workspace: the review shows what the turn did even after the user edited on, and
it reads nothing the checkpoint did not already keep (secrets never enter it). A side the store
cannot give as text (a binary or large file, a special file, a copy pruned since) comes back
absent with a note instead.
"""

from __future__ import annotations

from pathlib import Path

from protocol.errors import ErrorCode
from protocol.item import SubagentItem
from protocol.review import TurnFile, TurnFilesResult
from protocol.turn import Turn
from server.agent.service import Agent, AgentError
from server.edits.blobs import BlobError
from server.edits.checkpoints import ChangeKind, CheckpointStore, FileState

SHOWN_BYTES_CAP = 2_000_000
"""A side larger than this is not sent (the turn diff's cap per file, `turn_files`)."""


def turn_files(agent: Agent, thread_id: str, turn_id: str) -> TurnFilesResult:
    _thread, turns = agent.read_thread(thread_id)  # THREAD_NOT_FOUND
    if not any(t.id == turn_id for t in turns):
        raise AgentError(
            ErrorCode.TURN_NOT_RUNNING, f"turn not found on thread {thread_id}: {turn_id}"
        )
    store = agent.checkpoints
    checkpoints = [store.open(t) for t in _with_children(agent, turns, turn_id) if store.exists(t)]
    files: list[TurnFile] = []
    changed: dict[str, ChangeKind] = {p: k for c in checkpoints for p, k in c.changes().items()}
    for path, kind in changed.items():
        sides = [
            (e.before, e.after or store.capture(Path(path)))  # None: the turn was cut short
            for c in checkpoints
            if (e := c.data.entries.get(path)) is not None
        ]
        # Chained by content: the first before no side left, the last after none started from.
        before = next((b for b, _ in sides if not any(b.same_as(a) for _, a in sides)), sides[0][0])
        after = next((a for _, a in sides if not any(a.same_as(b) for b, _ in sides)), sides[-1][1])
        if len(sides) > 1:
            if before.same_as(after):  # put back as it was
                continue
            kind = _kind(before, after)
        before_text, before_note = _side(store, before)
        after_text, after_note = _side(store, after)
        files.append(
            TurnFile(
                path=path,
                kind=kind,
                before=before_text,
                after=after_text,
                note=before_note or after_note,
            )
        )
    return TurnFilesResult(files=files)


def _kind(before: FileState, after: FileState) -> ChangeKind:
    return "created" if not before.exists else "deleted" if not after.exists else "changed"


def _with_children(agent: Agent, turns: list[Turn], turn_id: str) -> list[str]:
    """The turn, then the turns of the sub-agents it spawned in its workspace, at every depth
    (a worktree child's changes came back as the turn's own fileChange)."""
    turn = next(t for t in turns if t.id == turn_id)
    found = [turn_id]
    for item in turn.items:
        if isinstance(item, SubagentItem) and item.isolation is None:
            try:
                _thread, child_turns = agent.read_thread(item.agent_thread_id)
            except AgentError:  # its log is gone
                continue
            for child_turn in item.agent_turn_ids:
                if any(t.id == child_turn for t in child_turns):
                    found += _with_children(agent, child_turns, child_turn)
    return found


def _side(store: CheckpointStore, state: FileState) -> tuple[str | None, str | None]:
    """(text, None), or (None, why it is not shown); (None, None) for an absent file."""
    if not state.exists:
        return None, None
    if state.link is not None:
        return None, f"a symlink (to {state.link})"
    if state.digest is None or not store.blobs.has(state.digest):
        return None, "its content was not kept (a special, large or unreadable file)"
    try:
        data = store.blobs.get(state.digest)
    except BlobError as exc:
        return None, str(exc)
    if len(data) > SHOWN_BYTES_CAP or b"\x00" in data[:8192]:
        return None, "a binary or large file"
    return data.decode("utf-8", errors="replace"), None
