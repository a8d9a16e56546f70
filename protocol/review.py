"""Reviewing what one turn changed: `turn/files` (a Tether addition).

The editor's "Review changes of this turn" shows every file a turn changed, by its edits and by
its commands, side by side: the file before the turn against what the turn left. Both sides
come from the turn's checkpoint (the same record `turn/revert` restores from), so a turn can be
reviewed after a restart, and later edits by the user do not blur what the turn did.
"""

from typing import Literal

from protocol.base import Wire


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
