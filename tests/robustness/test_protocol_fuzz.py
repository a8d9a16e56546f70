"""Bad input thrown by hypothesis at ONE running server per test: every request gets exactly one
JSON-RPC response carrying its id (an error saying what was wrong), bad frames get a parse
error, notifications get nothing, the process stays up, and afterwards a normal scripted turn
still runs. msgspec and the protocol's own Params types are the oracle for which params are
wrong and which field the error must name. Requests after `shutdown` and after a refused
`initialize` are checked on their own servers.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from protocol.methods import REQUESTS
from tests.e2e.raw import RawServer
from tests.model_server import ModelServer, Reply
from tests.robustness.wire import SYNC_PREFIX, Conversation, Message

FUZZ = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
TETHER_CODES = {-32001, -32002, -32003, -32004, -32601, -32602}
"""What a well-formed request with wrong content may get; never -32603 (a crash in a handler)."""
Run = Callable[[Coroutine[Any, Any, Any]], Any]

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
request_ids = st.integers(0, 2**31) | st.text(max_size=16).filter(
    lambda s: not s.startswith(SYNC_PREFIX)
)


def shaped(t: msgspec.inspect.Type) -> st.SearchStrategy[Any]:
    """Wire values of a protocol type as msgspec describes it (camelCase names, union tags)."""
    mi = msgspec.inspect
    simple: dict[type, st.SearchStrategy[Any]] = {
        mi.StrType: st.text(max_size=12),
        mi.IntType: st.integers(-5, 1000),
        mi.FloatType: st.floats(allow_nan=False, allow_infinity=False),
        mi.BoolType: st.booleans(),
        mi.NoneType: st.none(),
    }
    if type(t) in simple:
        return simple[type(t)]
    if isinstance(t, mi.LiteralType):
        return st.sampled_from(t.values)
    if isinstance(t, mi.ListType):
        return st.lists(shaped(t.item_type), max_size=3)
    if isinstance(t, mi.UnionType):
        return st.one_of([shaped(member) for member in t.types])
    if isinstance(t, mi.StructType):
        fields = {f.encode_name: shaped(f.type) for f in t.fields if f.required}
        optional = {f.encode_name: shaped(f.type) for f in t.fields if not f.required}
        values = st.fixed_dictionaries(fields, optional=optional)
        tag_field, tag = t.tag_field, t.tag
        return values if tag_field is None else values.map(lambda d: {tag_field: tag, **d})
    return json_values


@st.composite
def tether_requests(draw: st.DrawFn) -> tuple[Any, str, Any]:
    """(id, method, params) for a Tether method: params of the right shape, then often one
    field given a wrong value, one dropped, one unknown added, or no object at all."""
    method = draw(st.sampled_from(sorted(REQUESTS)))
    params: Any = draw(shaped(msgspec.inspect.type_info(REQUESTS[method].params)))
    mutation = draw(st.sampled_from(["none", "wrong", "drop", "extra", "not an object"]))
    if mutation == "wrong" and params:
        params[draw(st.sampled_from(sorted(params)))] = draw(json_values)
    elif mutation == "drop" and params:
        del params[draw(st.sampled_from(sorted(params)))]
    elif mutation == "extra":
        params[draw(st.text(max_size=8))] = draw(json_values)
    elif mutation == "not an object":
        params = draw(json_values.filter(lambda v: not isinstance(v, dict)))
    return draw(request_ids), method, params


@contextmanager
def one_server(
    home: Path, env: dict[str, str], *, initialize: bool = True
) -> Iterator[tuple[Conversation, Run]]:
    """One server process for a whole test, and `run` to drive it from plain (hypothesis)
    code: every example runs on the same event loop, against the same process."""
    with asyncio.Runner() as runner:
        server = runner.run(RawServer.start(home, env))
        conv = Conversation(server)
        try:
            if initialize:
                runner.run(conv.initialize())
            yield conv, runner.run
        finally:
            runner.run(server.close())


def exchange(conv: Conversation, run: Run, *messages: bytes | dict[str, Any]) -> list[Message]:
    """Send `messages` (raw bytes or JSON-RPC objects) and return what came back for them:
    everything up to a sync request's answer, and the answers to requests among them."""
    ids = tuple(
        m["id"]
        for m in messages
        if isinstance(m, dict) and "method" in m and isinstance(m.get("id"), str | int)
    )

    async def send_and_sync() -> list[Message]:
        for message in messages:
            if isinstance(message, bytes):
                conv.server.write(message)
            else:
                conv.server.send(message)
        return await conv.sync(ids, timeout=30)

    return run(send_and_sync())


