"""`tether exec --json`: Codex's JSONL events, checked against golden files.

The golden files in tests/e2e/golden/exec/ hold the exact stdout with the thread id, the
workspace path and the model server's address replaced by placeholders. After a deliberate
change to the output, `TETHER_UPDATE_GOLDEN=1` rewrites them (review the diff).
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.cli import run_tether
from tests.model_server import Fault, ModelServer, Reply, ToolCall, Usage

GOLDEN = Path(__file__).parent / "golden" / "exec"
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)

PATCH = """*** Begin Patch
*** Update File: src/calc.py
@@ def sub(a, b):
-    return a - b
+    return a - b  # checked
*** End Patch"""


def tether_exec(
    args: list[str], env: dict[str, str], cwd: Path, home: Path, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return run_tether("exec", args, env, cwd, home, stdin)


def events(stdout: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stdout.splitlines()]


def check_golden(name: str, stdout: str, replace: dict[str, str]) -> None:
    text = stdout
    for real, placeholder in replace.items():
        text = text.replace(real, placeholder)
    path = GOLDEN / name
    if os.environ.get("TETHER_UPDATE_GOLDEN") == "1":
        path.write_text(text)
    assert text == path.read_text(), f"{name} differs (TETHER_UPDATE_GOLDEN=1 rewrites it)"


def placeholders(stdout: str, workspace: Path, model_server: ModelServer) -> dict[str, str]:
    thread_id = events(stdout)[0]["thread_id"]
    return {thread_id: "<thread>", str(workspace): "<workspace>", model_server.base_url: "<model>"}


def test_a_turn_with_a_read_a_command_an_edit_a_plan_and_a_message(
    model_server: ModelServer, workspace: Path, tmp_path: Path
) -> None:
    model_server.enqueue(
        Reply(
            reasoning="Look first.",
            tool_calls=[
                ToolCall("read_file", {"path": "src/calc.py"}, call_id="r"),
                ToolCall("shell", {"command": "echo checked"}, call_id="s"),
            ],
            usage=Usage(
                input_tokens=1000, output_tokens=50, cached_input_tokens=600, reasoning_tokens=20
            ),
        ),
        Reply(
            tool_calls=[
                ToolCall("apply_patch", {"patch": PATCH}, call_id="p"),
                ToolCall(
                    "update_plan",
                    {"steps": [{"text": "mark sub", "status": "completed"}]},
                    call_id="u",
                ),
            ],
            usage=Usage(input_tokens=1200, output_tokens=80, cached_input_tokens=1000),
        ),
        Reply(
            text="Marked sub as checked.",
            usage=Usage(input_tokens=1400, output_tokens=10, cached_input_tokens=1200),
        ),
    )
    done = tether_exec(
        ["--json", "--sandbox", "workspace-write", "--skip-git-repo-check", "mark sub"],
        model_server.env(),
        workspace,
        tmp_path / "home",
    )
    assert done.returncode == 0, done.stderr
    check_golden("turn.jsonl", done.stdout, placeholders(done.stdout, workspace, model_server))
    assert "return a - b  # checked" in (workspace / "src" / "calc.py").read_text()


def test_a_declined_command_and_a_failed_turn(
    model_server: ModelServer, workspace: Path, tmp_path: Path
) -> None:
    """read-only asks before `touch`; JSONL cannot ask, so it is declined; the next model
    call fails and the turn with it."""
    model_server.enqueue(
        Reply(tool_calls=[ToolCall("shell", {"command": "touch x"}, call_id="t")]),
        Fault.status(401),
    )
    done = tether_exec(
        ["--experimental-json", "--sandbox", "read-only"],
        model_server.env(),
        workspace,
        tmp_path / "home",
        stdin="make x\n",
    )
    assert done.returncode == 1
    assert model_server.requests[0].user_texts() == ["make x"]
    assert not (workspace / "x").exists()
    check_golden("failed.jsonl", done.stdout, placeholders(done.stdout, workspace, model_server))


def test_resume_continues_the_thread_and_writes_the_last_message(
    model_server: ModelServer, workspace: Path, tmp_path: Path
) -> None:
    model_server.enqueue(Reply(text="first answer"), Reply(text="second answer"))
    home = tmp_path / "home"
    first = tether_exec(["--json", "one"], model_server.env(), workspace, home)
    assert first.returncode == 0, first.stderr
    thread_id = events(first.stdout)[0]["thread_id"]
    last = tmp_path / "last.txt"
    (workspace / "shot.png").write_bytes(PNG)
    second = tether_exec(
        ["--json", "-o", str(last), "resume", thread_id, "--image", "shot.png"],
        model_server.env(),
        workspace,
        home,
        stdin="two",
    )
    assert second.returncode == 0, second.stderr
    assert events(second.stdout)[0] == {"type": "thread.started", "thread_id": thread_id}
    assert last.read_text() == "second answer"
    png_url = "data:image/png;base64," + base64.b64encode(PNG).decode()
    assert model_server.requests[1].user_images() == [[], [png_url]]
    texts = model_server.requests[1].user_texts()
    assert texts[0] == "one" and texts[-1] == "two"


def test_output_schema_makes_the_final_message_checked_json(
    model_server: ModelServer, workspace: Path, tmp_path: Path
) -> None:
    schema = {
        "type": "object",
        "properties": {"verdict": {"type": "string", "enum": ["pass", "fail"]}},
        "required": ["verdict"],
        "additionalProperties": False,
    }
    schema_file = tmp_path / "schema.json"
    schema_file.write_text(json.dumps(schema))
    model_server.enqueue(
        Reply(text='```json\n{"verdict": "pass"}\n```'),
        Reply(text="maybe"),  # sent back once by the server with the problem
        Reply(text='{"verdict": "maybe"}'),
    )
    args = ["--json", "--output-schema", str(schema_file), "judge"]
    good = tether_exec(args, model_server.env(), workspace, tmp_path / "home")
    assert good.returncode == 0, good.stderr
    message = events(good.stdout)[-2]["item"]
    assert json.loads(message["text"]) == {"verdict": "pass"}
    assert model_server.requests[0].output_format == {
        "name": "tether_output",
        "schema": schema,
        "strict": True,
    }
    bad = tether_exec(args, model_server.env(), workspace, tmp_path / "home")
    assert bad.returncode == 1
    assert events(bad.stdout)[-1] == {
        "type": "turn.failed",
        "error": {
            "message": "the final message does not match --output-schema: "
            "$.verdict is not one of ['pass', 'fail']"
        },
    }


def test_config_overrides_point_at_the_model_and_unknown_ones_are_noted(
    model_server: ModelServer, workspace: Path, tmp_path: Path
) -> None:
    """The Codex SDK passes its baseUrl as `--config openai_base_url="..."`."""
    model_server.enqueue(Reply(text="via config"))
    env = {k: v for k, v in model_server.env().items() if k != "OPENAI_BASE_URL"}
    done = tether_exec(
        [
            "--json",
            "--config",
            f'openai_base_url="{model_server.base_url}"',
            "--config",
            'approval_policy="never"',
            "hi",
        ],
        env,
        workspace,
        tmp_path / "home",
    )
    assert done.returncode == 0, done.stderr
    assert events(done.stdout)[-2]["item"]["text"] == "via config"
    assert "ignoring --config approval_policy" in done.stderr


def test_without_a_model_it_prints_an_error_event(workspace: Path, tmp_path: Path) -> None:
    done = tether_exec(["--json", "hi"], {}, workspace, tmp_path / "home")
    assert done.returncode == 2
    (event,) = events(done.stdout)[-1:]
    assert event["type"] == "error" and "OPENAI_API_KEY" in event["message"]


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["resume"], "resume needs a thread id"),
        (["--output-schema", "missing.json", "hi"], "cannot read --output-schema"),
    ],
)
def test_bad_flags_say_what_is_wrong(
    args: list[str], says: str, workspace: Path, tmp_path: Path
) -> None:
    done = tether_exec(args, {}, workspace, tmp_path / "home")
    assert done.returncode == 2
    assert says in done.stderr


def test_plain_exec_resumes_and_writes_the_last_message(
    model_server: ModelServer, workspace: Path, tmp_path: Path
) -> None:
    model_server.enqueue(Reply(text="first answer"), Reply(text="second answer"))
    home = tmp_path / "home"
    first = tether_exec(["--json", "one"], model_server.env(), workspace, home)
    thread_id = events(first.stdout)[0]["thread_id"]
    last = tmp_path / "last.txt"
    second = tether_exec(
        ["-o", str(last), "resume", thread_id, "two"], model_server.env(), workspace, home
    )
    assert second.returncode == 0, second.stderr
    assert second.stdout.strip() == "second answer" == last.read_text()
    assert model_server.requests[1].user_texts() == ["one", "two"]


def test_plain_exec_takes_the_prompt_on_stdin_and_codex_sandbox_names(
    model_server: ModelServer, workspace: Path, tmp_path: Path
) -> None:
    model_server.enqueue(
        Reply(tool_calls=[ToolCall("shell", {"command": "touch y"}, call_id="t")]), Reply(text="ok")
    )
    done = tether_exec(
        ["--sandbox", "read-only", "-"], model_server.env(), workspace, tmp_path / "home", "make y"
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
    assert model_server.requests[0].user_texts() == ["make y"]
    assert "declined" in model_server.requests[1].tool_outputs()["t"]  # read-only asked


def test_add_dir_makes_another_root_readable_without_asking(
    model_server: ModelServer, workspace: Path, tmp_path: Path
) -> None:
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("shared notes\n")
    read = ToolCall("read_file", {"path": str(other / "notes.txt")}, call_id="r")
    model_server.enqueue(Reply(tool_calls=[read]), Reply(text="read"))
    model_server.enqueue(Reply(tool_calls=[read]), Reply(text="not read"))
    home = tmp_path / "home"
    with_root = tether_exec(
        ["--json", "--add-dir", str(other), "read"], model_server.env(), workspace, home
    )
    without = tether_exec(["--json", "read"], model_server.env(), workspace, home)
    assert with_root.returncode == without.returncode == 0
    assert "shared notes" in model_server.requests[1].tool_outputs()["r"]
    assert "shared notes" not in model_server.requests[3].tool_outputs()["r"]
    (tool,) = [e["item"] for e in events(without.stdout)[2:] if e["type"] == "item.completed"][:1]
    assert tool["type"] == "mcp_tool_call" and tool["status"] == "failed"


@pytest.mark.parametrize(
    ("flag", "runs"),
    [("--full-auto", False), ("--dangerously-bypass-approvals-and-sandbox", True)],
)
def test_codex_shorthands_for_the_mode(
    flag: str, runs: bool, model_server: ModelServer, workspace: Path, tmp_path: Path
) -> None:
    """agent mode keeps a command's writes inside the workspace; fullAccess does not."""
    outside = tmp_path / "outside.txt"
    model_server.enqueue(
        Reply(tool_calls=[ToolCall("shell", {"command": f"touch {outside}"}, call_id="t")]),
        Reply(text="ok"),
    )
    done = tether_exec(["--json", flag, "touch"], model_server.env(), workspace, tmp_path / "h")
    assert done.returncode == 0, done.stderr
    assert outside.exists() is runs
