"""`tether exec`: a headless client of the same protocol."""

from __future__ import annotations

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