def _responses(messages: list[Message]) -> list[Message]:
    return [m for m in messages if "method" not in m]


async def _normal_turn_still_works(
    conv: Conversation, model_server: ModelServer, workspace: Path
) -> None:
    assert conv.server.proc.returncode is None, "the server died"
    model_server.enqueue(Reply(text="still serving", deltas=5))
    thread = (await conv.result("thread/start", {"cwd": str(workspace)}))["thread"]
    turn = await conv.run_turn(thread["id"], "are you there?")
    assert turn["status"] == "completed", turn
    last = turn["items"][-1]
    assert last["type"] == "agentMessage" and last["text"] == "still serving"


def _structured(params: Any) -> bool:
    # Params that are neither object nor array are refused (-32602) before the method is
    # looked up; the check of the method name needs params of a legal shape.
    return params is None or isinstance(params, dict | list)


def _request(msg_id: Any, method: Any, params: Any) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params}


bad_envelopes = st.one_of(
    # Not a request object: the id cannot be trusted, so the error carries null.
    st.tuples(st.just(None), json_values.filter(lambda v: not isinstance(v, dict))),
    st.tuples(
        st.just(None),
        st.fixed_dictionaries(
            {
                "jsonrpc": st.just("2.0"),
                "id": st.floats(allow_nan=False, allow_infinity=False).filter(lambda f: f != int(f))
                | st.lists(st.integers(), max_size=2)
                | st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
                "method": st.sampled_from(sorted(REQUESTS)),
            }
        ),
    ),
    # A usable id but a broken envelope: the error carries that id.
    request_ids.flatmap(
        lambda i: st.tuples(
            st.just(i),
            st.fixed_dictionaries(
                {
                    "jsonrpc": json_values.filter(lambda v: v != "2.0"),
                    "id": st.just(i),
                    "method": st.sampled_from(sorted(REQUESTS)),
                }
            )
            | st.fixed_dictionaries(
                {
                    "jsonrpc": st.just("2.0"),
                    "id": st.just(i),
                    "method": json_values.filter(
                        lambda v: v is not None and not isinstance(v, str)
                    ),
                }
            ),
        )
    ),
)


def test_wrong_params_unknown_methods_and_bad_envelopes_each_get_one_error(
    tmp_path: Path, model_server: ModelServer, workspace: Path
) -> None:
    counts = {"valid": 0, "invalid": 0}
    with one_server(tmp_path / "home", model_server.env()) as (conv, run):

        @FUZZ
        @given(tether_requests())
        def wrong_params(example: tuple[Any, str, Any]) -> None:
            msg_id, method, params = example
            (response,) = _responses(exchange(conv, run, _request(msg_id, method, params)))
            assert response["id"] == msg_id
            try:
                msgspec.convert({} if params is None else params, REQUESTS[method].params)
            except msgspec.ValidationError as exc:
                counts["invalid"] += 1
                # The error names the field the protocol's own types reject.
                error = response.get("error")
                assert error is not None, response
                if error["code"] == -32601 and "not available yet" in error["message"]:
                    return  # a method whose feature has not landed refuses any params
                assert error["code"] == -32602, response
                where = re.search(r"at `(\$[^`]*)`", str(exc))
                assert where is None or where.group(1) in error["message"], (exc, error)
                return
            counts["valid"] += 1
            if "error" in response:
                assert response["error"]["code"] in TETHER_CODES, (method, params, response)
                assert response["error"]["message"]

        @FUZZ
        @given(request_ids, st.text(max_size=30), json_values.filter(_structured))
        def unknown_method(msg_id: Any, name: str, params: Any) -> None:
            got = exchange(conv, run, _request(msg_id, f"fuzz/{name}", params))
            (response,) = _responses(got)
            assert response["id"] == msg_id and response["error"]["code"] == -32601, response

        @FUZZ
        @given(bad_envelopes)
        def bad_envelope(example: tuple[Any, Any]) -> None:
            expected_id, message = example
            (response,) = _responses(exchange(conv, run, message))
            assert response["id"] == expected_id, (message, response)
            assert response["error"]["code"] == -32600, (message, response)

        # Omitting `params` is legal JSON-RPC (vscode-jsonrpc does it for parameterless calls).
        for method in ("model/list", "thread/list"):
            got = exchange(conv, run, {"jsonrpc": "2.0", "id": method, "method": method})
            (response,) = _responses(got)
            assert "result" in response, response

        wrong_params()
        unknown_method()
        bad_envelope()
        print(
            f"fuzz: {counts['valid']} Tether requests with well-typed params, "
            f"{counts['invalid']} with wrong ones"
        )
        run(_normal_turn_still_works(conv, model_server, workspace))


