"""`tether sandbox`: sandbox_main runs one command under a mode and passes its exit code on."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sandbox.cli import sandbox_main
from sandbox.launchers import available_launchers, detect_launcher

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


def test_check_names_the_launcher_and_its_guarantees(capfd: pytest.CaptureFixture[str]) -> None:
    assert sandbox_main(["--check"]) == 0
    out = capfd.readouterr().out
    assert out.startswith(f"launcher: {detect_launcher()} (sandbox_launcher = 'auto')")
    assert "process tree contained by:" in out and "guaranteed for every sandboxed command" in out


def test_check_under_a_forced_landlock_says_what_is_weaker(
    capfd: pytest.CaptureFixture[str],
) -> None:
    if "landlock" not in available_launchers():
        pytest.skip("no Landlock here")
    assert sandbox_main(["--check", "--launcher", "landlock"]) == 0
    out = capfd.readouterr().out
    assert out.startswith("launcher: landlock")
    assert "bwrap: not tried, sandbox_launcher is set to landlock" in out
    assert "guarded, not locked" in out
    assert ("is no root" in out) == (os.geteuid() == 0)


def test_a_refused_bwrap_is_explained_with_its_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    import sandbox.launchers as launchers

    monkeypatch.setattr(
        launchers,
        "bwrap_failure",
        lambda: "bwrap cannot create its namespaces (setting up uid map)",
    )
    monkeypatch.setattr(launchers, "landlock_failure", lambda: None)
    monkeypatch.setattr(
        launchers,
        "_read_sysctl",
        lambda name: "1" if name == "kernel/apparmor_restrict_unprivileged_userns" else None,
    )
    choice = launchers.choose_launcher.__wrapped__("auto")
    assert choice.name == "landlock" and choice.weaker_than_bwrap
    assert "apparmor_restrict_unprivileged_userns=0" in choice.passed_over[0]
    assert "apparmor_parser" in choice.passed_over[0]
    missing = "bubblewrap (bwrap) is not installed"
    monkeypatch.setattr(launchers, "bwrap_failure", lambda: missing)
    assert "apt install bubblewrap" in launchers.choose_launcher.__wrapped__("auto").passed_over[0]
    forced = launchers.choose_launcher.__wrapped__("bwrap")
    assert forced.name == "none"  # a forced launcher that cannot run is never silently swapped


def test_a_bwrap_too_old_for_a_capped_tmp_is_passed_over(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # bwrap before 0.5 has no --size: every command would fail, so the probe must say why.
    import sandbox.launchers as launchers
    from sandbox.launchers import bwrap

    old = tmp_path / "bwrap"
    old.write_text(
        '#!/bin/sh\nfor a in "$@"; do [ "$a" = --size ] && '
        'echo "bwrap: Unknown option --size" >&2 && exit 1; done\nexit 0\n'
    )
    old.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    said = bwrap.bwrap_failure.__wrapped__()
    assert said is not None and "too old" in said and "0.5" in said
    monkeypatch.setattr(launchers, "bwrap_failure", lambda: said)
    monkeypatch.setattr(launchers, "landlock_failure", lambda: None)
    choice = launchers.choose_launcher.__wrapped__("auto")
    assert choice.name == "landlock" and "bubblewrap 0.5 or later" in choice.passed_over[0]
