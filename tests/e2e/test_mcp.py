"""MCP servers end to end: the real server, the scripted model, real MCP servers (issue 18).

The servers are tests/mcp/servers/* (written with the SDK's server side) and mcp-server-time
(PyPI), started by Tether over stdio in the thread's sandbox, or reached over streamable HTTP
on 127.0.0.1. Faults: a server slower than its start-up timeout, one that crashes mid-call, one
that writes garbage to stdout, one with 300 tools, an HTTP server that never answers, a tool
call that hangs.
"""

from __future__ import annotations

import json
import shlex
import socket
import subprocess
import sys
import threading
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.harness import Tether
from tests.mcp.servers.basic import PNG
from tests.mcp.setup import SERVERS, python_server, write_user_config
from tests.model_server import ModelServer, Reply, ToolCall


async def status(
    tether: Tether, thread_id: str, name: str, wanted: str, timeout: float = 30.0
) -> dict[str, Any]:
    note = await tether.wait_for(
        "mcpServer/statusChanged",
        lambda p: (
            p["threadId"] == thread_id
            and p["server"]["name"] == name
            and p["server"]["status"] == wanted
        ),
        timeout,
    )
    return note["server"]


async def ready(tether: Tether, thread_id: str, name: str, timeout: float = 30.0) -> dict[str, Any]:
    return await status(tether, thread_id, name, "ready", timeout)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def http_server() -> Iterator[str]:
    """tests/mcp/servers/basic.py over streamable HTTP on 127.0.0.1; its URL."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, str(SERVERS / "basic.py"), "http", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if proc.poll() is not None:
                    raise RuntimeError("the HTTP test server exited") from None
                threading.Event().wait(0.05)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        proc.kill()
        proc.wait()


@pytest.fixture
def silent_http() -> Iterator[str]:
    """An HTTP server that accepts connections and reads requests but never answers."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.2)
    stop, held = threading.Event(), []

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            held.append(conn)  # kept open, never written to

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}/mcp"
    stop.set()
    thread.join(1)
    for conn in held:
        conn.close()
    server.close()


async def test_stdio_tool_call_reaches_the_model(
    tether: Tether, model_server: ModelServer, workspace: Path, tmp_path: Path
) -> None:
    write_user_config(tmp_path / "home", {"basic": python_server("basic.py")})
    thread = await tether.start_thread(workspace, mode="agent")
    server = await ready(tether, thread["id"], "basic")
    assert server["sandbox"] == "workspaceWrite" and server["transport"] == "stdio"
    assert "mcp__basic__echo" in [t["modelName"] for t in server["tools"]]
    model_server.enqueue(
        Reply(
            tool_calls=[
                ToolCall("mcp__basic__echo", {"text": "hi"}, call_id="c1"),
                ToolCall("mcp__basic__add", {"a": 2, "b": 3}, call_id="c2"),
                ToolCall("mcp__basic__fail", {}, call_id="c3"),
                ToolCall("mcp__basic__picture", {}, call_id="c4"),
                ToolCall("mcp__basic__big", {}, call_id="c5"),
            ]
        ),
        Reply(text="done"),
    )
    turn = await tether.run_turn(thread["id"], "use the tools")
    assert turn["status"] == "completed", turn
    assert "mcp__basic__echo" in model_server.requests[0].tools
    outputs = model_server.requests[1].tool_outputs()
    assert outputs["c1"].startswith("echo: hi")
    assert '"sum": 5' in outputs["c2"]
    assert "this tool always fails" in outputs["c3"] and "reported an error" in outputs["c3"]
    assert "[image image/png" in outputs["c4"]
    # The image itself reaches the model as an attachment after the calls' results.
    assert model_server.requests[1].user_images()[-1] == [f"data:image/png;base64,{PNG}"]
    assert "MCP results are capped at 25000 tokens" in outputs["c5"]
    assert 90_000 < len(outputs["c5"]) < 101_000  # the 25k-token cap, not the 24k-char one
    items = {i["tool"]: i for i in tether.items(turn, "mcpToolCall")}
    echo = items["echo"]
    assert echo["server"] == "basic" and echo["status"] == "completed"
    assert echo["arguments"] == {"text": "hi"}
    assert echo["result"]["content"] == [{"type": "text", "text": "echo: hi"}]
    assert isinstance(echo["durationMs"], int)
    assert items["add"]["result"]["structuredContent"] == {"sum": 5}
    assert items["fail"]["status"] == "failed" and items["fail"]["result"]["isError"]
    assert items["picture"]["result"]["content"][1] == {"type": "image", "mimeType": "image/png"}
    assert items["big"]["result"]["truncated"] is True
    listed = await tether.request("mcpServer/list", {"threadId": thread["id"]})
    assert [s["name"] for s in listed["servers"]] == ["basic"]
    assert listed["servers"][0]["status"] == "ready"


