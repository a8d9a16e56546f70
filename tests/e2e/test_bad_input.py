"""Bad input gets a JSON-RPC error naming what was wrong, and the server keeps serving."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.raw import RawServer
from tests.model_server import ModelServer, Reply


async def test_bad_frames_and_params_get_errors_and_a_turn_still_works(
    tmp_path: Path, model_server: ModelServer, workspace: Path
) -> None:
    server = await RawServer.start(tmp_path / "home", model_server.env())
    try:
        # A request before initialize.
        server.send({"jsonrpc": "2.0", "id": 1, "method": "thread/list", "params": {}})
        early = await server.response(1)
        assert early["error"]["code"] == -32600 and "initialize" in early["error"]["message"]
        await server.initialize()

        # Not JSON.
        server.write(b"Content-Length: 9\r\n\r\n{not json")
        parse = await server.receive()
        assert parse["id"] is None and parse["error"]["code"] == -32700
        # Not a request object.
        server.send([1, 2, 3])
        assert (await server.receive())["error"]["code"] == -32600
        server.send({"id": 2, "method": "thread/list"})  # no "jsonrpc"
        assert (await server.response(2))["error"]["code"] == -32600
        # Unknown method.
        server.send({"jsonrpc": "2.0", "id": 3, "method": "thread/explode", "params": {}})
        assert (await server.response(3))["error"]["code"] == -32601
        # Wrong param types: the message names the field.
        server.send({"jsonrpc": "2.0", "id": 4, "method": "thread/start", "params": {"cwd": 7}})
        wrong = await server.response(4)
        assert wrong["error"]["code"] == -32602 and "$.cwd" in wrong["error"]["message"]
        server.send(
            {
                "jsonrpc": "2.0",
                "id": 5,
                "method": "turn/start",
                "params": {"threadId": "t", "input": [{"type": "video"}]},
            }
        )
        union = await server.response(5)
        assert union["error"]["code"] == -32602 and "$.input[0]" in union["error"]["message"]
        server.send({"jsonrpc": "2.0", "id": 6, "method": "thread/start", "params": "cwd"})
        assert (await server.response(6))["error"]["code"] == -32602
        # A bad LSP notification is dropped; the server lives on.
        server.send({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"x": 1}})
        # Well-formed but unknown thread.
        server.send(
            {
                "jsonrpc": "2.0",
                "id": 7,
                "method": "thread/read",
                "params": {"threadId": "thr_missing"},
            }
        )
        assert (await server.response(7))["error"]["code"] == -32001
        # A 10 MB message is read whole and answered.
        server.send(
            {
                "jsonrpc": "2.0",
                "id": 8,
                "method": "thread/list",
                "params": {"cursor": "x" * 10_000_000},
            }
        )
        assert (await server.response(8, timeout=30))["error"]["code"] == -32602

        # After all that, a normal turn still runs.
        model_server.enqueue(Reply(text="still here"))
        server.send(
            {"jsonrpc": "2.0", "id": 9, "method": "thread/start", "params": {"cwd": str(workspace)}}
        )
        thread = (await server.response(9))["result"]["thread"]
        server.send(
            {
                "jsonrpc": "2.0",
                "id": 10,
                "method": "turn/start",
                "params": {"threadId": thread["id"], "input": [{"type": "text", "text": "ping"}]},
            }
        )
        assert (await server.response(10))["result"]["turn"]["status"] == "inProgress"
        while True:
            message = await server.receive()
            if message.get("method") == "turn/completed":
                break
        assert message["params"]["turn"]["status"] == "completed"
        assert message["params"]["turn"]["items"][-1]["text"] == "still here"
    finally:
        await server.close()


async def test_missing_model_configuration_is_error_32003(tmp_path: Path, workspace: Path) -> None:
    server = await RawServer.start(tmp_path / "home")  # no key, no base URL
    try:
        await server.initialize()
        server.send(
            {"jsonrpc": "2.0", "id": 1, "method": "thread/start", "params": {"cwd": str(workspace)}}
        )
        thread = (await server.response(1))["result"]["thread"]
        server.send(
            {
                "jsonrpc": "2.0",
                "id": 2,
                "method": "turn/start",
                "params": {"threadId": thread["id"], "input": [{"type": "text", "text": "hi"}]},
            }
        )
        error = (await server.response(2))["error"]
        assert error["code"] == -32003
        assert "OPENAI_API_KEY" in error["message"] and "OPENAI_BASE_URL" in error["message"]
    finally:
        await server.close()


async def test_closing_stdin_ends_the_server(tmp_path: Path) -> None:
    server = await RawServer.start(tmp_path / "home")
    await server.initialize()
    assert await server.close() == 0
