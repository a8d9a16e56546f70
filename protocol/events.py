"""Item notifications: the stream a client renders while a turn runs (PROTOCOL.md §4)."""

from typing import Literal

from protocol.base import Notification
from protocol.item import Item


class ItemNotification(Notification):
    """The shape of `item/started`, `item/updated` and `item/completed` (the last is
    authoritative)."""

    thread_id: str
    turn_id: str
    item: Item
    seq: int | None = None
    """Per-turn sequence number, 1 at `turn/started`; a gap means a lost notification."""


class ItemDeltaNotification(Notification):
    """The shape of `item/agentMessage/delta` and `item/reasoning/delta`: their concatenation
    is the final text."""

    thread_id: str
    turn_id: str
    item_id: str
    delta: str
    seq: int | None = None
    """Per-turn sequence number, 1 at `turn/started`; a gap means a lost notification."""


class ItemStartedNotification(ItemNotification):
    """`item/started`: an item joined the turn."""

    METHOD = "item/started"


class ItemUpdatedNotification(ItemNotification):
    """`item/updated`: a state change of a running item (a pending approval, a hunk status)."""

    METHOD = "item/updated"


class ItemCompletedNotification(ItemNotification):
    """`item/completed`: the item's final state, authoritative."""

    METHOD = "item/completed"


class AgentMessageDeltaNotification(ItemDeltaNotification):
    """`item/agentMessage/delta`: the next piece of the agent's message."""

    METHOD = "item/agentMessage/delta"


class ReasoningDeltaNotification(ItemDeltaNotification):
    """`item/reasoning/delta`: the next piece of the model's reasoning summary."""

    METHOD = "item/reasoning/delta"


class CommandOutputDeltaNotification(Notification):
    """`item/commandExecution/outputDelta`: the next chunk of a command's output."""

    METHOD = "item/commandExecution/outputDelta"

    thread_id: str
    turn_id: str
    item_id: str
    stream: Literal["stdout", "stderr"]
    chunk: str
    seq: int | None = None
    """Per-turn sequence number, 1 at `turn/started`; a gap means a lost notification."""


class ItemDiscardedNotification(Notification):
    """`item/discarded` (a Tether addition): an item streamed from a model call that then failed
    (the call is retried or the turn fails); the client drops it, and `thread/read` no longer
    has it."""

    METHOD = "item/discarded"

    thread_id: str
    turn_id: str
    item_id: str
    reason: str
    seq: int | None = None
    """Per-turn sequence number, 1 at `turn/started`; a gap means a lost notification."""
