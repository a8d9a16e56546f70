"""The boundary: the only place wire dicts become msgspec types (and back) and errors get codes.

pygls would turn unknown params into namedtuples and cannot serialize msgspec Structs, so the
converter here leaves Tether's params as plain dicts, handlers `decode` them into the types of
the method table, and results go out through `msgspec.to_builtins`. Notifications and requests
to the client are encoded by msgspec and written as framed JSON-RPC directly, which keeps the
streaming hot path cheap.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import msgspec
from lsprotocol import converters
from pygls.exceptions import JsonRpcException
from pygls.protocol import JsonRPCNotification, JsonRPCRequestMessage, JsonRPCResponseMessage

from protocol.base import Notification, ServerRequest
from protocol.errors import ErrorCode
from protocol.lsp import CancelRequest
from server.framing import frame

log = logging.getLogger(__name__)
T = TypeVar("T")


class RpcError(JsonRpcException):
    """A request failure with a Tether error code (PROTOCOL.md §7) and a message for the user."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message=message, code=int(code))


def make_converter() -> Any:
    """lsprotocol's converter, except that Tether's own messages keep their params as dicts."""
    converter = converters.get_converter()

    def keep_params(obj: dict[str, Any], cls: type[Any]) -> Any:
        # JSON-RPC lets a request omit `params`; pygls' message type requires the field.
        fields = {k: obj[k] for k in ("id", "method", "jsonrpc") if k in obj}
        return cls(**fields, params=obj.get("params"))

    def keep_result(obj: dict[str, Any], cls: type[Any]) -> Any:
        return cls(**{k: obj[k] for k in ("id", "result", "jsonrpc") if k in obj})

    converter.register_structure_hook(JsonRPCRequestMessage, keep_params)
    converter.register_structure_hook(JsonRPCNotification, keep_params)
    converter.register_structure_hook(JsonRPCResponseMessage, keep_result)
    return converter


def decode(method: str, raw: Any, cls: type[T]) -> T:
    """Params of `method` as `cls`, or RpcError(-32602) naming the field that is wrong."""
    if raw is None:
        raw = {}
    try:
        return msgspec.convert(raw, cls)
    except msgspec.ValidationError as exc:
        raise RpcError(ErrorCode.INVALID_PARAMS, f"invalid params for {method}: {exc}") from None


def to_wire(value: Any) -> Any:
    """A msgspec value as JSON-ready builtins."""
    return msgspec.to_builtins(value)


class Peer:
    """The client, as the agent sees it: notifications out, requests out with awaited answers."""

    def __init__(self, write: Callable[[bytes], None], protocol: Any) -> None:
        self._write = write
        self._protocol = protocol

    def notify(self, note: Notification) -> None:
        try:
            self._write(frame({"jsonrpc": "2.0", "method": note.METHOD, "params": note}))
        except (BrokenPipeError, ValueError, OSError):
            # The client is gone; the transport notices EOF and shuts the server down.
            log.debug("dropped %s: client disconnected", note.METHOD)

    async def request(self, params: ServerRequest[T]) -> T:
        """Send a request to the client and await its answer. If the awaiting task is cancelled
        (the turn was interrupted), the client is told with `$/cancelRequest`."""
        method, result_type = params.METHOD, type(params).RESULT
        msg_id = f"s-{uuid.uuid4().hex[:12]}"
        # pygls' own send_request builds lsprotocol types for LSP methods (workspace/applyEdit)
        # and cannot serialize plain params into them; so frame it here and only let pygls
        # match the response to our future.
        pending: concurrent.futures.Future[Any] = concurrent.futures.Future()
        self._protocol._request_futures[msg_id] = pending
        self._write(
            frame({"jsonrpc": "2.0", "id": msg_id, "method": method, "params": to_wire(params)})
        )
        future: Awaitable[Any] = asyncio.wrap_future(pending)
        try:
            raw = await future
        except asyncio.CancelledError:
            self.notify(CancelRequest(msg_id))
            raise
        except JsonRpcException as exc:
            raise RpcError(
                ErrorCode.INTERNAL_ERROR, f"client answered {method} with an error: {exc.message}"
            ) from None
        try:
            return msgspec.convert(raw, result_type)
        except msgspec.ValidationError as exc:
            raise RpcError(
                ErrorCode.INVALID_PARAMS, f"client's answer to {method} is invalid: {exc}"
            ) from None
