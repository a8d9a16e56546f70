"""Threads are titled after their first message (no model call), the title survives a restart,
and a thread logged before titles existed gets one from its log. Also: a setting the client
clears in `workspace/didChangeConfiguration` falls back, instead of keeping its old value."""

from __future__ import annotations

from pathlib import Path

from lsprotocol import types as lsp

from protocol.item import FileInput, TextInput
from server.agent.conversation import TITLE_CHARS, title_of
from tests.e2e.harness import start_tether, stop_tether
from tests.model_server import ModelServer, Reply


def test_title_is_the_first_line_cut_at_a_word() -> None:
    assert title_of([TextInput(text="\n  Fix the greeting in calc.py\nand add a test")]) == (
        "Fix the greeting in calc.py"
    )
    long = "word " * 40
    title = title_of([FileInput(path="/w/a.py"), TextInput(text=long)])
    assert title is not None and title.endswith("…") and len(title) <= TITLE_CHARS
    assert not title[:-1].endswith(" ") and title[:-1].endswith("word")
    assert title_of([FileInput(path="/w/a.py")]) is None


async def test_thread_list_shows_the_first_message_as_title(
    model_server: ModelServer, workspace: Path, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    tether = await start_tether(model_server.env(), home)
    try:
        model_server.enqueue(Reply(text="Done."), Reply(text="Again."))
        thread = await tether.start_thread(workspace)
        await tether.run_turn(thread["id"], "Rename the helper in calc.py\nplease")
        await tether.run_turn(thread["id"], "Another message does not rename it")
        (listed,) = (await tether.request("thread/list", {}))["threads"]
        assert listed["title"] == "Rename the helper in calc.py"
    finally:
        await stop_tether(tether)

    # A log written before threads had titles: drop the title from its thread records.
    log = next((home / "sessions").glob("*.jsonl"))
    log.write_text(log.read_text().replace(',"title":"Rename the helper in calc.py"', ""))
    assert '"title"' not in log.read_text()
    again = await start_tether(model_server.env(), home)
    try:
        (listed,) = (await again.request("thread/list", {}))["threads"]
        assert listed["title"] == "Rename the helper in calc.py"
        resumed = await again.request("thread/resume", {"threadId": thread["id"]})
        assert resumed["thread"]["title"] == "Rename the helper in calc.py"
    finally:
        await stop_tether(again)


async def test_a_cleared_model_setting_falls_back(
    model_server: ModelServer, workspace: Path, tmp_path: Path
) -> None:
    tether = await start_tether(model_server.env(), tmp_path / "home", options={"model": "picked"})
    try:
        assert (await tether.request("model/list", {}))["default"] == "picked"
        settings = lsp.DidChangeConfigurationParams(settings={"tether": {}})
        tether.notify("workspace/didChangeConfiguration", settings)
        listed = await tether.request("model/list", {})
        assert listed["default"] == model_server.models[0]  # TETHER_MODEL of the environment
    finally:
        await stop_tether(tether)
