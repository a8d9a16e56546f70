"""A sandboxed stdio server whose program lies under /tmp: bwrap's private /tmp would hide it
(a checkout in /tmp could not start its own test servers), so its top folder there is shown
read-only, and nothing else of the real /tmp."""

from __future__ import annotations

import os
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest

from sandbox.launchers import PrivateDirs, prepare
from sandbox.launchers.bwrap import bwrap_works
from sandbox.policy import Policy
from server.mcp.transport import program_dirs


def test_the_top_folder_under_tmp_of_each_program_file(tmp_path: Path) -> None:
    tools = Path(tempfile.mkdtemp(dir="/tmp", prefix="tether-tools-"))
    try:
        (tools / "mcp").mkdir()
        (tools / "mcp" / "server.py").write_text("")
        sock = socket.socket(socket.AF_UNIX)
        sock.bind(str(tools / "agent.sock"))
        argv = ["python", "-u", str(tools / "mcp" / "server.py"), str(tools / "agent.sock")]
        assert program_dirs(argv, tmp_path) == [tools]
        assert program_dirs([str(tools / "agent.sock")], tmp_path) == []  # a socket is no program
        assert program_dirs(["/usr/bin/python3", "/tmp", "--x=/tmp/y"], tmp_path) == []
        sock.close()
    finally:
        subprocess.run(["rm", "-rf", str(tools)], check=True)


@pytest.mark.skipif(not bwrap_works(), reason="bwrap cannot run here")
def test_bwrap_shows_the_program_folder_and_hides_the_rest_of_tmp(tmp_path: Path) -> None:
    tools = Path(tempfile.mkdtemp(dir="/tmp", prefix="tether-tools-"))
    other = Path(tempfile.mkdtemp(dir="/tmp", prefix="tether-other-"))
    workspace = tmp_path / "ws"
    workspace.mkdir()
    try:
        script = f"cat {tools}/data; ls {other}; touch {tools}/written\n"
        (tools / "server.sh").write_text(script)
        (tools / "data").write_text("program data\n")
        policy = Policy(kind="workspaceWrite", roots=(workspace,))

        def run(readable: list[Path]) -> subprocess.CompletedProcess[str]:
            dirs = PrivateDirs.create()
            try:
                argv = ["bash", str(tools / "server.sh")]
                prepared = prepare(
                    "bwrap", argv, policy=policy, dirs=dirs, cwd=workspace, secrets=(),
                    readable=readable,
                )  # fmt: skip
                try:
                    return subprocess.run(
                        prepared.argv, capture_output=True, text=True, timeout=60,
                        pass_fds=prepared.pass_fds,
                    )  # fmt: skip
                finally:
                    for fd in prepared.pass_fds:
                        os.close(fd)
            finally:
                dirs.cleanup()

        hidden = run([])  # the control: without it the private /tmp hides the program
        assert "No such file" in hidden.stderr
        shown = run(program_dirs(["bash", str(tools / "server.sh")], workspace))
        assert shown.stdout == "program data\n"
        assert "No such file" in shown.stderr  # the other folder under /tmp stays hidden
        assert "Read-only file system" in shown.stderr
        assert not (tools / "written").exists()
    finally:
        subprocess.run(["rm", "-rf", str(tools), str(other)], check=True)