async def test_streamable_http_server(
    tether: Tether, model_server: ModelServer, workspace: Path, tmp_path: Path, http_server: str
) -> None:
    write_user_config(
        tmp_path / "home",
        {"web": {"url": http_server, "http_headers": {"X-Test": "1"}}},
    )
    thread = await tether.start_thread(workspace, mode="readOnly")
    server = await ready(tether, thread["id"], "web")
    assert (server["transport"], server["sandbox"]) == ("http", "remote")
    model_server.enqueue(
        Reply(tool_calls=[ToolCall("mcp__web__echo", {"text": "over http"}, call_id="c1")]),
        Reply(text="done"),
    )
    turn = await tether.run_turn(thread["id"], "echo")
    assert turn["status"] == "completed", turn
    assert model_server.requests[1].tool_outputs()["c1"].startswith("echo: over http")
    assert tether.approvals == []  # read-only, closed world: unasked even in readOnly


async def test_approvals_decline_accept_always_and_full_access(
    tether: Tether, model_server: ModelServer, workspace: Path, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    write_user_config(home, {"basic": python_server("basic.py")}, extra="# my settings\n")
    answers = iter(["decline", "acceptAlways"])
    tether.approver = lambda method, params: {"decision": next(answers)}
    thread = await tether.start_thread(workspace, mode="agent")
    await ready(tether, thread["id"], "basic")
    note = workspace / "note.txt"
    call = {"path": str(note), "text": "hello"}
    model_server.enqueue(
        Reply(tool_calls=[ToolCall("mcp__basic__write_note", call, call_id="c1")]),
        Reply(tool_calls=[ToolCall("mcp__basic__write_note", call, call_id="c2")]),
        Reply(text="done"),
    )
    turn = await tether.run_turn(thread["id"], "write a note")
    assert turn["status"] == "completed", turn
    (method, params), _ = tether.approvals
    assert method == "approval/mcpToolCall"
    assert (params["server"], params["tool"], params["arguments"]) == ("basic", "write_note", call)
    assert "not marked read-only" in params["reason"]
    assert "declined" in model_server.requests[1].tool_outputs()["c1"]
    assert model_server.requests[2].tool_outputs()["c2"] == f"wrote {note}"
    assert note.read_text() == "hello"
    first, second = tether.items(turn, "mcpToolCall")
    assert (first["status"], second["status"]) == ("declined", "completed")
    # acceptAlways wrote the user's config, keeping what was there.
    text = (home / "config.toml").read_text()
    assert text.startswith("# my settings")
    assert tomllib.loads(text)["mcp_servers"]["basic"]["tools"]["write_note"] == {
        "approval_mode": "approve"
    }
    # A new thread (the config read again) runs it unasked.
    thread2 = await tether.start_thread(workspace, mode="agent")
    await ready(tether, thread2["id"], "basic")
    model_server.enqueue(
        Reply(tool_calls=[ToolCall("mcp__basic__write_note", call, call_id="c3")]),
        Reply(text="done"),
    )
    turn2 = await tether.run_turn(thread2["id"], "again")
    assert turn2["status"] == "completed" and len(tether.approvals) == 2


async def test_full_access_runs_unasked_and_prompt_mode_always_asks(
    tether: Tether, model_server: ModelServer, workspace: Path, tmp_path: Path
) -> None:
    entry = python_server("basic.py", tools={"echo": {"approval_mode": "prompt"}})
    write_user_config(tmp_path / "home", {"basic": entry})
    tether.approver = lambda method, params: {"decision": "acceptForSession"}
    thread = await tether.start_thread(workspace, mode="fullAccess")
    await ready(tether, thread["id"], "basic")
    note = workspace / "n.txt"
    model_server.enqueue(
        Reply(
            tool_calls=[
                ToolCall("mcp__basic__write_note", {"path": str(note), "text": "x"}, call_id="c1"),
                ToolCall("mcp__basic__echo", {"text": "a"}, call_id="c2"),
                ToolCall("mcp__basic__echo", {"text": "b"}, call_id="c3"),
            ]
        ),
        Reply(text="done"),
    )
    turn = await tether.run_turn(thread["id"], "go")
    assert turn["status"] == "completed", turn
    assert note.read_text() == "x"
    # write_note: unasked in fullAccess; echo: asked once (prompt), then for the session.
    assert [(m, p["tool"]) for m, p in tether.approvals] == [("approval/mcpToolCall", "echo")]


async def test_elicitation_form_and_url(
    tether: Tether, model_server: ModelServer, workspace: Path, tmp_path: Path
) -> None:
    write_user_config(tmp_path / "home", {"basic": python_server("basic.py")})

    def answer(method: str, params: dict[str, Any]) -> dict[str, Any]:
        if params.get("mode") == "form":
            return {"action": "accept", "content": {"name": "Ada", "ok": True}}
        return {"action": "decline"}

    tether.approver = answer
    thread = await tether.start_thread(workspace, mode="agent")
    await ready(tether, thread["id"], "basic")
    model_server.enqueue(
        Reply(
            tool_calls=[
                ToolCall("mcp__basic__ask", {}, call_id="c1"),
                ToolCall("mcp__basic__login", {}, call_id="c2"),
            ]
        ),
        Reply(text="done"),
    )
    turn = await tether.run_turn(thread["id"], "ask me")
    assert turn["status"] == "completed", turn
    outputs = model_server.requests[1].tool_outputs()
    assert outputs["c1"].startswith("the user said Ada (True)")
    assert outputs["c2"].startswith("url elicitation: decline")
    form, url = [p for m, p in tether.approvals if m == "mcpServer/elicitation"]
    assert form["mode"] == "form" and form["message"] == "What is your name?"
    assert form["server"] == "basic" and form["turnId"] == turn["id"]
    assert set(form["requestedSchema"]["properties"]) == {"name", "ok"}
    assert (url["mode"], url["url"], url["elicitationId"]) == (
        "url",
        "https://example.invalid/login",
        "e1",
    )


async def test_required_server_slower_than_its_timeout_fails_the_turn_naming_it(
    tether: Tether, model_server: ModelServer, workspace: Path, tmp_path: Path
) -> None:
    write_user_config(
        tmp_path / "home",
        {
            "slow": python_server("faults.py", "slow", "600", required=True, startup_timeout_sec=2),
            "basic": python_server("basic.py"),
        },
    )
    thread = await tether.start_thread(workspace, mode="agent")  # answers without waiting
    listed = await tether.request("mcpServer/list", {"threadId": thread["id"]})
    assert {s["name"]: s.get("required", False) for s in listed["servers"]} == {
        "slow": True,
        "basic": False,
    }
    turn = await tether.run_turn(thread["id"], "hello", timeout=60)
    assert turn["status"] == "failed", turn
    assert turn["error"]["code"] == "mcpServerRequired"
    assert "MCP server `slow` is required but not ready" in turn["error"]["message"]
    assert "did not start within 2 s" in turn["error"]["message"]
    assert model_server.requests == []  # the model was never called


async def test_slow_optional_server_does_not_hold_the_turn(
    tether: Tether, model_server: ModelServer, workspace: Path, tmp_path: Path
) -> None:
    write_user_config(tmp_path / "home", {"slow": python_server("faults.py", "slow", "600")})
    thread = await tether.start_thread(workspace, mode="agent")
    model_server.enqueue(Reply(text="hi"))
    turn = await tether.run_turn(thread["id"], "hello")
    assert turn["status"] == "completed", turn
    assert not [t for t in model_server.requests[0].tools if t.startswith("mcp__")]


async def test_crash_mid_call_is_reported_and_the_server_restarts(
    tether: Tether, model_server: ModelServer, workspace: Path, tmp_path: Path
) -> None:
    write_user_config(tmp_path / "home", {"basic": python_server("basic.py")})
    thread = await tether.start_thread(workspace, mode="agent")
    await ready(tether, thread["id"], "basic")
    model_server.enqueue(
        Reply(tool_calls=[ToolCall("mcp__basic__crash", {}, call_id="c1")]),
        Reply(text="it crashed"),
    )
    turn = await tether.run_turn(thread["id"], "crash it")
    assert turn["status"] == "completed", turn
    assert "went away during the call" in model_server.requests[1].tool_outputs()["c1"]
    (item,) = tether.items(turn, "mcpToolCall")
    assert item["status"] == "failed" and "went away" in item["error"]
    failed = await status(tether, thread["id"], "basic", "failed")
    assert "exited (code 3)" in failed["error"] and "restarting in" in failed["error"]
    again = await tether.wait_for(
        "mcpServer/statusChanged",
        lambda p: p["server"]["status"] == "ready" and p["server"].get("restarts", 0) >= 1,
        30,
    )
    assert again["server"]["name"] == "basic"
    model_server.enqueue(
        Reply(tool_calls=[ToolCall("mcp__basic__echo", {"text": "back"}, call_id="c2")]),
        Reply(text="ok"),
    )
    turn2 = await tether.run_turn(thread["id"], "again")
    assert turn2["status"] == "completed"
    assert model_server.requests[-1].tool_outputs()["c2"].startswith("echo: back")


async def test_server_that_cannot_start_says_why(
    tether: Tether, workspace: Path, tmp_path: Path
) -> None:
    write_user_config(tmp_path / "home", {"broken": python_server("faults.py", "exit")})
    thread = await tether.start_thread(workspace, mode="agent")
    failed = await status(tether, thread["id"], "broken", "failed")
    assert "missing FAULT_DB" in failed["error"]


async def test_garbage_on_stdout_is_ignored(
    tether: Tether, model_server: ModelServer, workspace: Path, tmp_path: Path
) -> None:
    write_user_config(
        tmp_path / "home", {"noisy": python_server("basic.py", env={"BASIC_BANNER": "1"})}
    )
    thread = await tether.start_thread(workspace, mode="agent")
    server = await ready(tether, thread["id"], "noisy")
    assert "not JSON-RPC and were ignored" in server["error"]
    model_server.enqueue(
        Reply(tool_calls=[ToolCall("mcp__noisy__echo", {"text": "x"}, call_id="c1")]),
        Reply(text="ok"),
    )
    turn = await tether.run_turn(thread["id"], "echo")
    assert turn["status"] == "completed", turn
    assert model_server.requests[1].tool_outputs()["c1"].startswith("echo: x")


async def test_hung_tool_call_ends_at_its_timeout_and_the_turn_goes_on(
    tether: Tether, model_server: ModelServer, workspace: Path, tmp_path: Path
) -> None:
    write_user_config(tmp_path / "home", {"basic": python_server("basic.py", tool_timeout_sec=1)})
    thread = await tether.start_thread(workspace, mode="agent")
    await ready(tether, thread["id"], "basic")
    model_server.enqueue(
        Reply(tool_calls=[ToolCall("mcp__basic__sleep", {"seconds": 120}, call_id="c1")]),
        Reply(tool_calls=[ToolCall("mcp__basic__echo", {"text": "after"}, call_id="c2")]),
        Reply(text="ok"),
    )
    turn = await tether.run_turn(thread["id"], "sleep", timeout=60)
    assert turn["status"] == "completed", turn
    assert "did not answer within 1 s" in model_server.requests[1].tool_outputs()["c1"]
    assert model_server.requests[2].tool_outputs()["c2"].startswith("echo: after")


async def test_http_server_that_never_answers(
    tether: Tether, model_server: ModelServer, workspace: Path, tmp_path: Path, silent_http: str
) -> None:
    write_user_config(
        tmp_path / "home",
        {
            "mute": {"url": silent_http, "startup_timeout_sec": 2},
            "basic": python_server("basic.py"),
        },
    )
    thread = await tether.start_thread(workspace, mode="agent")
    failed = await status(tether, thread["id"], "mute", "failed")
    assert "did not start within 2 s" in failed["error"]
    await ready(tether, thread["id"], "basic")
    model_server.enqueue(Reply(text="hi"))
    turn = await tether.run_turn(thread["id"], "hello")
    assert turn["status"] == "completed", turn
    tools = model_server.requests[0].tools
    assert "mcp__basic__echo" in tools and not [t for t in tools if t.startswith("mcp__mute")]


async def test_300_tools_are_found_through_tool_search(
    tether: Tether, model_server: ModelServer, workspace: Path, tmp_path: Path
) -> None:
    write_user_config(
        tmp_path / "home",
        {"many": python_server("faults.py", "many", "300")},
        extra="context_window = 100000\n",
    )
    thread = await tether.start_thread(workspace, mode="agent")
    server = await ready(tether, thread["id"], "many")
    assert server["toolCount"] == 300
    model_server.enqueue(
        Reply(tool_calls=[ToolCall("mcp_tool_search", {"query": "invoice 017"}, call_id="c1")]),
        Reply(
            tool_calls=[ToolCall("mcp__many__invoice_lookup_017", {"query": "acme"}, call_id="c2")]
        ),
        Reply(text="done"),
    )
    turn = await tether.run_turn(thread["id"], "find the invoice")
    assert turn["status"] == "completed", turn
    first = model_server.requests[0].tools
    assert "mcp_tool_search" in first and not [t for t in first if t.startswith("mcp__")]
    found = json.loads(model_server.requests[1].tool_outputs()["c1"])
    assert found[0]["name"] == "mcp__many__invoice_lookup_017"
    assert found[0]["parameters"]["properties"]["query"]["type"] == "string"
    assert "mcp__many__invoice_lookup_017" in model_server.requests[1].tools  # loaded now
    assert "invoice tool 17 answered 'acme'" in model_server.requests[2].tool_outputs()["c2"]


async def test_project_server_waits_for_trust_and_a_change_asks_again(
    tether: Tether, model_server: ModelServer, workspace: Path
) -> None:
    definition = {"command": sys.executable, "args": [str(SERVERS / "basic.py")]}
    (workspace / ".mcp.json").write_text(json.dumps({"mcpServers": {"proj": definition}}))
    thread = await tether.start_thread(workspace, mode="agent")
    listed = (await tether.request("mcpServer/list", {"threadId": thread["id"]}))["servers"]
    (proj,) = listed
    assert (proj["status"], proj["project"], proj["trust"]) == ("untrusted", True, "unknown")
    assert proj["source"] == str(workspace / ".mcp.json")
    bad = await _error(tether, "mcpServer/trust", thread["id"], "proj", "0" * 64)
    assert "changed since it was listed" in bad
    await tether.request(
        "mcpServer/trust",
        {"threadId": thread["id"], "name": "proj", "digest": proj["digest"], "decision": "accept"},
    )
    await ready(tether, thread["id"], "proj")
    # A changed definition is untrusted again (a new thread reads it anew).
    definition["args"].append("--changed")
    (workspace / ".mcp.json").write_text(json.dumps({"mcpServers": {"proj": definition}}))
    thread2 = await tether.start_thread(workspace, mode="agent")
    (again,) = (await tether.request("mcpServer/list", {"threadId": thread2["id"]}))["servers"]
    assert again["status"] == "untrusted" and again["digest"] != proj["digest"]


async def _error(tether: Tether, method: str, thread_id: str, name: str, digest: str) -> str:
    try:
        await tether.request(
            method, {"threadId": thread_id, "name": name, "digest": digest, "decision": "accept"}
        )
    except Exception as exc:  # pygls raises the JSON-RPC error
        return str(exc)
    raise AssertionError("no error")


async def test_reload_restarts_and_disabled_servers(
    tether: Tether, workspace: Path, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    write_user_config(
        home, {"basic": python_server("basic.py"), "off": {"command": "x", "enabled": False}}
    )
    thread = await tether.start_thread(workspace, mode="agent")
    await ready(tether, thread["id"], "basic")
    listed = (await tether.request("mcpServer/list", {"threadId": thread["id"]}))["servers"]
    assert {s["name"]: s["status"] for s in listed} == {"basic": "ready", "off": "disabled"}
    result = await tether.request("mcpServer/reload", {"threadId": thread["id"], "name": "basic"})
    assert [s["name"] for s in result["servers"]] == ["basic", "off"]
    await ready(tether, thread["id"], "basic")
    write_user_config(home, {"other": python_server("basic.py")})
    result = await tether.request("mcpServer/reload", {"threadId": thread["id"]})
    assert [s["name"] for s in result["servers"]] == ["other"]
    await ready(tether, thread["id"], "other")


async def test_mcp_server_time_from_pypi(
    tether: Tether, model_server: ModelServer, workspace: Path, tmp_path: Path
) -> None:
    entry = {
        "command": sys.executable,
        "args": ["-m", "mcp_server_time", "--local-timezone", "UTC"],
    }
    write_user_config(tmp_path / "home", {"time": entry})
    thread = await tether.start_thread(workspace, mode="agent")
    server = await ready(tether, thread["id"], "time")
    assert {"get_current_time", "convert_time"} <= {t["name"] for t in server["tools"]}
    model_server.enqueue(
        Reply(
            tool_calls=[
                ToolCall(
                    "mcp__time__convert_time",
                    {"source_timezone": "UTC", "time": "12:00", "target_timezone": "Asia/Tokyo"},
                    call_id="c1",
                )
            ]
        ),
        Reply(text="done"),
    )
    tether.approver = lambda method, params: {"decision": "accept"}
    turn = await tether.run_turn(thread["id"], "what time is it in Tokyo at noon UTC?")
    assert turn["status"] == "completed", turn
    output = model_server.requests[1].tool_outputs()["c1"]
    assert "Asia/Tokyo" in output and "21:00" in output


async def test_hooks_see_mcp_tool_calls_by_their_mcp_name(
    tether: Tether, model_server: ModelServer, workspace: Path, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    seen = tmp_path / "seen.jsonl"
    hook = f"{shlex.quote(sys.executable)} -c {shlex.quote(_RECORD_HOOK)} {shlex.quote(str(seen))}"
    groups = {
        event: [{"matcher": "mcp__basic__.*", "hooks": [{"type": "command", "command": hook}]}]
        for event in ("PreToolUse", "PostToolUse")
    }
    home.mkdir(parents=True, exist_ok=True)
    (home / "hooks.json").write_text(json.dumps({"hooks": groups}))
    write_user_config(home, {"basic": python_server("basic.py")})
    thread = await tether.start_thread(workspace, mode="agent")
    await ready(tether, thread["id"], "basic")
    model_server.enqueue(
        Reply(tool_calls=[ToolCall("mcp__basic__echo", {"text": "h"}, call_id="c1")]),
        Reply(text="ok"),
    )
    turn = await tether.run_turn(thread["id"], "echo")
    assert turn["status"] == "completed", turn
    events = [json.loads(line) for line in seen.read_text().splitlines()]
    assert [(e["hook_event_name"], e["tool_name"]) for e in events] == [
        ("PreToolUse", "mcp__basic__echo"),
        ("PostToolUse", "mcp__basic__echo"),
    ]
    assert events[0]["tool_input"] == {"text": "h"}


_RECORD_HOOK = (
    "import json, sys; data = json.load(sys.stdin); "
    "open(sys.argv[1], 'a').write(json.dumps(data) + '\\n')"
)


async def test_a_broken_entry_is_left_out_and_the_user_told(
    tether: Tether, workspace: Path, tmp_path: Path
) -> None:
    write_user_config(
        tmp_path / "home",
        {"bad": {"command": "x", "url": "http://a"}, "basic": python_server("basic.py")},
    )
    thread = await tether.start_thread(workspace, mode="agent")
    await ready(tether, thread["id"], "basic")
    listed = await tether.request("mcpServer/list", {"threadId": thread["id"]})
    assert [s["name"] for s in listed["servers"]] == ["basic"]
    (problem,) = listed["problems"]
    assert "server `bad`" in problem and "either `command`" in problem
    shown = [str(getattr(p, "message", "")) for p in tether.of("window/showMessage")]
    assert any("MCP servers:" in m and "server `bad`" in m for m in shown), shown


async def test_a_sub_agent_uses_its_parents_servers(
    tether: Tether, model_server: ModelServer, workspace: Path, tmp_path: Path
) -> None:
    from tests.e2e.test_subagents import child_ids, scripted, steps
    from tests.model_server import RecordedRequest

    write_user_config(tmp_path / "home", {"basic": python_server("basic.py")})

    def parent(r: RecordedRequest) -> Reply:
        if steps(r) == 0:
            args = {"agent_type": "explorer", "prompt": "CHILD: echo through MCP"}
            return Reply(tool_calls=[ToolCall("spawn_agent", args, "s1")])
        if steps(r) == 1:
            wait = {"ids": child_ids(r), "timeout_ms": 60000}
            return Reply(tool_calls=[ToolCall("wait_agents", wait, "w1")])
        return Reply(text="done")

    def child(r: RecordedRequest) -> Reply:
        if steps(r) == 0:
            return Reply(tool_calls=[ToolCall("mcp__basic__echo", {"text": "kid"}, "k1")])
        return Reply(text=f"child saw: {r.tool_outputs()['k1']}")

    model_server.fallback = scripted(parent, {"CHILD": child})
    thread = await tether.start_thread(workspace, mode="agent")
    await ready(tether, thread["id"], "basic")
    turn = await tether.run_turn(thread["id"], "delegate", timeout=90)
    assert turn["status"] == "completed", turn
    child_requests = [
        r for r in model_server.requests if r.user_texts()[:1] == ["CHILD: echo through MCP"]
    ]
    assert any(r.tool_outputs().get("k1", "").startswith("echo: kid") for r in child_requests)
    # One server process for both threads: it started once.
    starting = [
        p
        for m, p in tether.notifications
        if m == "mcpServer/statusChanged" and p["server"]["status"] == "starting"
    ]
    assert len(starting) == 1, starting
