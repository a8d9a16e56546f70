"""One thread's conversation, and the only writer of it: its metadata, its turns and their items,
the model's entries, the usage counts and the change records. Every change lands in the thread's
log (`server.agent.journal`) as it happens, so `threads.load_thread` can rebuild it.

Who calls what: the turn loop adds entries and usage; the turn's stream (`stream.TurnStream`)
adds and replaces items; `changes` and `undo` record what an edit applied. Nothing else holds a
reference to these lists.
"""

from __future__ import annotations

from pathlib import Path

from protocol.base import Mode, Usage
from protocol.item import Item, TextInput, UserInput
from protocol.thread import Thread
from protocol.turn import Turn
from server.agent.history import Entry, SummaryEntry, ToolResultEntry, estimate_tokens, repair
from server.agent.ids import now_ms
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
)

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


class Conversation:
    def __init__(
        self,
        thread: Thread,
        journal: Journal,
        *,
        turns: list[Turn] | None = None,
        entries: list[Entry] | None = None,
        changes: dict[str, ChangeRecord] | None = None,
    ) -> None:
        self.thread = thread
        """The wire metadata (`thread/read`); read it, change it through the methods below."""
        self._journal = journal
        self._turns: list[Turn] = turns or []
        self._entries: list[Entry] = entries or []
        self._changes: dict[str, ChangeRecord] = changes or {}
        self.usage = Usage(0, 0, 0, 0)
        """The last model call's usage (`thread/tokenUsage/updated`)."""
        for turn in self._turns:
            if turn.usage is not None:
                self.usage = turn.usage
        self._result_images: dict[str, list[str]] = {}
        self._context: tuple[int, int] | None = None
        """(tokens the endpoint counted, number of entries then)."""

    # metadata

    @property
    def id(self) -> str:
        return self.thread.id

    @property
    def mode(self) -> Mode:
        return self.thread.mode

    @property
    def cwd(self) -> Path:
        return Path(self.thread.cwd)

    @property
    def roots(self) -> list[Path]:
        return [Path(r) for r in self.thread.roots]

    @property
    def journal_path(self) -> Path:
        """The thread's log (hooks get it as `transcript_path`; it is not Claude's format)."""
        return self._journal.path

    def log_metadata(self) -> None:
        """Log the metadata as it is now (a new thread)."""
        self._journal.append(ThreadRecord(self.thread))

    def touch(self) -> None:
        self.thread.updated_at = now_ms()
        self.log_metadata()

    def set_mode(self, mode: Mode) -> None:
        self.thread.mode = mode
        self.touch()

    def name_after(self, content: list[UserInput]) -> None:
        """Title an untitled thread after a message (its first one)."""
        if self.thread.title is None and (title := title_of(content)) is not None:
            self.thread.title = title
            self.touch()

    # turns and items

    @property
    def turns(self) -> list[Turn]:
        return self._turns

    def turn(self, turn_id: str) -> Turn | None:
        return next((t for t in self._turns if t.id == turn_id), None)

    def begin_turn(self, turn: Turn) -> None:
        self.thread.status = "running"
        self._turns.append(turn)
        self._journal.append(TurnRecord(turn))

    def end_turn(self, turn: Turn) -> None:
        self.thread.status = "idle"
        self.touch()
        self._journal.append(TurnRecord(turn))

    def add_item(self, turn: Turn, item: Item) -> None:
        turn.items.append(item)
        self._journal.append(ItemRecord(turn.id, item))

    def put_item(self, turn: Turn, item: Item) -> None:
        """Record an item's new state (replacing the one with its id)."""
        items = turn.items
        for i in range(len(items) - 1, -1, -1):
            if items[i].id == item.id:
                items[i] = item
                break
        else:
            items.append(item)
        self._journal.append(ItemRecord(turn.id, item))

    def discard_item(self, turn: Turn, item_id: str) -> None:
        turn.items = [i for i in turn.items if i.id != item_id]
        self._journal.append(DiscardRecord(turn.id, item_id))

    def log_delta(self, turn: Turn, item_id: str, text: str) -> None:
        """Text streamed into an item (the item itself gets it when it completes)."""
        self._journal.append(DeltaRecord(turn.id, item_id, text))

    def find_item(self, item_id: str) -> tuple[Turn, Item] | None:
        for turn in reversed(self._turns):
            for item in turn.items:
                if item.id == item_id:
                    return turn, item
        return None

    # the model's view

    @property
    def entries(self) -> list[Entry]:
        """The model's conversation; a copy, change it through `add_entry` and `compact`."""
        return list(self._entries)

    def add_entry(self, entry: Entry) -> None:
        if isinstance(entry, ToolResultEntry) and entry.call_id in self._result_images:
            images = self._result_images.pop(entry.call_id)
            entry = ToolResultEntry(entry.call_id, entry.output, images)
        self._entries.append(entry)
        self._journal.append(EntryRecord(entry))

    def attach_images(self, call_id: str, urls: list[str]) -> None:
        """Images a tool showed (`view_image`): they go with its result entry, once added."""
        self._result_images.setdefault(call_id, []).extend(urls)

    def entries_for_model(self) -> list[Entry]:
        """The entries with every tool call answered (`history.repair`), as a model call needs."""
        self._entries = repair(self._entries)
        return list(self._entries)

    def observe_usage(self, usage: Usage) -> None:
        """The endpoint's usage after a model call; its input + output is the context's size."""
        self.usage = usage
        self._context = (usage.input_tokens + usage.output_tokens, len(self._entries))

    def context_tokens(self, instructions: str) -> int:
        """The context's size now: the last count from the endpoint plus an estimate for what
        was added since; an estimate of everything when there is no count."""
        if self._context is None or self._context[1] > len(self._entries):
            return estimate_tokens(self._entries, instructions)
        counted, at = self._context
        return counted + estimate_tokens(self._entries[at:])

    def compact(self, summary: SummaryEntry, keep_from: int) -> None:
        """Replace the entries before `keep_from` with a summary."""
        self._entries = [summary, *self._entries[keep_from:]]
        self._journal.append(CompactionRecord(keep_from=keep_from, summary=summary))
        self._context = None

    # what edits applied

    def change(self, item_id: str) -> ChangeRecord | None:
        """Per fileChange item, what was applied, with exact hunks (for undo)."""
        return self._changes.get(item_id)

    def record_change(self, record: ChangeRecord) -> None:
        self._changes[record.item_id] = record
        self._journal.append(record)
