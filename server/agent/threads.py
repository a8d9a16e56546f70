"""Threads in memory and on disk: creating, finding, listing and rebuilding them from their logs."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import msgspec

from protocol.base import Mode, Usage
from protocol.item import (
    AgentMessageItem,
    CommandExecutionItem,
    Item,
    ReasoningItem,
    TextInput,
    UserInput,
    UserMessageItem,
)
from protocol.thread import Thread
from protocol.turn import Turn
from sandbox.rules import SessionRules
from server.agent.history import Entry, SummaryEntry, estimate_tokens
from server.agent.journal import (
    ChangeRecord,
    CompactionRecord,
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

if TYPE_CHECKING:
    from server.agent.turn import TurnRunner
    from server.agent.watcher import WorkspaceWatcher


def now_ms() -> int:
    return int(time.time() * 1000)


def new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:16]}"


TITLE_CHARS = 80


def title_of(content: list[UserInput]) -> str | None:
    """A thread's title, made from its first message without asking a model: the first line of
    its text, cut at a word boundary when longer than TITLE_CHARS."""
    text = next((part.text for part in content if isinstance(part, TextInput)), "")
    line = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    if len(line) <= TITLE_CHARS:
        return line or None
    cut = line[: TITLE_CHARS - 1].rsplit(" ", 1)[0] or line[: TITLE_CHARS - 1]
    return cut.rstrip(" ,.;:") + "…"


@dataclass
class ThreadState:
    """One thread: its metadata, turns, the model's view of the conversation, and its log."""

    thread: Thread
    journal: Journal
    turns: list[Turn] = field(default_factory=list)
    entries: list[Entry] = field(default_factory=list)
    usage: Usage = field(default_factory=lambda: Usage(0, 0, 0, 0))
    running: TurnRunner | None = None
    watcher: WorkspaceWatcher | None = None
    _context: tuple[int, int] | None = None
    """(tokens the endpoint counted, number of entries then)."""
    session_rules: SessionRules = field(default_factory=SessionRules)
    rule_problems_shown: set[str] = field(default_factory=set)
    """acceptForSession answers for commands."""
    changes: dict[str, ChangeRecord] = field(default_factory=dict)
    """Per fileChange item, what was applied, with exact hunks (for change/revert)."""
    read_grants: list[Path] = field(default_factory=list)
    """Directories the user allowed reading for the session (outside the roots)."""
    session_edits_ok: bool = False
    """acceptForSession on a file change: edits in this workspace apply without asking."""

    @property
    def roots(self) -> list[Path]:
        return [Path(r) for r in self.thread.roots]

    def touch(self) -> None:
        self.thread.updated_at = now_ms()
        self.journal.append(ThreadRecord(self.thread))

    def set_mode(self, mode: Mode) -> None:
        self.thread.mode = mode
        self.touch()

    def name_after(self, content: list[UserInput]) -> None:
        """Title an untitled thread after a message (its first one)."""
        if self.thread.title is None and (title := title_of(content)) is not None:
            self.thread.title = title
            self.touch()

    def add_entry(self, entry: Entry) -> None:
        self.entries.append(entry)
        self.journal.append(EntryRecord(entry))

    def observe_context(self, tokens: int) -> None:
        """The endpoint's count of the context after a model call (input + output)."""
        self._context = (tokens, len(self.entries))

    def context_tokens(self, instructions: str) -> int:
        """The context's size now: the last count from the endpoint plus an estimate for what
        was added since; an estimate of everything when there is no count."""
        if self._context is None or self._context[1] > len(self.entries):
            return estimate_tokens(self.entries, instructions)
        counted, at = self._context
        return counted + estimate_tokens(self.entries[at:])

    def record_change(self, record: ChangeRecord) -> None:
        self.changes[record.item_id] = record
        self.journal.append(record)

    def compact(self, summary: SummaryEntry, keep_from: int) -> None:
        """Replace the entries before `keep_from` with a summary."""
        self.entries = [summary, *self.entries[keep_from:]]
        self.journal.append(CompactionRecord(keep_from=keep_from, summary=summary))
        self._context = None

    def find_item(self, item_id: str) -> tuple[Turn, int] | None:
        for turn in reversed(self.turns):
            for i, item in enumerate(turn.items):
                if item.id == item_id:
                    return turn, i
        return None


class ThreadManager:
    """All threads of this TETHER_HOME; loads a thread's log the first time it is asked for."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self._threads: dict[str, ThreadState] = {}

    def create(self, cwd: Path, roots: list[Path], mode: Mode, model: str) -> ThreadState:
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
        state = ThreadState(thread, Journal(session_path(self.home, thread.id)))
        state.journal.append(ThreadRecord(thread))
        self._threads[thread.id] = state
        return state

    def get(self, thread_id: str) -> ThreadState | None:
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

    def live(self) -> list[ThreadState]:
        return list(self._threads.values())


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


def load_thread(path: Path) -> ThreadState | None:
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
                if getattr(item, "status", None) in ("inProgress", "pending"):
                    item.status = "failed"  # type: ignore[union-attr]
    thread.status = "idle"
    if thread.title is None:
        firsts = [i for t in turns.values() for i in t.items if isinstance(i, UserMessageItem)]
        thread.title = title_of(firsts[0].content) if firsts else None
    state = ThreadState(
        thread, Journal(path), turns=list(turns.values()), entries=entries, changes=changes
    )
    for turn in state.turns:
        if turn.usage is not None:
            state.usage = turn.usage
    return state


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
