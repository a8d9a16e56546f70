"""Item notifications: the stream a client renders while a turn runs (PROTOCOL.md §4)."""

from typing import Literal

from protocol.base import Wire
from protocol.item import Item


class ItemNotification(Wire):
    """`item/started`, `item/updated` and `item/completed` (the last is authoritative)."""

    thread_id: str
    turn_id: str
    item: Item
    seq: int | None = None
    """Per-turn sequence number, 1 at `turn/started`; a gap means a lost notification."""


class ItemDeltaNotification(Wire):
    """`item/agentMessage/delta` and `item/reasoning/delta`: their concatenation is the final
    text."""

    thread_id: str
    turn_id: str
    item_id: str
    delta: str
    seq: int | None = None
    """Per-turn sequence number, 1 at `turn/started`; a gap means a lost notification."""


class CommandOutputDeltaNotification(Wire):
    thread_id: str
    turn_id: str
    item_id: str
    stream: Literal["stdout", "stderr"]
    chunk: str
    seq: int | None = None
    """Per-turn sequence number, 1 at `turn/started`; a gap means a lost notification."""


class ItemDiscardedNotification(Wire):
    """`item/discarded` (a Tether addition): an item streamed from a model call that then failed
    (the call is retried or the turn fails); the client drops it, and `thread/read` no longer
    has it."""

    thread_id: str
    turn_id: str
    item_id: str
    reason: str
    seq: int | None = None
    """Per-turn sequence number, 1 at `turn/started`; a gap means a lost notification."""
