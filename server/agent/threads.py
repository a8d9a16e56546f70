"""Threads in memory and on disk: creating, finding, listing and rebuilding them from their logs.

A thread in memory is its `Conversation`; what else lives per thread (the gate and its session
grants, the workspace watcher, a running turn) the `Agent` keeps (`service.py`).
"""

from __future__ import annotations

from pathlib import Path

import msgspec

from protocol.base import Mode
from protocol.item import (
    AgentMessageItem,
    CommandExecutionItem,
    Item,
    ReasoningItem,
    SubagentItem,
    UserInput,
    UserMessageItem,
)
from protocol.thread import Thread
from protocol.turn import Turn
from server.agent.conversation import Conversation, title_of
from server.agent.history import Entry
from server.agent.ids import new_id, now_ms
from server.agent.journal import (
    ChangeRecord,
    DeltaRecord,
    DiscardRecord,
    EntryRecord,
    ItemRecord,
    Journal,
    ThreadRecord,
    TurnRecord,
    read_records,
    session_path,
)


class ThreadManager:
    """All threads of this TETHER_HOME; loads a thread's log the first time it is asked for."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self._threads: dict[str, Conversation] = {}

    def create(self, cwd: Path, roots: list[Path], mode: Mode, model: str) -> Conversation:
        at = now_ms()
        thread = Thread(
            id=new_id("thr"),
            cwd=str(cwd),
            roots=[str(r) for r in roots],
            mode=mode,
            model=model,
            status="idle",
            created_at=at,
            updated_at=at,
        )
        conversation = Conversation(thread, Journal(session_path(self.home, thread.id)))
        conversation.log_metadata()
        self._threads[thread.id] = conversation
        return conversation

    def get(self, thread_id: str) -> Conversation | None:
        if (state := self._threads.get(thread_id)) is not None:
            return state
        path = session_path(self.home, thread_id)
        if "/" in thread_id or not path.is_file():
            return None
        state = load_thread(path)
        if state is not None:
            self._threads[thread_id] = state
        return state

    def all_threads(self) -> list[Thread]:
        """Every thread's metadata, live ones from memory, others from the last thread record of
        their log."""
        found = {tid: s.thread for tid, s in self._threads.items()}
        sessions = self.home / "sessions"
        if sessions.is_dir():
            for path in sessions.glob("*.jsonl"):
                if path.stem not in found and (thread := _last_thread_record(path)) is not None:
                    found[thread.id] = thread
        return list(found.values())


def _last_thread_record(path: Path) -> Thread | None:
    """The thread as its log last recorded it; a log from before threads had titles gets one
    from its first user message."""
    thread: Thread | None = None
    first_message: list[UserInput] | None = None
    decoder = msgspec.json.Decoder(ThreadRecord)
    items = msgspec.json.Decoder(ItemRecord)
    with path.open("rb") as f:
        for line in f:
            try:
                if line.startswith(b'{"type":"thread"'):
                    thread = decoder.decode(line).thread
                elif first_message is None and b'"type":"userMessage"' in line:
                    item = items.decode(line).item
                    if isinstance(item, UserMessageItem):
                        first_message = item.content
            except msgspec.DecodeError:
                continue
    if thread is not None:
        thread.status = "idle"
        if thread.title is None and first_message is not None:
            thread.title = title_of(first_message)
    return thread


def load_thread(path: Path) -> Conversation | None:
    """Rebuild a thread from its log. A turn the log shows as still running was cut off by a
    crash: it comes back `interrupted`, with the items it had finished."""
    thread: Thread | None = None
    turns: dict[str, Turn] = {}
    entries: list[Entry] = []
    changes: dict[str, ChangeRecord] = {}
    for record in read_records(path):
        if isinstance(record, ThreadRecord):
            thread = record.thread
        elif isinstance(record, TurnRecord):
            previous = turns.get(record.turn.id)
            turn = record.turn
            if previous is not None and not turn.items:
                turn.items = previous.items
            turns[turn.id] = turn
        elif isinstance(record, ItemRecord):
            if (turn := turns.get(record.turn_id)) is not None:
                _upsert(turn.items, record.item)
        elif isinstance(record, DiscardRecord):
            if (turn := turns.get(record.turn_id)) is not None:
                turn.items = [i for i in turn.items if i.id != record.item_id]
        elif isinstance(record, DeltaRecord):
            if (turn := turns.get(record.turn_id)) is not None:
                _append_delta(turn.items, record.item_id, record.text)
        elif isinstance(record, EntryRecord):
            entries.append(record.entry)
        elif isinstance(record, ChangeRecord):
            changes[record.item_id] = record
        else:
            entries = [record.summary, *entries[record.keep_from :]]
    if thread is None:
        return None
    for turn in turns.values():
        if turn.status == "inProgress":
            turn.status = "interrupted"
            for item in turn.items:
                if isinstance(item, SubagentItem) and item.status in ("inProgress", "pending"):
                    item.status = "interrupted"  # its child's turn comes back interrupted too
                elif getattr(item, "status", None) in ("inProgress", "pending"):
                    item.status = "failed"  # type: ignore[union-attr]
    thread.status = "idle"
    if thread.title is None:
        firsts = [i for t in turns.values() for i in t.items if isinstance(i, UserMessageItem)]
        thread.title = title_of(firsts[0].content) if firsts else None
    return Conversation(
        thread, Journal(path), turns=list(turns.values()), entries=entries, changes=changes
    )


def _append_delta(items: list[Item], item_id: str, text: str) -> None:
    for item in items:
        if item.id == item_id:
            if isinstance(item, AgentMessageItem | ReasoningItem):
                item.text += text
            elif isinstance(item, CommandExecutionItem):
                item.output += text
            return


def _upsert(items: list[Item], item: Item) -> None:
    for i, existing in enumerate(items):
        if existing.id == item.id:
            items[i] = item
            return
    items.append(item)
