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
