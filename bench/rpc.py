"""A minimal JSON-RPC client over a child's stdio, the same for both servers under test.

Tether speaks LSP framing (`Content-Length` headers); Codex app-server speaks one JSON object
per line. Everything else (timestamps, waiting, answering server requests) is shared, so the
client's own cost is the same on both sides of every ratio.

A reader thread stamps each message with `time.perf_counter()` the moment it is parsed; the
benchmark thread waits on a condition. Server-to-client requests (approvals) are answered at
once by `answer_request`, so no turn ever blocks on the client.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Literal

Framing = Literal["lsp", "ndjson"]
Message = dict[str, Any]
Predicate = Callable[[Message], bool]


@dataclass
class Stamped:
    at: float  # time.perf_counter() when parsed
    msg: Message


class RpcError(RuntimeError):
    pass


def accept_everything(method: str, params: Any) -> Any:
    """Answer any approval request with the most permissive decision both protocols know."""
    del params
    if "approval" in method.lower() or "Approval" in method:
        return {"decision": "accept"}
    return {}


class RpcProcess:
    def __init__(
        self,
        argv: list[str],
        *,
        framing: Framing,
        env: dict[str, str],
        cwd: Path,
        stderr: Path,
        answer_request: Callable[[str, Any], Any] = accept_everything,
    ) -> None:
        self.framing = framing
        self.answer_request = answer_request
        self.messages: list[Stamped] = []
        self._cond = threading.Condition()
        self._next_id = 0
        self._closed = False
        self._stderr = stderr.open("wb")
        self.spawned_at = time.perf_counter()
        self.proc = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            env=env,
            cwd=cwd,
        )
        self.pid = self.proc.pid
        self._reader = threading.Thread(target=self._read_loop, daemon=True)
        self._reader.start()

    # Sending ------------------------------------------------------------------------------

    def _write(self, msg: Message) -> None:
        body = json.dumps(msg, separators=(",", ":")).encode()
        stdin = self.proc.stdin
        assert stdin is not None
        if self.framing == "lsp":
            stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        else:
            stdin.write(body + b"\n")
        stdin.flush()

    def request(self, method: str, params: Any) -> tuple[int, float]:
        """Send a request; returns its id and the send time."""
        self._next_id += 1
        rid = self._next_id
        sent = time.perf_counter()
        self._write({"jsonrpc": "2.0", "id": rid, "method": method, "params": params})
        return rid, sent

    def notify(self, method: str, params: Any = None) -> None:
        msg: Message = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            msg["params"] = params
        self._write(msg)

    def call(self, method: str, params: Any, timeout: float = 60.0) -> Any:
        rid, _ = self.request(method, params)
        return self.result_of(rid, timeout).msg["result"]

    # Receiving ----------------------------------------------------------------------------

    def _read_loop(self) -> None:
        out = self.proc.stdout
        assert out is not None
        try:
            while True:
                msg = self._read_one(out)
                if msg is None:
                    break
                stamped = Stamped(time.perf_counter(), msg)
                if "method" in msg and "id" in msg:
                    self._answer(msg)
                with self._cond:
                    self.messages.append(stamped)
                    self._cond.notify_all()
        finally:
            with self._cond:
                self._closed = True
                self._cond.notify_all()

    def _read_one(self, out: IO[bytes]) -> Message | None:
        if self.framing == "ndjson":
            while True:
                line = out.readline()
                if not line:
                    return None
                if line.strip():
                    return json.loads(line)
        length = None
        while True:
            line = out.readline()
            if not line:
                return None
            line = line.strip()
            if not line:
                break
            name, _, value = line.partition(b":")
            if name.lower() == b"content-length":
                length = int(value)
        if length is None:
            raise RpcError("LSP message without Content-Length")
        return json.loads(out.read(length))

    def _answer(self, msg: Message) -> None:
        try:
            result = self.answer_request(msg["method"], msg.get("params"))
            self._write({"jsonrpc": "2.0", "id": msg["id"], "result": result})
        except (BrokenPipeError, OSError):
            pass

    def wait(self, pred: Predicate, timeout: float = 60.0, start: int = 0) -> Stamped:
        """The first message from index `start` on matching `pred` (already here or not)."""
        deadline = time.monotonic() + timeout
        seen = start
        with self._cond:
            while True:
                for i in range(seen, len(self.messages)):
                    if pred(self.messages[i].msg):
                        return self.messages[i]
                seen = len(self.messages)
                if self._closed:
                    raise RpcError(f"server exited (code {self.proc.poll()}) before the message")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise RpcError(f"timed out after {timeout}s waiting for a message")
                self._cond.wait(left)

    def result_of(self, rid: int, timeout: float = 60.0) -> Stamped:
        got = self.wait(lambda m: m.get("id") == rid and "method" not in m, timeout)
        if "error" in got.msg:
            raise RpcError(f"request {rid} failed: {got.msg['error']}")
        return got

    def mark(self) -> int:
        with self._cond:
            return len(self.messages)

    def since(self, start: int) -> list[Stamped]:
        with self._cond:
            return self.messages[start:]

    def trim(self) -> None:
        """Forget received messages (a 200-turn run would otherwise hold them all)."""
        with self._cond:
            self.messages.clear()

    # Ending -------------------------------------------------------------------------------

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                assert self.proc.stdin is not None
                self.proc.stdin.close()
            except OSError:
                pass
            try:
                self.proc.wait(timeout=3)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._reader.join(timeout=3)
        self._stderr.close()


# /proc figures ------------------------------------------------------------------------------

CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """utime + stime of one process (all its threads), from /proc/<pid>/stat."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def descendants(pid: int) -> list[int]:
    """pid and every process below it (a snapshot)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def tree_rss_kib(pid: int) -> tuple[int, int]:
    """(RSS of the process, RSS summed over it and its descendants), KiB."""
    own = rss_kib(pid)
    total = 0
    for p in descendants(pid):
        with contextlib.suppress(OSError):  # it may have exited meanwhile
            total += rss_kib(p)
    return own, total
