"""`tether sandbox`: sandbox_main runs one command under a mode and passes its exit code on."""

from __future__ import annotations

from pathlib import Path

import pytest

from sandbox.cli import sandbox_main
from sandbox.launchers import detect_launcher

pytestmark = pytest.mark.skipif(detect_launcher() == "none", reason="no sandbox here")


def test_agent_mode_writes_the_workspace_only(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    code = sandbox_main(
        [
            "--cwd",
            str(tmp_path),
            "--",
            "sh",
            "-c",
            "echo hi > f && cat f && touch /var/tmp/tether-cli-x",
        ]
    )
    out, err = capfd.readouterr()
    assert code != 0
    assert out == "hi\n"
    assert (tmp_path / "f").read_text() == "hi\n"
    assert not Path("/var/tmp/tether-cli-x").exists()
    assert f"agent via {detect_launcher()}" in err


def test_read_only_mode_refuses_writes(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    code = sandbox_main(["--mode", "readOnly", "--cwd", str(tmp_path), "--", "touch", "f"])
    _, err = capfd.readouterr()
    assert code == 1
    assert not (tmp_path / "f").exists()
    assert "write denial" in err


def test_exit_code_passes_through(tmp_path: Path) -> None:
    assert sandbox_main(["--cwd", str(tmp_path), "--", "sh", "-c", "exit 5"]) == 5


def test_missing_command_is_a_usage_error(capfd: pytest.CaptureFixture[str]) -> None:
    assert sandbox_main(["--"]) == 2
    assert "give a command" in capfd.readouterr().err
