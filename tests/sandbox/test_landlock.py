"""Landlock grants and the seccomp network filter, checked on their own.

The escape battery attacks the assembled launcher; these pin down the pieces: that grants carve
exactly the excluded subtrees out, and that the filter lets Unix sockets through and nothing else.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from sandbox import landlock, seccomp
from sandbox.exec import ExecSpec
from sandbox.launchers import available_launchers
from tests.sandbox.test_escapes import _pids_with  # pyright: ignore[reportPrivateUsage]

pytestmark = pytest.mark.skipif("landlock" not in available_launchers(), reason="no Landlock")


def test_grants_skip_excluded_subtrees_and_list_their_parents(tmp_path: Path) -> None:
    (tmp_path / "home" / ".ssh").mkdir(parents=True)
    (tmp_path / "home" / "code").mkdir()
    (tmp_path / "home" / "notes.txt").write_text("")
    (tmp_path / "home" / "link").symlink_to(tmp_path / "home" / ".ssh")
    (tmp_path / "etc").mkdir()
    grants = landlock.grants_excluding(tmp_path, [tmp_path / "home" / ".ssh"], landlock.READ_RIGHTS)
    by_path = {g.path: g.rights for g in grants}
    assert by_path[tmp_path] == landlock.READ_DIR
    assert by_path[tmp_path / "home"] == landlock.READ_DIR
    assert by_path[tmp_path / "etc"] == landlock.READ_RIGHTS
    assert by_path[tmp_path / "home" / "code"] == landlock.READ_RIGHTS
    assert by_path[tmp_path / "home" / "notes.txt"] == landlock.READ_RIGHTS
    assert tmp_path / "home" / ".ssh" not in by_path
    assert tmp_path / "home" / "link" not in by_path


def test_exec_spec_round_trips() -> None:
    spec = ExecSpec((Path("/h/.ssh"),), (Path("/w"),), False)
    assert ExecSpec.from_json(spec.to_json()) == spec
    assert json.loads(spec.to_json())["network"] is False


def _confined(spec: ExecSpec, code: str) -> subprocess.CompletedProcess[str]:
    root = str(Path(__file__).resolve().parents[2])
    boot = (
        f"import sys; sys.path.insert(0, {root!r}); from sandbox.exec import confine, ExecSpec; "
        f"confine(ExecSpec.from_json(sys.argv[1])); exec(sys.argv[2])"
    )
    return subprocess.run(
        [sys.executable, "-I", "-c", boot, spec.to_json(), code],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


@pytest.mark.skipif(not seccomp.network_filter_supported(), reason="no filter for this CPU")
def test_network_filter_allows_socketpair_only(tmp_path: Path) -> None:
    code = (
        "import socket\n"
        "a, b = socket.socketpair(); a.send(b'x'); assert b.recv(1) == b'x'\n"
        "for family in (socket.AF_INET, socket.AF_INET6, socket.AF_UNIX, socket.AF_NETLINK):\n"
        "    try:\n"
        "        socket.socket(family, socket.SOCK_DGRAM)\n"
        "    except PermissionError:\n"
        "        continue\n"
        "    raise SystemExit(f'{family} socket was allowed')\n"
        "print('ok')\n"
    )
    done = _confined(ExecSpec((), (tmp_path,), network=False), code)
    assert done.stdout == "ok\n", done.stderr


def test_signals_to_processes_outside_are_refused(tmp_path: Path) -> None:
    if landlock.abi_version() < 6:
        pytest.skip("signal scoping needs Landlock ABI 6")
    outside = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        code = (
            f"import os, signal\ntry:\n    os.kill({outside.pid}, signal.SIGKILL)\n"
            "except PermissionError:\n    print('refused')\n"
        )
        done = _confined(ExecSpec((), (tmp_path,), network=False), code)
        assert done.stdout == "refused\n", done.stderr
        assert outside.poll() is None
    finally:
        outside.kill()
        outside.wait()


def test_exec_reports_a_setup_failure_clearly() -> None:
    done = subprocess.run(
        [sys.executable, "-I", "-c",
         f"import sys; sys.path.insert(0, {str(Path(__file__).resolve().parents[2])!r}); "
         "from sandbox.exec import main; sys.exit(main(sys.argv[1:]))",
         "{not json", "--", "true"],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert done.returncode == 126
    assert "could not confine the command" in done.stderr and "did not run" in done.stderr


def test_filter_bytes_match_the_kernel_layout() -> None:
    for allow_ip in (True, False):
        rows = seccomp.program(allow_ip=allow_ip)
        data = seccomp.program_bytes(allow_ip=allow_ip)
        assert len(data) == 8 * len(rows)
    assert len(seccomp.program(allow_ip=True)) > len(seccomp.program(allow_ip=False))


def _named(name: str) -> list[int]:
    """Processes whose argv[0] is `name` (the stand-in server only mentions it later)."""
    found: list[int] = []
    for pid in _pids_with(name):
        try:
            if Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0] == name.encode():
                found.append(pid)
        except OSError:
            continue  # exited meanwhile
    return found


def test_command_dies_with_the_server(tmp_path: Path) -> None:
    token = f"orphan{uuid.uuid4().hex[:8]}"
    root = str(Path(__file__).resolve().parents[2])
    boot = (
        f"import sys; sys.path.insert(0, {root!r}); "
        "from sandbox.exec import main; sys.exit(main(sys.argv[1:]))"
    )
    spec = ExecSpec((), (tmp_path,), network=False).to_json()
    # A stand-in "server" that starts the helper, then is killed without cleaning up.
    server_code = (
        "import subprocess, sys, time; "
        f"subprocess.Popen([sys.executable, '-I', '-c', {boot!r}, {spec!r}, '--', "
        f"'bash', '-c', 'exec -a {token} sleep 30']); time.sleep(30)"
    )
    server = subprocess.Popen([sys.executable, "-c", server_code])
    try:
        for _ in range(100):
            if _named(token):
                break
            time.sleep(0.05)
        assert _named(token), "the helper never started the command"
        server.kill()
        server.wait()
        for _ in range(40):
            if not _named(token):
                break
            time.sleep(0.05)
        assert _named(token) == []
    finally:
        server.kill()
        for pid in _named(token):
            os.kill(pid, 9)
