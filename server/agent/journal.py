"""One append-only JSONL log per thread under TETHER_HOME/sessions.

Each record is written to the OS as it happens, so a crash (even kill -9) loses at most the
record in flight; a truncated last line is skipped on load. Records:
- `thread`: metadata, the latest wins;
- `turn`: a turn's start and end;
- `item`: an item's state when it starts, changes and completes, the latest per id wins;
- `delta`: text streamed into an item that has not completed;
- `discard`: an item withdrawn from its turn;
- `entry`: the model's conversation, in order;
- `compaction`: entries before it are replaced by its summary;
- `change`: the exact hunks a fileChange item applied, for undo.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path

import msgspec

from protocol.item import Item
from protocol.thread import Thread
from protocol.turn import Turn
from server.agent.history import Entry, SummaryEntry

log = logging.getLogger(__name__)


class ThreadRecord(msgspec.Struct, tag="thread"):
    thread: Thread


class TurnRecord(msgspec.Struct, tag="turn"):
    turn: Turn


class ItemRecord(msgspec.Struct, tag="item"):
    turn_id: str
    item: Item


class DeltaRecord(msgspec.Struct, tag="delta"):
    """Text streamed into an item that has not completed yet (message, reasoning, command
    output), so a crash loses at most the delta in flight."""

    turn_id: str
    item_id: str
    text: str


class DiscardRecord(msgspec.Struct, tag="discard"):
    """An item withdrawn from its turn (streamed by a model call that failed)."""

    turn_id: str
    item_id: str


class EntryRecord(msgspec.Struct, tag="entry"):
    entry: Entry


class CompactionRecord(msgspec.Struct, tag="compaction"):
    keep_from: int
    """Index into the entries logged so far: entries before it are dropped for the summary."""
    summary: SummaryEntry


class HunkRecord(msgspec.Struct):
    """A hunk exactly as applied (lines keep their terminators), for undo after a restart."""

    index: int
    old_start: int
    old_lines: int
    new_start: int
    new_lines: int
    lines: list[str]


class ChangeFileRecord(msgspec.Struct):
    path: str
    old_path: str | None
    kind: str
    hunks: list[HunkRecord]
    applied: list[int]
    written: str | None = None
    """Blob digest of the text Tether last wrote (lets undo merge exactly, not search)."""


class ChangeRecord(msgspec.Struct, tag="change"):
    """What a fileChange item applied; the latest record per item wins."""

    item_id: str
    files: list[ChangeFileRecord]


Record = (
    ThreadRecord
    | TurnRecord
    | ItemRecord
    | DeltaRecord
    | DiscardRecord
    | EntryRecord
    | CompactionRecord
    | ChangeRecord
)
_ENCODER = msgspec.json.Encoder()
_DECODER = msgspec.json.Decoder(Record)


class Journal:
    """Appends records to one thread's log file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        self._end_torn_line()

    def _end_torn_line(self) -> None:
        """A crash can leave the last record cut short; end it so the next one starts clean."""
        size = os.fstat(self._fd).st_size
        if size == 0:
            return
        with self.path.open("rb") as f:
            f.seek(size - 1)
            if f.read(1) != b"\n":
                os.write(self._fd, b"\n")

    def append(self, record: Record) -> None:
        os.write(self._fd, _ENCODER.encode(record) + b"\n")

    def close(self) -> None:
        os.close(self._fd)


def read_records(path: Path) -> Iterator[Record]:
    """The records of a log, skipping lines a crash cut short (and any other unreadable line)."""
    with path.open("rb") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                yield _DECODER.decode(line)
            except msgspec.DecodeError as exc:
                log.warning("%s:%d: skipped an unreadable record (%s)", path, lineno, exc)


def session_path(home: Path, thread_id: str) -> Path:
    return home / "sessions" / f"{thread_id}.jsonl"
