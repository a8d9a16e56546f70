"""The scripted OpenAI-compatible model server: a real HTTP server on a background thread.

It owns its own asyncio loop, so sync tests, async tests and other processes (the backend
under test) all reach it over TCP alike. Model requests (`POST /v1/responses`,
`POST /v1/chat/completions`) are recorded and answered by popping the next scripted turn;
`GET /v1/models` lists the configured model ids. State shared with the test thread (the
script queue, the recorded requests, holds) is guarded by one condition variable.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import threading
import traceback
from collections import deque
from collections.abc import Iterable, Sequence
from types import TracebackType
from typing import Any, TextIO

from tests.model_server.http11 import BadHttpRequest, HttpRequest, read_request, send_json
from tests.model_server.playback import (
    Connection,
    error_body,
    play_fault,
    play_reply,
    wait_unless_hung_up,
)
from tests.model_server.recording import RecordedRequest, WireApi
from tests.model_server.script import Fault, Reply, Responder, Turn

MODEL_PATHS = ("/v1/responses", "/v1/chat/completions")
DEFAULT_MODEL = "scripted-model"


class ModelServer:
    """A scripted model endpoint. Use as a context manager or call start()/stop().

    Once the script runs out, `fallback` (a responder, settable at any time) answers; e.g.
    `echo_reply` for demos, or one keyed on the request for concurrent load tests where
    arrival order is not fixed. Without one, an exhausted script answers HTTP 500 saying
    so, so a test fails loudly and never hangs.
    """

    def __init__(
        self,
        script: Iterable[Turn] = (),
        *,
        fallback: Responder | None = None,
        log: TextIO | None = None,
        models: Sequence[str] = (DEFAULT_MODEL,),
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.fallback = fallback
        self.log = log  # one line per model request and how it ended
        self.models = tuple(models)
        self.requests: list[RecordedRequest] = []  # model requests only, in arrival order
        self.errors: list[str] = []  # responders that raised, server bugs
        self._host, self._port = host, port
        self._script: deque[Turn] = deque(script)
        self._cond = threading.Condition()
        self._holding: set[int] = set()
        self._released: set[int] = set()
        self._gates: dict[int, asyncio.Event] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._startup_error: BaseException | None = None

    # Lifecycle ------------------------------------------------------------------------

    @property
    def port(self) -> int:
        if not self._ready.is_set():
            raise RuntimeError("ModelServer is not started")
        return self._port

    @property
    def base_url(self) -> str:
        return f"http://{self._host}:{self.port}/v1"

    def start(self) -> ModelServer:
        if self._thread is not None:
            raise RuntimeError("ModelServer already started")
        self._thread = threading.Thread(target=self._run, name="model-server", daemon=True)
        self._thread.start()
        self._ready.wait()
        if self._startup_error is not None:
            raise RuntimeError("model server failed to start") from self._startup_error
        return self

    def stop(self) -> None:
        if self._thread is None or self._loop is None or self._stopping is None:
            return
        with contextlib.suppress(RuntimeError):  # the loop already ended
            self._loop.call_soon_threadsafe(self._stopping.set)
        self._thread.join(timeout=10)

    def __enter__(self) -> ModelServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def env(self, wire_api: WireApi | None = None) -> dict[str, str]:
        """Environment variables pointing a backend process at this server."""
        env = {
            "OPENAI_BASE_URL": self.base_url,
            "OPENAI_API_KEY": "sk-scripted-test-key",
            "TETHER_MODEL": self.models[0],
        }
        if wire_api is not None:
            env["TETHER_WIRE_API"] = wire_api
        return env

    # Script and observation (test thread) ---------------------------------------------

    def enqueue(self, *turns: Turn) -> None:
        """Append turns to the script; each model request pops one."""
        with self._cond:
            self._script.extend(turns)

    def pending(self) -> int:
        """How many scripted turns have not been played yet."""
        with self._cond:
            return len(self._script)

    def wait_for_request(self, index: int, timeout: float = 5.0) -> RecordedRequest:
        """Block until the model request number `index` (0-based) has arrived."""
        with self._cond:
            if not self._cond.wait_for(lambda: len(self.requests) > index, timeout):
                raise TimeoutError(
                    f"model request #{index} did not arrive within {timeout}s "
                    f"({len(self.requests)} arrived)"
                )
            return self.requests[index]

    async def wait_for_request_async(self, index: int, timeout: float = 5.0) -> RecordedRequest:
        """`wait_for_request` for async tests, without blocking their event loop."""
        return await asyncio.to_thread(self.wait_for_request, index, timeout)

    def wait_held(self, timeout: float = 5.0) -> RecordedRequest:
        """Block until a stream reaches its `hold_after` point; returns its request."""
        with self._cond:
            if not self._cond.wait_for(lambda: bool(self._holding), timeout):
                raise TimeoutError(f"no stream was held within {timeout}s")
            return self.requests[min(self._holding)]

    async def wait_held_async(self, timeout: float = 5.0) -> RecordedRequest:
        return await asyncio.to_thread(self.wait_held, timeout)

    def release(self, index: int | None = None) -> None:
        """Let held streams go on: request `index`, or every request received so far.

        A release may come before the stream reaches its hold point; it then does not stop.
        """
        with self._cond:
            indexes = range(len(self.requests)) if index is None else [index]
            self._released.update(indexes)
        if self._loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop already ended
                self._loop.call_soon_threadsafe(self._open_gates)

    # Event loop side ------------------------------------------------------------------

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as error:  # reported by start() or recorded for the test
            if not self._ready.is_set():
                self._startup_error = error
                self._ready.set()
            else:
                self._record_error("model server loop crashed", error)

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        connections: set[asyncio.Task[None]] = set()

        async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            task = asyncio.current_task()
            assert task is not None
            connections.add(task)
            try:
                await self._serve_connection(reader, writer)
            except asyncio.CancelledError:
                pass  # our own shutdown; ending quietly keeps asyncio from logging it
            finally:
                connections.discard(task)

        server = await asyncio.start_server(on_connect, self._host, self._port, limit=2**20)
        self._port = server.sockets[0].getsockname()[1]
        self._ready.set()
        async with server:
            await self._stopping.wait()
            server.close()
            for task in list(connections):
                task.cancel()
            await asyncio.gather(*connections, return_exceptions=True)

    async def _serve_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        conn = Connection(reader, writer, self._hold)
        try:
            while True:
                try:
                    http = await read_request(reader)
                except BadHttpRequest as error:
                    await send_json(writer, 400, error_body(str(error), 400))
                    return
                if http is None or not await self._answer(conn, http) or not http.keep_alive:
                    return
        except (ConnectionError, asyncio.IncompleteReadError):
            pass  # the client went away; its request's outcome is already recorded
        except Exception as error:
            self._record_error("model server failed while answering", error)
        finally:
            writer.close()

    async def _answer(self, conn: Connection, http: HttpRequest) -> bool:
        if http.method == "GET" and http.path == "/v1/models":
            data = [
                {"id": m, "object": "model", "created": 0, "owned_by": "tests"} for m in self.models
            ]
            await send_json(conn.writer, 200, {"object": "list", "data": data})
            return True
        if http.method != "POST" or http.path not in MODEL_PATHS:
            message = f"scripted model server: no route for {http.method} {http.path}"
            await send_json(conn.writer, 404, error_body(message, 404))
            return True
        record = self._record(http)
        try:
            return await self._answer_model_request(conn, record)
        finally:
            if self.log is not None:
                print(
                    f"model request #{record.index} {record.path} model={record.model} "
                    f"-> {record.outcome or 'unfinished'}",
                    file=self.log,
                    flush=True,
                )

    async def _answer_model_request(self, conn: Connection, record: RecordedRequest) -> bool:
        if record.outcome == "bad_request":
            message = "scripted model server: the request body is not a JSON object"
            await send_json(conn.writer, 400, error_body(message, 400))
            return True
        turn = await self._next_turn(record)
        if isinstance(turn, Fault):
            return await play_fault(conn, record, turn)
        if isinstance(turn, Reply):
            return await play_reply(conn, record, turn)
        await send_json(conn.writer, 500, error_body(turn, 500), {"x-should-retry": "false"})
        return True

    def _record(self, http: HttpRequest) -> RecordedRequest:
        try:
            body: Any = json.loads(http.body)
        except (json.JSONDecodeError, UnicodeDecodeError):
            body = None
        with self._cond:
            record = RecordedRequest(
                index=len(self.requests),
                method=http.method,
                path=http.path,
                headers=http.headers,
                body=body if isinstance(body, dict) else {},
                size=len(http.body),
            )
            if not isinstance(body, dict):
                record.finish("bad_request")
            self.requests.append(record)
            self._cond.notify_all()
        return record

    async def _next_turn(self, record: RecordedRequest) -> Reply | Fault | str:
        """The turn answering `record`, or the message of a 500 when there is none."""
        with self._cond:
            turn = self._script.popleft() if self._script else None
        if turn is None:
            turn = self.fallback
        if turn is None:
            record.finish("exhausted")
            return (
                f"scripted model server: the script ran out of turns at model request "
                f"#{record.index} ({record.method} {record.path}); enqueue another "
                f"Reply or Fault for it"
            )
        if isinstance(turn, Reply | Fault):
            return turn
        try:
            # On a worker thread: a responder may block (wait for the test) without
            # stalling the other connections.
            answer = await asyncio.to_thread(turn, record)
        except Exception as error:
            record.finish("script_error")
            self._record_error(f"responder for model request #{record.index} raised", error)
            return f"scripted model server: the responder raised {error!r}"
        if not isinstance(answer, Reply | Fault):
            record.finish("script_error")
            message = (
                f"responder for request #{record.index} returned {answer!r}, not a Reply or Fault"
            )
            self._record_error(message, None)
            return f"scripted model server: {message}"
        return answer

    async def _hold(self, record: RecordedRequest, reader: asyncio.StreamReader) -> bool:
        gate = self._gates.setdefault(record.index, asyncio.Event())
        with self._cond:
            if record.index in self._released:
                return True
            self._holding.add(record.index)
            self._cond.notify_all()
        try:
            return await wait_unless_hung_up(reader, gate.wait())
        finally:
            with self._cond:
                self._holding.discard(record.index)

    def _open_gates(self) -> None:
        with self._cond:
            released = set(self._released)
        for index in released:
            self._gates.setdefault(index, asyncio.Event()).set()

    def _record_error(self, what: str, error: BaseException | None) -> None:
        detail = "".join(traceback.format_exception(error)) if error else ""
        message = f"{what}\n{detail}".rstrip()
        print(message, file=sys.stderr)
        with self._cond:
            self.errors.append(message)
