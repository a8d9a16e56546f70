"""OpenAI's Codex TypeScript SDK (`@openai/codex-sdk`, pinned in package-lock.json) drives
`tether` unchanged through its `codexPathOverride`: `startThread().run()`, `runStreamed()`,
`resumeThread(id).run()`, a turn with an `outputSchema` and a failing turn, against the
scripted model.

setup.sh installs the SDK (it is also run by scripts/test.sh; here it is a no-op then).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.model_server import Fault, ModelServer, Reply, ToolCall, Usage

HERE = Path(__file__).parent


@pytest.fixture(scope="session")
def codex_sdk() -> Path:
    subprocess.run(["bash", str(HERE / "setup.sh")], check=True, timeout=300)
    return HERE / "drive.mjs"


def test_the_codex_sdk_runs_streams_and_resumes_tether_threads(
    codex_sdk: Path, model_server: ModelServer, tmp_path: Path
) -> None:
    workspace = tmp_path / "ws"
    workspace.mkdir()
    model_server.enqueue(
        Reply(
            tool_calls=[ToolCall("shell", {"command": "echo sdk-check"}, call_id="c")],
            usage=Usage(input_tokens=500, output_tokens=20, cached_input_tokens=100),
        ),
        Reply(
            text="The check printed sdk-check.",
            usage=Usage(
                input_tokens=700, output_tokens=30, cached_input_tokens=400, reasoning_tokens=12
            ),
        ),
        Reply(text="Streamed answer."),
        Reply(text="Resumed answer."),
        Reply(text='{"verdict": "pass"}'),
        Fault.status(401),
    )
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "TETHER_", "CODEX_"))
    }
    env |= {
        "TETHER_BIN": str(Path(sys.executable).with_name("tether")),
        "TETHER_WORKSPACE": str(workspace),
        "TETHER_HOME": str(tmp_path / "home"),
        "TETHER_MODEL": model_server.models[0],
        "MODEL_BASE_URL": model_server.base_url,
    }
    done = subprocess.run(
        ["node", str(codex_sdk)],
        cwd=HERE,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    got: dict[str, Any] = json.loads(done.stdout)

    first = got["first"]
    assert first["finalResponse"] == "The check printed sdk-check."
    command, message = first["items"]
    assert command == {
        "id": "item_0",
        "type": "command_execution",
        "command": "echo sdk-check",
        "aggregated_output": "sdk-check\n",
        "exit_code": 0,
        "status": "completed",
    }
    assert message == {"id": "item_1", "type": "agent_message", "text": first["finalResponse"]}
    assert first["usage"] == {
        "input_tokens": 1200,
        "cached_input_tokens": 500,
        "output_tokens": 50,
        "reasoning_output_tokens": 12,
        "cache_write_input_tokens": 0,  # the SDK's default for a field Codex added
    }

    types = [e["type"] for e in got["events"]]
    assert types == ["thread.started", "turn.started", "item.completed", "turn.completed"]
    assert got["events"][0]["thread_id"] == got["threadId"]
    assert got["events"][2]["item"]["text"] == "Streamed answer."

    assert got["third"]["finalResponse"] == "Resumed answer."
    resumed_request = model_server.requests[3].user_texts()
    assert resumed_request[0] == "run the check" and resumed_request[-1] == "after resuming"

    assert json.loads(got["structured"]["finalResponse"]) == {"verdict": "pass"}
    sent = model_server.requests[4].output_format  # the Codex SDK's outputSchema, on the wire
    assert sent is not None and sent["schema"]["properties"]["verdict"]["enum"] == ["pass", "fail"]

    assert "refused the API key" in got["failure"]
