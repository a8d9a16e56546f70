"""Tether's JSON-RPC layer: one connection to the client, both directions, and the boundary
where wire dicts become msgspec types (and back) and errors get their codes (PROTOCOL.md §7).

`Connection.receive` takes one frame's body and never fails: whatever cannot be served gets a
JSON-RPC error (-32700 not JSON, -32600 not a request or out of turn, -32601 no such method,
-32602 params that do not fit, naming the field; -32603 a bug), notifications get nothing.
Request handlers take the raw params and return a msgspec value or builtins (or an awaitable
of one, run as a task the client can cancel with `$/cancelRequest`). Outgoing notifications and
requests are typed (`protocol.base.Notification`, `ServerRequest`): each names its method.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import msgspec

from protocol.base import Notification, ServerRequest
from protocol.errors import (
    InternalError,
    InvalidParams,
    InvalidRequest,
    MethodNotFound,
    ParseError,
    RequestCancelled,
    RpcError,
)
from protocol.lsp import CancelRequest
from server.framing import frame

log = logging.getLogger(__name__)
T = TypeVar("T")

RequestHandler = Callable[[Any], Any]
"""Raw params -> result, or an awaitable of it; raises RpcError to answer an error."""
NotificationHandler = Callable[[Any], None]

_DECODER = msgspec.json.Decoder()


def decode(method: str, raw: Any, cls: type[T]) -> T:
    """Params of `method` as `cls`, or InvalidParams naming the field that is wrong."""
    try:
        return msgspec.convert({} if raw is None else raw, cls)
    except msgspec.ValidationError as exc:
        raise InvalidParams(f"invalid params for {method}: {exc}") from None


class Connection:
    """The client, as the server sees it. `requests` and `notifications` map method names to
    handlers; `initialized` and `shutting_down` are the LSP lifecycle, which decides what is
    served (nothing but `initialize` before it, nothing but `exit` after `shutdown`). `write`
    takes one frame and does not fail when the client is gone (`server.app`'s writer drops it).
    """

    def __init__(self, write: Callable[[bytes], None]) -> None:
        self._write = write
        self.requests: dict[str, RequestHandler] = {}
        self.notifications: dict[str, NotificationHandler] = {"$/cancelRequest": self._cancel}
        self.initialized = False
        self.shutting_down = False
        self._waiting: dict[str, asyncio.Future[Any]] = {}  # our requests, by id
        self._running: dict[str | int | None, asyncio.Task[Any]] = {}  # the client's, by id

    # out -------------------------------------------------------------------------------------

    def _send(self, message: dict[str, Any]) -> None:
        self._write(frame(message))

    def notify(self, note: Notification) -> None:
        self._send({"jsonrpc": "2.0", "method": note.METHOD, "params": note})

    def error(self, msg_id: Any, error: RpcError) -> None:
        body = {"code": int(error.code), "message": error.message}
        self._send({"jsonrpc": "2.0", "id": msg_id, "error": body})

    async def request(self, params: ServerRequest[T]) -> T:
        """Ask the client and await its answer, as `params`' result type. If the awaiting task
        is cancelled (the turn was interrupted), the client is told with `$/cancelRequest`."""
        msg_id = f"s-{uuid.uuid4().hex[:12]}"
        waiting: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._waiting[msg_id] = waiting
        method = params.METHOD
        self._send({"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params})
        try:
            raw = await waiting
        except asyncio.CancelledError:
            self.notify(CancelRequest(msg_id))
            raise
        except InternalError as exc:
            raise InternalError(f"client answered {method} with an error: {exc.message}") from None
        finally:
            self._waiting.pop(msg_id, None)
        try:
            return msgspec.convert(raw, type(params).RESULT)
        except msgspec.ValidationError as exc:
            raise InvalidParams(f"client's answer to {method} is invalid: {exc}") from None

    def close(self) -> None:
        """The client is gone: requests awaiting its answer fail."""
        for waiting in self._waiting.values():
            if not waiting.done():
                waiting.set_exception(InternalError("the client disconnected"))

    # in --------------------------------------------------------------------------------------

    def receive(self, body: bytes) -> None:
        """Handle one message from the client."""
        try:
            data = _DECODER.decode(body)
        except (msgspec.DecodeError, UnicodeDecodeError) as exc:
            self.error(None, ParseError(f"parse error: body is not JSON ({exc})"))
            return
        if isinstance(data, list):
            self.error(None, InvalidRequest("batch requests are not supported"))
            return
        if not isinstance(data, dict) or data.get("jsonrpc") != "2.0":
            msg_id = data.get("id") if isinstance(data, dict) else None
            expected = 'invalid request: expected an object with "jsonrpc": "2.0"'
            self.error(msg_id if isinstance(msg_id, str | int) else None, InvalidRequest(expected))
            return
        method = data.get("method")
        msg_id = data.get("id")
        if msg_id is not None and (not isinstance(msg_id, str | int) or isinstance(msg_id, bool)):
            self.error(None, InvalidRequest("invalid request: `id` must be a string or number"))
            return
        if method is None:
            self._answered(data)
            return
        if not isinstance(method, str):
            self.error(msg_id, InvalidRequest("invalid request: `method` must be a string"))
            return
        params = data.get("params")
        if "id" not in data:
            if isinstance(params, dict | list | None):
                self._notified(method, params)
            return
        if not self.initialized and method != "initialize":
            why = f"server not initialized: send `initialize` before `{method}`"
            self.error(msg_id, InvalidRequest(why))
        elif self.shutting_down and method != "exit":
            why = f"the server is shutting down: `{method}` was not run; send `exit`"
            self.error(msg_id, InvalidRequest(why))
        elif not isinstance(params, dict | list | None):
            self.error(msg_id, InvalidParams(f"invalid params for {method}: expected an object"))
        elif (handler := self.requests.get(method)) is None:
            self.error(msg_id, MethodNotFound(f"Method Not Found: {method}"))
        else:
            self._serve(msg_id, method, handler, params)

    def _serve(
        self, msg_id: str | int | None, method: str, handler: RequestHandler, params: Any
    ) -> None:
        try:
            result = handler(params)
        except RpcError as exc:
            self.error(msg_id, exc)
            return
        except Exception as exc:  # the server must outlive any one message
            log.exception("%s failed", method)
            self.error(msg_id, InternalError(f"internal error in {method}: {exc!r}"))
            return
        if not isinstance(result, Awaitable):
            self._send({"jsonrpc": "2.0", "id": msg_id, "result": result})
            return
        task = asyncio.ensure_future(result)
        self._running[msg_id] = task
        task.add_done_callback(lambda done: self._finished(msg_id, method, done))

    def _finished(self, msg_id: str | int | None, method: str, task: asyncio.Task[Any]) -> None:
        self._running.pop(msg_id, None)
        if task.cancelled():
            self.error(msg_id, RequestCancelled(f'Request with id "{msg_id}" is canceled'))
        elif isinstance(exc := task.exception(), RpcError):
            self.error(msg_id, exc)
        elif exc is not None:
            log.error("%s failed", method, exc_info=exc)
            self.error(msg_id, InternalError(f"internal error in {method}: {exc!r}"))
        else:
            self._send({"jsonrpc": "2.0", "id": msg_id, "result": task.result()})

    def _answered(self, data: dict[str, Any]) -> None:
        """A response to one of our requests; one to a request never sent is dropped."""
        waiting = self._waiting.get(data.get("id"))  # type: ignore[arg-type]
        if waiting is None or waiting.done():
            log.debug("dropped a response to an unknown request: %s", data.get("id"))
        elif isinstance(error := data.get("error"), dict):
            message = error.get("message")  # type: ignore[union-attr]
            waiting.set_exception(InternalError(str(message)))
        else:
            waiting.set_result(data.get("result"))

    def _notified(self, method: str, params: Any) -> None:
        handler = self.notifications.get(method)
        if handler is None:
            log.debug("ignored notification %s", method)
            return
        try:
            handler(params)
        except Exception as exc:  # a client's slip (say, a change to a closed document)
            log.warning("dropped notification %s: %s", method, exc)

    def _cancel(self, params: Any) -> None:
        task = self._running.get(decode("$/cancelRequest", params, CancelRequest).id)
        if task is not None:
            task.cancel()
