"""A command's output as it arrives: decoded incrementally, streamed, and kept within a cap.

Output past the cap is still read (a writer blocked on a full pipe would never finish) but only
the first and last halves of the cap are kept, joined by a marker saying how much was dropped.
What is streamed through `on_output` matches the final text exactly: the head live, then the
marker and the tail once the command is done.
"""

from __future__ import annotations

import codecs
import logging
from collections import deque
from collections.abc import Callable
from typing import Literal

_log = logging.getLogger(__name__)

Stream = Literal["stdout", "stderr"]
OutputCallback = Callable[[Stream, str], None]


class CappedOutput:
    def __init__(self, cap_bytes: int, on_output: OutputCallback | None) -> None:
        self._head_budget = cap_bytes - cap_bytes // 2
        self._tail_budget = cap_bytes // 2
        self._on_output = on_output
        self._decoders = {
            name: codecs.getincrementaldecoder("utf-8")(errors="replace")
            for name in ("stdout", "stderr")
        }
        self._head: list[str] = []
        self._head_bytes = 0
        self._tail: deque[tuple[Stream, str]] = deque()
        self._tail_bytes = 0
        self.total_bytes = 0
        self.dropped_bytes = 0

    @property
    def truncated(self) -> bool:
        return self.dropped_bytes > 0

    def feed(self, stream: Stream, data: bytes, *, final: bool = False) -> None:
        self.total_bytes += len(data)
        text = self._decoders[stream].decode(data, final=final)
        if text:
            self._keep(stream, text)

    def _keep(self, stream: Stream, text: str) -> None:
        if self._head_bytes < self._head_budget and not self._tail:
            encoded = text.encode()
            room = self._head_budget - self._head_bytes
            head = _cut_utf8(encoded[:room])
            if head:
                self._head.append(head)
                self._head_bytes += len(head.encode())
                self._emit(stream, head)
            text = encoded[len(head.encode()) :].decode(errors="replace")
            if not text:
                return
        self._tail.append((stream, text))
        self._tail_bytes += len(text.encode())
        self._trim_tail()

    def _emit(self, stream: Stream, text: str) -> None:
        if self._on_output is None:
            return
        try:
            self._on_output(stream, text)
        except Exception:
            # The pipes must keep draining or the command blocks; stop streaming instead.
            _log.exception("output callback failed; streaming stops, output is still kept")
            self._on_output = None

    def _trim_tail(self) -> None:
        while self._tail_bytes > self._tail_budget and self._tail:
            stream, text = self._tail[0]
            encoded = text.encode()
            excess = self._tail_bytes - self._tail_budget
            if excess >= len(encoded):
                self._tail.popleft()
                self._tail_bytes -= len(encoded)
                self.dropped_bytes += len(encoded)
                continue
            kept = encoded[excess:].decode(errors="ignore")
            self._tail[0] = (stream, kept)
            new_len = len(kept.encode())
            self.dropped_bytes += len(encoded) - new_len
            self._tail_bytes -= len(encoded) - new_len

    def finish(self) -> str:
        """Flush decoders, stream what was held back, and return the final combined text."""
        for stream in ("stdout", "stderr"):
            self.feed(stream, b"", final=True)
        pieces: list[tuple[Stream, str]] = []
        if self.truncated:
            kept = self._head_bytes + self._tail_bytes
            marker = (
                f"\n[... output truncated: {self.dropped_bytes} bytes omitted, "
                f"kept the first and last {kept} of {self.total_bytes} bytes ...]\n"
            )
            pieces.append(("stderr", marker))
        pieces += list(self._tail)
        for stream, text in pieces:
            self._emit(stream, text)
        return "".join(self._head) + "".join(text for _, text in pieces)


def _cut_utf8(data: bytes) -> str:
    """Decode a prefix of UTF-8 bytes, dropping a character split at the end."""
    return data.decode(errors="ignore") if data else ""
