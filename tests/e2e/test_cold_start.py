"""A turn sent right after start loads only what a turn needs: not pygls nor lsprotocol (they
keep the editor's open documents, and load with the first `didOpen`), nor openai (it only lists
models). Checked on the real process through `-X importtime`'s list of what it imported; how
fast that makes the first turn is a bench figure (bench/README.md, row 1), not a test."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

from server.framing import frame, read_frame
from tests.e2e.harness import ROOT
from tests.model_server import ModelServer, Reply

HEAVY = ("pygls", "lsprotocol", "openai")


def imported(log: Path) -> set[str]:
    """Top-level packages the server imported so far, from its `-X importtime` lines."""
    names = set()
    for line in log.read_text(errors="replace").splitlines():
        if line.startswith("import time:") and line.count("|") == 2:
            names.add(line.rsplit("|", 1)[1].strip().split(".")[0])
    return names


async def test_a_first_turn_imports_no_pygls_lsprotocol_or_openai(
    tmp_path: Path, model_server: ModelServer, workspace: Path
) -> None:
    log = tmp_path / "stderr.log"
    base = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "TETHER_"))}
    env = {**base, **model_server.env(), "TETHER_HOME": str(tmp_path / "home")}
    with log.open("wb") as stderr:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-X", "importtime", "-m", "server", "--stdio",
            cwd=ROOT, env=env, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=stderr, limit=64 * 1024 * 1024,
        )  # fmt: skip
    assert proc.stdin is not None and proc.stdout is not None
    stdin, stdout = proc.stdin, proc.stdout

    async def call(msg_id: int, method: str, params: Any) -> Any:
        stdin.write(frame({"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params}))
        while True:
            body = await asyncio.wait_for(read_frame(stdout), 30)
            assert body is not None, "the server exited"
            message = json.loads(body)
            if message.get("id") == msg_id and "method" not in message:
                return message["result"]

    async def notification(method: str) -> dict[str, Any]:
        while True:
            body = await asyncio.wait_for(read_frame(stdout), 30)
            assert body is not None, "the server exited"
            message = json.loads(body)
            if message.get("method") == method:
                return message["params"]

    try:
        model_server.enqueue(Reply(text="hello there", deltas=3))
        await call(1, "initialize", {"capabilities": {}})
        thread = (await call(2, "thread/start", {"cwd": str(workspace)}))["thread"]
        text = [{"type": "text", "text": "hi"}]
        await call(3, "turn/start", {"threadId": thread["id"], "input": text})
        done = await notification("turn/completed")
        assert done["turn"]["status"] == "completed"
        assert not imported(log) & set(HEAVY), sorted(imported(log) & set(HEAVY))

        # The editor opens a document: now pygls keeps it.
        document = {"uri": (workspace / "x.py").as_uri(), "languageId": "python", "version": 1}
        opened = {"textDocument": {**document, "text": "x = 1\n"}}
        stdin.write(frame({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": opened}))
        await call(4, "thread/list", {})
        assert {"pygls", "lsprotocol"} <= imported(log)
    finally:
        stdin.close()
        await asyncio.wait_for(proc.wait(), 15)