def _not_json(data: bytes) -> bool:
    try:
        json.loads(data)
    except (ValueError, UnicodeDecodeError):
        return True
    return False


frames = st.one_of(
    # A well-framed body that is not JSON.
    st.binary(max_size=200)
    .filter(_not_json)
    .map(lambda b: (-32700, b"Content-Length: %d\r\n\r\n%s" % (len(b), b))),
    # A header the framing cannot read, sent without a body.
    st.sampled_from(["abc", "-1", "1e3", "", "268435457", "99999999999999999999", "0x10"]).map(
        lambda v: (-32700, f"Content-Length: {v}\r\n\r\n".encode())
    ),
    # Headers without Content-Length followed by a blank line: nothing to answer.
    st.lists(
        st.from_regex(r"\A[A-Za-z-]{1,12}: [ -~]{0,30}\Z", fullmatch=True).filter(
            lambda h: not h.lower().startswith("content-length")
        ),
        min_size=1,
        max_size=3,
    ).map(lambda hs: (None, ("\r\n".join(hs) + "\r\n\r\n").encode())),
    # Stray blank lines between messages.
    st.integers(1, 5).map(lambda n: (None, b"\r\n" * n)),
    # A header line longer than the reader's buffer.
    st.integers(1024 * 1024 + 1, 3 * 1024 * 1024).map(lambda n: (-32700, b"X" * n + b"\r\n\r\n")),
)


def test_malformed_frames_get_parse_errors_and_the_stream_recovers(
    tmp_path: Path, model_server: ModelServer, workspace: Path
) -> None:
    with one_server(tmp_path / "home", model_server.env()) as (conv, run):

        @settings(FUZZ, max_examples=40)
        @given(frames)
        def malformed(example: tuple[int | None, bytes]) -> None:
            code, data = example
            errors = _responses(exchange(conv, run, data))
            if code is None:
                assert errors == []
            else:
                # A header line too long for the reader is skipped one buffer at a time, with
                # a parse error for each; everything else gets exactly one.
                assert len(errors) == 1 or len(data) > 1024 * 1024
                assert {(e["id"], e["error"]["code"]) for e in errors} == {(None, code)}

        malformed()
        run(_normal_turn_still_works(conv, model_server, workspace))


def test_requests_before_initialize_are_refused_with_their_id(
    tmp_path: Path, model_server: ModelServer, workspace: Path
) -> None:
    methods = st.sampled_from([*sorted(REQUESTS), "shutdown", "textDocument/hover"]) | st.text(
        max_size=20
    ).filter(lambda m: m != "initialize")
    notifications = st.sampled_from(["initialized", "textDocument/didOpen", "$/cancelRequest"])
    with one_server(tmp_path / "home", model_server.env(), initialize=False) as (conv, run):

        @FUZZ
        @given(request_ids, methods, json_values, notifications, json_values)
        def early(msg_id: Any, method: str, params: Any, note: str, note_params: Any) -> None:
            notification = {"jsonrpc": "2.0", "method": note, "params": note_params}
            # The sync request is refused too (not initialized); its error is the marker.
            got = exchange(conv, run, notification, _request(msg_id, method, params))
            (response,) = _responses(got)
            assert response["id"] == msg_id, response
            assert response["error"]["code"] == -32600, response
            assert "initialize" in response["error"]["message"]

        early()
        run(conv.initialize())
        run(_normal_turn_still_works(conv, model_server, workspace))


