"""`turn/files`: every file one turn changed, before the turn and as the turn left it.

Both sides are read from the turn's checkpoint (`server.edits.checkpoints`) and its blob store,
never from the workspace: the review shows what the turn did even after the user edited on, and
it reads nothing the checkpoint did not already keep (secrets never enter it). A side the store
cannot give as text (a binary or large file, a special file, a copy pruned since) comes back
absent with a note instead.
"""

from __future__ import annotations

from pathlib import Path

from protocol.errors import ErrorCode
from protocol.review import TurnFile, TurnFilesResult
from server.agent.service import Agent, AgentError
from server.edits.blobs import BlobError
from server.edits.checkpoints import CheckpointStore, FileState

SHOWN_BYTES_CAP = 2_000_000
"""A side larger than this is not sent (the turn diff's cap per file, `turn_files`)."""


def turn_files(agent: Agent, thread_id: str, turn_id: str) -> TurnFilesResult:
    _thread, turns = agent.read_thread(thread_id)  # THREAD_NOT_FOUND
    if not any(t.id == turn_id for t in turns):
        raise AgentError(
            ErrorCode.TURN_NOT_RUNNING, f"turn not found on thread {thread_id}: {turn_id}"
        )
    store = agent.checkpoints
    if not store.exists(turn_id):  # the turn wrote nothing
        return TurnFilesResult(files=[])
    checkpoint = store.open(turn_id)
    files: list[TurnFile] = []
    for path, kind in checkpoint.changes().items():
        entry = checkpoint.data.entries[path]
        after = entry.after or store.capture(Path(path))  # None: the turn was cut short
        before_text, before_note = _side(store, entry.before)
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
