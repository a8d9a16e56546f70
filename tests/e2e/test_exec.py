"""`tether exec`: a headless client of the same protocol."""

from __future__ import annotations

import base64
import json
import subprocess
from pathlib import Path

from tests.cli import run_tether
from tests.model_server import Fault, ModelServer, Reply, ToolCall


def tether_exec(
    args: list[str], env: dict[str, str], cwd: Path, home: Path
) -> subprocess.CompletedProcess[str]:
    return run_tether("exec", args, env, cwd, home)


def test_exec_streams_the_answer_and_exits_0(
    model_server: ModelServer, workspace: Path, tmp_path: Path
) -> None:
    model_server.enqueue(
        Reply(tool_calls=[ToolCall("shell", {"command": "echo hello-from-shell"})]),
        Reply(text="All good: the shell said hello."),
    )
    done = tether_exec(
        ["--mode", "agent", "say hello"], model_server.env(), workspace, tmp_path / "home"
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "All good: the shell said hello."
    assert "$ echo hello-from-shell" in done.stderr and "hello-from-shell" in done.stderr
    assert model_server.requests[0].user_texts() == ["say hello"]


def test_exec_declines_approvals_without_a_tty(
    model_server: ModelServer, workspace: Path, tmp_path: Path
) -> None:
    model_server.enqueue(
        Reply(tool_calls=[ToolCall("shell", {"command": "touch x"}, call_id="t")]), Reply(text="ok")
    )
    done = tether_exec(
        ["--mode", "readOnly", "touch"], model_server.env(), workspace, tmp_path / "home"
    )
    assert done.returncode == 0
    assert "declined" in model_server.requests[1].tool_outputs()["t"]
    assert not (workspace / "x").exists()


def test_exec_fails_clearly_when_the_model_fails(
    model_server: ModelServer, workspace: Path, tmp_path: Path
) -> None:
    model_server.enqueue(Fault.status(401))
    done = tether_exec(["hi"], model_server.env(), workspace, tmp_path / "home")
    assert done.returncode == 1
    assert "refused the API key" in done.stderr


def test_exec_without_configuration_says_how_to_configure(workspace: Path, tmp_path: Path) -> None:
    done = tether_exec(["hi"], {}, workspace, tmp_path / "home")
    assert done.returncode == 2
    assert "OPENAI_API_KEY" in done.stderr


PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)
VERDICT = {
    "type": "object",
    "properties": {"verdict": {"type": "string", "enum": ["pass", "fail"]}},
    "required": ["verdict"],
    "additionalProperties": False,
}


def test_exec_sends_images_given_with_image(
    model_server: ModelServer, workspace: Path, tmp_path: Path
) -> None:
    """`--image` is repeatable; a relative FILE is relative to where exec was started."""
    (workspace / "a.png").write_bytes(PNG)
    (tmp_path / "b.png").write_bytes(PNG)
    model_server.enqueue(Reply(text="Two pixels."))
    done = tether_exec(
        ["--image", "a.png", "-i", str(tmp_path / "b.png"), "what is this"],
        model_server.env(),
        workspace,
        tmp_path / "home",
    )
    assert done.returncode == 0, done.stderr
    url = "data:image/png;base64," + base64.b64encode(PNG).decode()
    assert model_server.requests[0].user_images() == [[url, url]]
    assert model_server.requests[0].user_texts() == ["what is this"]


def test_exec_refuses_a_bad_image_before_the_turn(
    model_server: ModelServer, workspace: Path, tmp_path: Path
) -> None:
    (workspace / "notes.png").write_text("not an image")
    done = tether_exec(["--image", "notes.png", "look"], model_server.env(), workspace, tmp_path)
    assert done.returncode == 2
    assert "is not a PNG, JPEG, GIF or WebP image" in done.stderr
    assert model_server.requests == []


def test_exec_output_schema_without_json_prints_the_checked_json(
    model_server: ModelServer, workspace: Path, tmp_path: Path
) -> None:
    schema = tmp_path / "schema.json"
    schema.write_text(json.dumps(VERDICT))
    last = tmp_path / "last.txt"
    model_server.enqueue(
        Reply(text='```json\n{"verdict": "pass"}\n```'),
        Reply(text="maybe"),  # sent back once by the server with the problem
        Reply(text='{"verdict": "maybe"}'),
    )
    args = ["--output-schema", str(schema), "-o", str(last), "judge"]
    good = tether_exec(args, model_server.env(), workspace, tmp_path / "home")
    assert good.returncode == 0, good.stderr
    # Not streamed: only the JSON (without the fence), once.
    assert good.stdout.count("\n") == 1 and json.loads(good.stdout) == {"verdict": "pass"}
    assert json.loads(last.read_text()) == {"verdict": "pass"}
    assert model_server.requests[0].output_format == {
        "name": "tether_output",
        "schema": VERDICT,
        "strict": True,
    }
    bad = tether_exec(args, model_server.env(), workspace, tmp_path / "home")
    assert bad.returncode == 1
    assert bad.stdout == ""
    assert (
        "the final message does not match --output-schema: $.verdict is not one of "
        "['pass', 'fail']" in bad.stderr
    )
    schema.write_text("[1, 2]")
    unusable = tether_exec(args, model_server.env(), workspace, tmp_path / "home")
    assert unusable.returncode == 2
    assert "the schema must be a JSON object" in unusable.stderr