def test_notifications_out_of_order_are_answered_by_nothing(
    tmp_path: Path, model_server: ModelServer, workspace: Path
) -> None:
    uri = (workspace / "src" / "calc.py").as_uri()
    opened = {"uri": uri, "languageId": "python", "version": 1, "text": "# open\n"}
    out_of_order = st.one_of(
        st.just({"method": "initialized", "params": {}}),
        st.integers(0, 9).map(
            lambda v: {
                "method": "textDocument/didClose",
                "params": {"textDocument": {"uri": f"file:///never/opened{v}.py"}},
            }
        ),
        request_ids.map(lambda i: {"method": "$/cancelRequest", "params": {"id": i}}),
        # Server-to-client notifications sent the wrong way.
        st.builds(
            lambda m, p: {"method": m, "params": p},
            st.sampled_from(["turn/started", "item/completed", "thread/started"]),
            json_values,
        ),
        # Responses to requests the server never sent.
        st.builds(lambda i, r: {"id": i, "result": r}, request_ids, json_values),
        request_ids.map(lambda i: {"id": i, "error": {"code": -1, "message": "nobody asked"}}),
        # Changes to documents never opened (or already closed).
        st.integers(0, 9).map(
            lambda v: {
                "method": "textDocument/didChange",
                "params": {
                    "textDocument": {"uri": f"file:///never/opened{v}.py", "version": v},
                    "contentChanges": [{"text": "x"}],
                },
            }
        ),
        st.just(
            {
                "method": "textDocument/didChange",
                "params": {
                    "textDocument": {"uri": uri, "version": 9},
                    "contentChanges": [{"text": "# changed\n"}],
                },
            }
        ),
        # Opened twice, closed twice.
        st.just({"method": "textDocument/didClose", "params": {"textDocument": {"uri": uri}}}),
        st.just({"method": "textDocument/didOpen", "params": {"textDocument": opened}}),
    )
    with one_server(tmp_path / "home", model_server.env()) as (conv, run):

        @FUZZ
        @given(st.lists(out_of_order, min_size=1, max_size=6))
        def sequence(messages: list[dict[str, Any]]) -> None:
            got = exchange(conv, run, *({"jsonrpc": "2.0", **m} for m in messages))
            assert _responses(got) == []
            # Nothing to tell the user either: a client's slip is logged, not shown.
            assert [m for m in got if m.get("method") == "window/showMessage"] == []

        sequence()
        run(_normal_turn_still_works(conv, model_server, workspace))


def test_ten_megabyte_messages_are_read_whole_and_answered(
    tmp_path: Path, model_server: ModelServer, workspace: Path
) -> None:
    big = "x" * 10_000_000

    async def body(conv: Conversation) -> None:
        thread = (await conv.result("thread/start", {"cwd": str(workspace)}))["thread"]
        started = time.monotonic()
        text = [{"type": "text", "text": big}]
        missing = await conv.call("turn/start", {"threadId": "thr_gone", "input": text}, 60)
        assert missing["error"]["code"] == -32001
        print(f"10 MB request answered in {time.monotonic() - started:.2f} s")
        wrong = await conv.call("thread/setMode", {"threadId": thread["id"], "mode": big}, 60)
        assert wrong["error"]["code"] == -32602 and "$.mode" in wrong["error"]["message"]
        # 10 MB that is not JSON, then a 10 MB header line.
        conv.server.write(b"Content-Length: 10000000\r\n\r\n" + b"{" * 10_000_000)
        conv.server.write(b"Y" * 10_000_000 + b"\r\n\r\n")
        errors = _responses(await conv.sync(timeout=60))
        # One error for the body; the header line is skipped a reader buffer (1 MB) at a time.
        assert len(errors) >= 2
        assert {(e["id"], e["error"]["code"]) for e in errors} == {(None, -32700)}
        # A 10 MB editor buffer the server keeps.
        path = workspace / "big.txt"
        path.write_text("on disk\n")
        document = {"uri": path.as_uri(), "languageId": "text", "version": 1, "text": big}
        conv.server.send(
            {
                "jsonrpc": "2.0",
                "method": "textDocument/didOpen",
                "params": {"textDocument": document},
            }
        )
        await conv.sync(timeout=60)
        await _normal_turn_still_works(conv, model_server, workspace)

    with one_server(tmp_path / "home", model_server.env()) as (conv, run):
        run(body(conv))


def test_a_request_after_shutdown_gets_an_error(tmp_path: Path, model_server: ModelServer) -> None:
    with one_server(tmp_path / "home", model_server.env()) as (conv, run):
        assert "result" in run(conv.call("shutdown"))
        late = run(conv.call("thread/list", {}, timeout=3))
        assert late["error"]["code"] == -32600


def test_a_failed_initialize_leaves_the_server_uninitialized(
    tmp_path: Path, model_server: ModelServer
) -> None:
    with one_server(tmp_path / "home", model_server.env(), initialize=False) as (conv, run):
        bad = run(conv.call("initialize", {"capabilities": 5}))
        assert bad["error"]["code"] == -32602
        early = run(conv.call("thread/list", {}))
        assert early.get("error", {}).get("code") == -32600, early
