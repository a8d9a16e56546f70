"""The JSON-RPC layer on its own, no process: every request gets one answer with its id, errors
carry their §7 code, our requests to the client get the client's answer as the declared type,
and a cancelled request is answered as cancelled."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from protocol.approval import FileReadApprovalParams, FileReadApprovalResult
from protocol.errors import ErrorCode, RpcError, ThreadNotFound
from protocol.lsp import ShowMessage
from server.framing import FrameError, frame, read_frame
from server.rpc import Connection


class Client:
    """The other end: what the connection wrote, decoded."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []
        self.connection = Connection(self.write)

    def write(self, data: bytes) -> None:
        head, _, body = data.partition(b"\r\n\r\n")
        assert head == b"Content-Length: %d" % len(body)
        self.sent.append(json.loads(body))

    def send(self, message: Any) -> None:
        self.connection.receive(json.dumps(message).encode())


def request(msg_id: Any, method: str, params: Any = None) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params}


def test_lifecycle_and_envelope_errors_carry_the_id_and_code() -> None:
    client = Client()
    conn = client.connection
    conn.requests["ping"] = lambda params: {"pong": params}
    client.send(request(1, "ping", {}))
    conn.initialized = True
    client.send(request(2, "ping", [1]))
    client.send(request(3, "nope", {}))
    client.send(request(4, "ping", "text"))
    client.send({"id": 5, "method": "ping"})
    client.connection.receive(b"{not json")
    client.send(request(1.5, "ping"))
    conn.shutting_down = True
    client.send(request(6, "ping", {}))
    got = [(m["id"], m.get("error", {}).get("code"), m.get("result")) for m in client.sent]
    assert got == [
        (1, ErrorCode.INVALID_REQUEST, None),  # before initialize
        (2, None, {"pong": [1]}),
        (3, ErrorCode.METHOD_NOT_FOUND, None),
        (4, ErrorCode.INVALID_PARAMS, None),
        (5, ErrorCode.INVALID_REQUEST, None),  # no "jsonrpc"
        (None, ErrorCode.PARSE_ERROR, None),
        (None, ErrorCode.INVALID_REQUEST, None),  # an id that is not a string or integer
        (6, ErrorCode.INVALID_REQUEST, None),  # after shutdown
    ]
    assert "initialize" in client.sent[0]["error"]["message"]


async def test_async_handlers_answer_with_their_result_or_error_code() -> None:
    client = Client()
    conn = client.connection
    conn.initialized = True

    async def find(params: Any) -> Any:
        if params["id"] != "known":
            raise ThreadNotFound(f"thread not found: {params['id']}")
        return ShowMessage(3, "a Struct goes out as its wire form")

    async def crash(_params: Any) -> Any:
        raise KeyError("bug")

    conn.requests.update({"find": find, "crash": crash})
    client.send(request("a", "find", {"id": "known"}))
    client.send(request("b", "find", {"id": "gone"}))
    client.send(request("c", "crash", {}))
    client.send({"jsonrpc": "2.0", "method": "no/such/notification", "params": {}})
    await asyncio.sleep(0.01)
    by_id = {m["id"]: m for m in client.sent}
    assert by_id["a"]["result"] == {"type": 3, "message": "a Struct goes out as its wire form"}
    assert by_id["b"]["error"] == {"code": -32001, "message": "thread not found: gone"}
    assert by_id["c"]["error"]["code"] == ErrorCode.INTERNAL_ERROR
    assert len(client.sent) == 3  # notifications get nothing


async def test_a_cancelled_request_is_answered_as_cancelled() -> None:
    client = Client()
    conn = client.connection
    conn.initialized = True
    conn.requests["wait"] = lambda _params: asyncio.sleep(60)
    client.send(request(9, "wait", {}))
    await asyncio.sleep(0)
    client.send({"jsonrpc": "2.0", "method": "$/cancelRequest", "params": {"id": 9}})
    await asyncio.sleep(0.01)
    (answer,) = client.sent
    assert answer["id"] == 9 and answer["error"]["code"] == ErrorCode.REQUEST_CANCELLED


async def test_requests_to_the_client_get_its_answer_as_the_declared_type() -> None:
    client = Client()
    conn = client.connection
    ask = FileReadApprovalParams(thread_id="t", turn_id="u", item_id="i", path="/etc/hosts")
    asking = asyncio.ensure_future(conn.request(ask))
    await asyncio.sleep(0)
    (sent,) = client.sent
    assert sent["method"] == "approval/fileRead" and sent["params"]["path"] == "/etc/hosts"
    client.send({"jsonrpc": "2.0", "id": sent["id"], "result": {"decision": "acceptForSession"}})
    assert await asking == FileReadApprovalResult(decision="acceptForSession")

    wrong = asyncio.ensure_future(conn.request(ask))
    await asyncio.sleep(0)
    client.send({"jsonrpc": "2.0", "id": client.sent[-1]["id"], "result": {"decision": "maybe"}})
    with pytest.raises(RpcError) as invalid:
        await wrong
    assert invalid.value.code == ErrorCode.INVALID_PARAMS and "$.decision" in invalid.value.message

    refused = asyncio.ensure_future(conn.request(ask))
    await asyncio.sleep(0)
    error = {"code": -32603, "message": "no"}
    client.send({"jsonrpc": "2.0", "id": client.sent[-1]["id"], "error": error})
    with pytest.raises(RpcError, match="client answered approval/fileRead with an error: no"):
        await refused

    cancelled = asyncio.ensure_future(conn.request(ask))
    await asyncio.sleep(0)
    asked = client.sent[-1]["id"]
    cancelled.cancel()
    with pytest.raises(asyncio.CancelledError):
        await cancelled
    assert client.sent[-1] == {
        "jsonrpc": "2.0",
        "method": "$/cancelRequest",
        "params": {"id": asked},
    }


async def test_read_frame_reads_bodies_and_reports_bad_headers() -> None:
    reader = asyncio.StreamReader(limit=64)
    reader.feed_data(
        b"\r\n" + frame({"a": 1}) + b"Content-Length: x\r\n\r\n" + b"Y" * 100 + b"\r\n"
    )
    reader.feed_data(frame([2]))
    reader.feed_eof()
    assert json.loads(await read_frame(reader) or b"") == {"a": 1}
    with pytest.raises(FrameError, match="bad Content-Length"):
        await read_frame(reader)
    with pytest.raises(FrameError, match="too long"):
        await read_frame(reader)
    bodies = []
    while True:
        try:
            body = await read_frame(reader)
        except FrameError:
            continue
        if body is None:
            break
        bodies.append(json.loads(body))
    assert bodies == [[2]]


def test_a_message_with_lone_surrogates_is_framed_with_replacement_characters() -> None:
    # A non-UTF-8 name decoded with surrogateescape cannot be JSON; the message still goes out.
    name = b"caf\xe9.txt".decode("utf-8", "surrogateescape")
    note = ShowMessage(type=3, message=f"changed {name}")
    body = frame({"jsonrpc": "2.0", "method": ShowMessage.METHOD, "params": note}).split(
        b"\r\n\r\n", 1
    )[1]
    assert json.loads(body)["params"]["message"] == "changed caf\ufffd.txt"
