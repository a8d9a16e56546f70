"""Undo of an applied change, hunk by hunk (the "Undo" of an inline diff)."""

from protocol.approval import HunkSelection
from protocol.base import Wire
from protocol.item import Item


class ChangeRevertParams(Wire):
    thread_id: str
    item_id: str
    hunks: list[HunkSelection] | None = None


class ChangeRevertResult(Wire):
    item: Item


class ChangeProposeParams(Wire):
    """A code block from a reply, proposed as an edit of `path` (the chat's "Apply").

    `content` is the block's text. For a file that does not exist (or is empty) it is the new
    file. Otherwise the server merges it into the file: each top-level unit of the block (a line
    at its outermost indentation with the deeper lines below it) replaces the file's unit that
    starts with the same line or declares the same name; units found nowhere are inserted after
    the unit before them; when no unit is found, `content` replaces the whole file. The result
    starts a turn of its own that proposes the edit for review per hunk, in every mode."""

    thread_id: str
    path: str
    content: str
