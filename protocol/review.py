"""Reviewing changes: `turn/files` and `review/start` (Tether additions; the findings and
targets are in `protocol.findings`).

`turn/files`: reviewing what one turn changed.

The editor's "Review changes of this turn" shows every file a turn changed, by its edits and by
its commands, side by side: the file before the turn against what the turn left. Both sides
come from the turn's checkpoint (the same record `turn/revert` restores from), so a turn can be
reviewed after a restart, and later edits by the user do not blur what the turn did.
"""

from typing import Literal

from protocol.base import Wire
from protocol.findings import ReviewTarget
from protocol.turn import Turn


class TurnFilesParams(Wire):
    thread_id: str
    turn_id: str


class TurnFile(Wire):
    """One file a turn changed (absolute `path`). `before` is its text before the turn and
    `after` what the turn left; a side is absent when the file did not exist then (`kind`
    "created" / "deleted"), or when it cannot be shown: then `note` says why (a binary or
    large file, a symlink's target, a copy no longer kept)."""

    path: str
    kind: Literal["created", "changed", "deleted"]
    before: str | None = None
    after: str | None = None
    note: str | None = None


class TurnFilesResult(Wire):
    """Every file the turn changed, sorted by path; empty for a turn that changed nothing.
    A file the turn changed and then put back as it was is left out."""

    files: list[TurnFile]


class ReviewStartParams(Wire):
    """`review/start` (a Tether addition): review a change for bugs it introduced. The server
    computes the diff of `target` itself and runs a read-only turn (no edit tools; reads and
    known-safe commands only) whose last item is a `review` item. `delivery` "inline" (the
    default) runs it on the thread; "detached" on a new thread (same workspace, readOnly)."""

    thread_id: str
    target: ReviewTarget
    delivery: Literal["inline", "detached"] = "inline"


class ReviewStartResult(Wire):
    """The review's turn, which streams like any turn, on the thread `reviewThreadId`."""

    turn: Turn
    review_thread_id: str
