"""Plays one scripted turn onto an HTTP connection: a reply, paced, or a fault.

Every function here answers one model request and returns whether the connection can
serve another (keep-alive) or must be closed. How the answer ended is stored on the
`RecordedRequest` so tests can wait for it and assert on it.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from tests.model_server.chat_api import chat_chunks, chat_json
from tests.model_server.http11 import ChunkedBody, response_head, send_json, sse_event
from tests.model_server.recording import RecordedRequest
from tests.model_server.responses_api import failed_event, response_events, response_json
from tests.model_server.script import Fault, Reply

SSE_HEADERS = {
    "content-type": "text/event-stream; charset=utf-8",
    "cache-control": "no-cache",
}

# A data line that is not JSON: what a buggy proxy or truncated write produces.
MALFORMED_EVENT = b'data: {"type": "response.output_text.delta", "delta": "cut\n\n'

# Waits while a stream is held; returns False when the client hung up meanwhile.
HoldGate = Callable[[RecordedRequest, asyncio.StreamReader], Awaitable[bool]]


@dataclass
class Connection:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    hold: HoldGate

    async def pause(self, seconds: float) -> bool:
        """Sleep; False (at once) if the client hangs up meanwhile."""
        return seconds <= 0 or await wait_unless_hung_up(self.reader, asyncio.sleep(seconds))


async def wait_unless_hung_up(
    reader: asyncio.StreamReader, waiting: Coroutine[Any, Any, object]
) -> bool:
    """Await `waiting` unless the client closes first; True when `waiting` finished.

    Watching for the hang-up reads from the connection; HTTP/1.1 clients send nothing while
    a response is pending, so nothing is lost.
    """
    hung_up = asyncio.ensure_future(reader.read(1))
    other = asyncio.ensure_future(waiting)
    try:
        await asyncio.wait({hung_up, other}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        hung_up.cancel()
        other.cancel()
        # The reader admits one waiter: let the cancelled read unwind before reuse.
        await asyncio.gather(hung_up, other, return_exceptions=True)
    return other.done() and not other.cancelled()


async def play_reply(conn: Connection, record: RecordedRequest, reply: Reply) -> bool:
    return await _play(conn, record, reply, None)


async def play_fault(conn: Connection, record: RecordedRequest, fault: Fault) -> bool:
    if fault.kind in ("disconnect", "malformed", "stream_error"):
        return await _play(conn, record, fault.reply, fault)
    if not await conn.pause(fault.headers_delay):
        record.finish("client_closed")
        return False
    if fault.kind == "drop":
        record.finish("dropped")
        return False
    headers = {"x-request-id": f"req_scripted_{record.index}"}
    if fault.retry_after is not None:
        headers["retry-after"] = f"{fault.retry_after:g}"
    message = fault.message or f"Scripted fault: HTTP {fault.http_status} from the model server."
    body = error_body(message, fault.http_status)
    if fault.kind == "unsupported_output_format":
        body = unsupported_parameter_body(
            "response_format" if record.api == "chat" else "text.format"
        )
    # Recorded before sending so a test that saw the answer also sees the outcome.
    record.finish("status")
    await send_json(conn.writer, fault.http_status, body, headers)
    return True


def unsupported_parameter_body(param: str) -> dict[str, object]:
    """OpenAI's answer to a parameter the model does not support."""
    message = (
        f"Unsupported parameter: '{param}' of type 'json_schema' is not supported with this model."
    )
    return {
        "error": {
            "message": message,
            "type": "invalid_request_error",
            "param": param,
            "code": "unsupported_parameter",
        }
    }


def error_body(message: str, status: int) -> dict[str, object]:
    kinds = {400: "invalid_request_error", 401: "authentication_error", 404: "not_found_error"}
    kind = kinds.get(status, "rate_limit_error" if status == 429 else "server_error")
    return {"error": {"message": message, "type": kind, "param": None, "code": None}}


async def _play(
    conn: Connection, record: RecordedRequest, reply: Reply, fault: Fault | None
) -> bool:
    if not await conn.pause(reply.headers_delay):
        record.finish("client_closed")
        return False
    try:
        if record.stream:
            return await _stream(conn, record, reply, fault)
        return await _send_whole(conn, record, reply, fault)
    except ConnectionError:
        record.finish("client_closed")
        return False


async def _send_whole(
    conn: Connection, record: RecordedRequest, reply: Reply, fault: Fault | None
) -> bool:
    build = chat_json if record.api == "chat" else response_json
    if fault is None:
        record.finish("completed")
        await send_json(conn.writer, 200, build(reply, record))
        return True
    if fault.kind == "stream_error":
        # Without a stream, a failure during generation is an ordinary error status.
        record.finish("stream_error")
        message = fault.message or "Scripted fault: the model failed while generating."
        await send_json(conn.writer, 500, error_body(message, 500))
        return True
    data = json.dumps(build(reply, record)).encode()
    cut = data[: len(data) // 2]
    if fault.kind == "disconnect":
        # Announce the whole body, send half, hang up: an incomplete body on the wire.
        head = {"content-type": "application/json", "content-length": str(len(data))}
        conn.writer.write(response_head(200, head) + cut)
        await conn.writer.drain()
        return _disconnect(conn, record)
    head = {"content-type": "application/json", "content-length": str(len(cut))}
    record.finish("malformed")
    conn.writer.write(response_head(200, head) + cut)
    await conn.writer.drain()
    return True


async def _stream(
    conn: Connection, record: RecordedRequest, reply: Reply, fault: Fault | None
) -> bool:
    events = encode_events(reply, record)
    # Positions are "before event i"; past the end means after the last event.
    cut_at = None if fault is None else min(fault.after_events, len(events))
    hold_at = None if reply.hold_after is None else min(reply.hold_after, len(events))
    body = ChunkedBody(conn.writer)
    await body.start(200, SSE_HEADERS)
    for i in range(len(events) + 1):
        if fault is not None and i == cut_at:
            if fault.kind == "disconnect":
                return _disconnect(conn, record)
            if fault.kind == "stream_error":
                record.finish("stream_error")
                await body.send(_in_band_error(record, fault, i))
                break
            record.finish("malformed")
            await body.send(MALFORMED_EVENT)
        if i == hold_at and not await conn.hold(record, conn.reader):
            record.finish("client_closed")
            return False
        if i == len(events):
            break
        if (i and not await conn.pause(reply.delay)) or conn.reader.at_eof():
            record.finish("client_closed")
            return False
        await body.send(events[i])
    await body.end()
    record.finish("completed")
    return True


def _disconnect(conn: Connection, record: RecordedRequest) -> bool:
    # Closing before the body is complete (for SSE: before the zero-length chunk) is what
    # a dropped upstream looks like to the client.
    record.finish("disconnected")
    conn.writer.close()
    return False


def _in_band_error(record: RecordedRequest, fault: Fault, sequence_number: int) -> bytes:
    message = fault.message or "Scripted fault: the model failed while generating."
    if record.api == "chat":
        return sse_event(json.dumps(error_body(message, 500)))
    event = failed_event(record, message, sequence_number)
    return sse_event(json.dumps(event), event["type"])


def encode_events(reply: Reply, record: RecordedRequest) -> list[bytes]:
    """The SSE events of `reply` on the wire API the request used, ready to send."""
    if record.api == "chat":
        chunks = [sse_event(json.dumps(chunk)) for chunk in chat_chunks(reply, record)]
        return [*chunks, sse_event("[DONE]")]
    return [sse_event(json.dumps(e), e["type"]) for e in response_events(reply, record)]
