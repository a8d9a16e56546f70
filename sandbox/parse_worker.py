"""Parse command lines in a long-lived child process, so a crash in native code cannot kill us.

The parser is tree-sitter-bash, which is C. One way to crash it is known and closed in
`sandbox.commands` (astral characters reaching glibc's ctype tables), but more cannot be ruled
out, and the server parses every command the model sends. `parse_isolated` has the signature
of `sandbox.commands.parse_command` and runs it in a child Python that lives as long as we do:
one pipe round trip per line (a fraction of a millisecond) instead of a process per parse.

The child is started on first use. If it dies while parsing a line, a fresh child tries once
more, so a child killed from outside costs nothing; a line that kills two children, or that a
child takes more than 10 s over, gets a result with no commands and an
`unsupported` flag. That fails closed: no rule approves it, forbid rules make it ask, and it is
reported to the user as a line that could not be checked. The child ends when our end of its
pipe closes, so it never outlives the server.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import select
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from sandbox.commands import Construct, Flag, ParsedCommand, parse_command

_PARSE_TIMEOUT_S = 10.0
_HEADER = 4
_PACKAGE_PARENT = str(Path(__file__).resolve().parents[1])
_CHILD = (
    sys.executable,
    "-c",
    "import sys; sys.path.insert(0, sys.argv[1]); from sandbox.parse_worker import serve; serve()",
    _PACKAGE_PARENT,
)


class _ChildGone(Exception):
    """The child died, or did not answer in time (`hung`)."""

    def __init__(self, hung: bool) -> None:
        super().__init__("timed out" if hung else "died")
        self.hung = hung


def parse_isolated(source: str) -> ParsedCommand:
    """`parse_command(source)`, run in the parser child; see the module docstring."""
    return _WORKER.parse(source)


def unchecked(source: str, why: str) -> ParsedCommand:
    """The fail-closed result for a line the parser could not read."""
    return ParsedCommand(source, (), (Flag(Construct.UNSUPPORTED, why),))


class ParserWorker:
    """One parser child and the pipe to it; `child` is the program that runs `serve()`."""

    def __init__(self, child: Sequence[str] = _CHILD, timeout: float = _PARSE_TIMEOUT_S) -> None:
        self._command = tuple(child)
        self._timeout = timeout
        self._lock = threading.Lock()  # one request on the pipe at a time
        self._child: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self._child.pid if self._child is not None else None

    def parse(self, source: str) -> ParsedCommand:
        if sys.platform == "win32":  # no select() on pipes; there is no sandbox there either
            return parse_command(source)
        request = source.encode("utf-8", errors="surrogatepass")
        with self._lock:
            for _attempt in range(2):
                try:
                    return pickle.loads(self._ask(request))
                except _ChildGone as gone:
                    self._stop()
                    if gone.hung:
                        return unchecked(source, "the command parser took too long on this line")
        return unchecked(source, "the command parser crashed on this line")

    def _ask(self, request: bytes) -> bytes:
        child = self._child or self._start()
        assert child.stdin is not None and child.stdout is not None
        try:
            child.stdin.write(len(request).to_bytes(_HEADER, "big") + request)
            child.stdin.flush()
        except OSError as error:
            raise _ChildGone(hung=False) from error
        deadline = time.monotonic() + self._timeout
        fd = child.stdout.fileno()
        size = int.from_bytes(_read_exactly(fd, _HEADER, deadline), "big")
        return _read_exactly(fd, size, deadline)

    def _start(self) -> subprocess.Popen[bytes]:
        self._child = subprocess.Popen(
            self._command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            close_fds=True,
        )
        return self._child

    def _stop(self) -> None:
        child, self._child = self._child, None
        if child is not None:
            child.kill()
            child.wait()
            for pipe in (child.stdin, child.stdout):
                if pipe is not None:
                    with contextlib.suppress(OSError):  # a failed write left bytes to flush
                        pipe.close()


def _read_exactly(fd: int, size: int, deadline: float) -> bytes:
    """Read `size` bytes from the child's pipe (unbuffered, so select() sees what is left)."""
    chunks: list[bytes] = []
    remaining = size
    while remaining:
        timeout = deadline - time.monotonic()
        if timeout <= 0 or not select.select([fd], [], [], timeout)[0]:
            raise _ChildGone(hung=True)
        chunk = os.read(fd, remaining)
        if not chunk:
            raise _ChildGone(hung=False)
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def serve() -> None:
    """The child's loop: a length-prefixed line in, a length-prefixed pickled result out."""
    requests, replies = sys.stdin.buffer, sys.stdout.buffer
    while len(header := requests.read(_HEADER)) == _HEADER:
        source = requests.read(int.from_bytes(header, "big")).decode("utf-8", "surrogatepass")
        reply = pickle.dumps(parse_command(source))
        replies.write(len(reply).to_bytes(_HEADER, "big") + reply)
        replies.flush()


_WORKER = ParserWorker()
