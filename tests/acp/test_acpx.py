"""An independent ACP client, `acpx` (npm, pinned in tests/acp/acpx/package-lock.json), runs
`acpx --format json --agent "tether acp" exec "..."` against the scripted model with
--approve-all, --deny-all and --no-fs; its JSON transcript is checked message by message
against the ACP schema models, and the workspace on disk.

acpx/setup.sh installs acpx (scripts/test.sh runs it too; here it is a no-op then).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.acp.client import validate_transcript
from tests.model_server import ModelServer, Reply, ToolCall

HERE = Path(__file__).parent


@pytest.fixture(scope="session")
def acpx() -> Path:
    subprocess.run(["bash", str(HERE / "acpx" / "setup.sh")], check=True, timeout=300)
    return HERE / "acpx" / "node_modules" / ".bin" / "acpx"


def run_acpx(
    acpx: Path, env: dict[str, str], workspace: Path, flags: list[str], exit_code: int
) -> list[dict[str, Any]]:
    # `tether` on PATH is this interpreter's console script, as an editor would find it.
    path = f"{Path(sys.executable).parent}:{env.get('PATH', '')}"
    done = subprocess.run(
        [
            *(str(acpx), "--format", "json", *flags, "--cwd", str(workspace)),
            *("--agent", "tether acp", "exec", "make the file"),
        ],
        env={**env, "PATH": path},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == exit_code, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]


def permission_answer(transcript: list[dict[str, Any]]) -> str:
    (asked,) = [m for m in transcript if m.get("method") == "session/request_permission"]
    (answer,) = [
        m
        for m in transcript
        if "result" in m and m["id"] == asked["id"] and "outcome" in m["result"]
    ]
    return answer["result"]["outcome"]["optionId"]


@pytest.mark.parametrize(
    ("flags", "chosen"),
    [
        (["--approve-all"], "allow_once"),
        (["--deny-all"], "reject_once"),
        (["--approve-all", "--no-fs"], "allow_once"),
    ],
)
async def test_acpx_runs_a_turn_with_a_command_that_asks(
    flags: list[str],
    chosen: str,
    acpx: Path,
    env: dict[str, str],
    model_server: ModelServer,
    workspace: Path,
) -> None:
    model_server.enqueue(
        Reply(tool_calls=[ToolCall("shell", {"command": "touch made.txt"})]),
        Reply(text="Done it."),
    )
    # acpx exits 5 when it denied a permission the turn asked for.
    transcript = run_acpx(acpx, env, workspace, flags, 0 if chosen == "allow_once" else 5)
    assert validate_transcript([(None, m) for m in transcript]) >= 8
    (init,) = [m for m in transcript if m.get("method") == "initialize"]
    fs = init["params"]["clientCapabilities"].get("fs", {})
    assert fs.get("readTextFile", False) == ("--no-fs" not in flags)
    assert permission_answer(transcript) == chosen
    updates = [m["params"]["update"] for m in transcript if m.get("method") == "session/update"]
    (start,) = [u for u in updates if u["sessionUpdate"] == "tool_call"]
    assert start["kind"] == "execute" and start["title"] == "touch made.txt"
    final = [u for u in updates if u.get("toolCallId") == start["toolCallId"]][-1]
    said = "".join(
        u["content"]["text"] for u in updates if u["sessionUpdate"] == "agent_message_chunk"
    )
    assert said == "Done it."
    (stop,) = [m["result"] for m in transcript if "stopReason" in m.get("result", {})]
    assert stop["stopReason"] == "end_turn"
    if chosen == "allow_once":
        assert final["status"] == "completed" and (workspace / "made.txt").exists()
    else:
        assert final["status"] == "failed" and not (workspace / "made.txt").exists()
    # Tether never ran the command through the client's terminal, nor wrote through it.
    assert not any(
        str(m.get("method", "")).startswith(("terminal/", "fs/write")) for m in transcript
    )
