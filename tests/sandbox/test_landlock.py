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
from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox import landlock, seccomp
from sandbox.exec import ExecSpec
from sandbox.launchers import available_launchers
from tests.sandbox.conftest import PY, Runner
from tests.sandbox.test_escapes import _pids_with  # pyright: ignore[reportPrivateUsage]

pytestmark = [
    pytest.mark.skipif("landlock" not in available_launchers(), reason="no Landlock"),
    pytest.mark.skipif(
        os.environ.get("TETHER_SANDBOX_LAUNCHER") == "bwrap", reason="a bwrap cell of the matrix"
    ),
]


def test_grants_skip_excluded_subtrees_and_do_not_list_their_parents(tmp_path: Path) -> None:
    (tmp_path / "home" / ".ssh").mkdir(parents=True)
    (tmp_path / "home" / "code").mkdir()
    (tmp_path / "home" / "notes.txt").write_text("")
    (tmp_path / "home" / "link").symlink_to(tmp_path / "home" / ".ssh")
    (tmp_path / "etc").mkdir()
    ssh = tmp_path / "home" / ".ssh"
    grants = landlock.grants_excluding(tmp_path, [ssh], landlock.READ_RIGHTS, unlisted=[ssh])
    by_path = {g.path: g.rights for g in grants}
    assert tmp_path not in by_path and tmp_path / "home" not in by_path  # would list .ssh
    assert by_path[tmp_path / "etc"] == landlock.READ_RIGHTS
    assert by_path[tmp_path / "home" / "code"] == landlock.READ_RIGHTS
    assert by_path[tmp_path / "home" / "notes.txt"] == landlock.READ_RIGHTS
    assert tmp_path / "home" / ".ssh" not in by_path
    assert tmp_path / "home" / "link" not in by_path


def test_exec_spec_round_trips() -> None:
    spec = ExecSpec((Path("/h/.ssh"),), (Path("/w"),), False)
    assert ExecSpec.from_json(spec.to_json()) == spec
    assert json.loads(spec.to_json())["network"] is False


def _confined(
    spec: ExecSpec, code: str, pass_fds: tuple[int, ...] = ()
) -> subprocess.CompletedProcess[str]:
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
        pass_fds=pass_fds,
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


# -- The escapes of issue 13, under Landlock, each with a control where the attack works --------
# As root and as a normal user: tests/sandbox/test_matrix.py runs this module in both cells.

ROOT = os.geteuid() == 0


@pytest.fixture
def landlock_run(workspace: Path, fake_home: Path) -> Runner:
    env = {k: v for k, v in os.environ.items() if k != "HOME"}
    env |= {"HOME": str(fake_home), "OPENAI_API_KEY": "sk-test-should-never-leak"}
    return Runner("landlock", workspace, env)


def _root_disk() -> tuple[int, int, Path] | None:
    """(major, minor, /dev node) of the block device holding /, when there is one."""
    device = os.stat("/").st_dev
    major, minor = os.major(device), os.minor(device)
    try:
        uevent = Path(f"/sys/dev/block/{major}:{minor}/uevent").read_text()
    except OSError:
        return None
    name = next(
        (ln.split("=", 1)[1] for ln in uevent.splitlines() if ln.startswith("DEVNAME=")), ""
    )
    return (major, minor, Path("/dev", name)) if name else None


async def test_no_device_node_can_be_made_or_the_disk_read(landlock_run: Runner) -> None:
    disk = _root_disk()
    if disk is None:
        pytest.skip("/ is not on a block device here")
    major, minor, node = disk
    # A block node of the disk under /, a character node of /dev/zero, and the disk's own node.
    attack = (
        f"mknod blk b {major} {minor}; head -c 512 blk | wc -c; mknod chr c 1 5; "
        f"head -c 512 chr | wc -c; head -c 512 {node} | wc -c"
    )
    result = await landlock_run(attack)
    assert _counts(result.output) == ["0", "0", "0"], result.output
    assert not (landlock_run.workspace / "blk").exists()
    assert not (landlock_run.workspace / "chr").exists()
    if not ROOT:
        return  # control: without CAP_MKNOD no user can do this, sandbox or not
    control = await landlock_run(attack, "fullAccess")
    # Root makes the nodes outside the sandbox (the disk itself may still be refused to it by
    # the machine's device cgroup, as in many containers).
    assert _counts(control.output)[1] == "512", control.output
    assert (landlock_run.workspace / "blk").exists()


def _counts(output: str) -> list[str]:
    return [line.strip() for line in output.splitlines() if line.strip().isdigit()]


def _inject(fd_path: str) -> str:
    return (
        f"import fcntl, os, termios; fd = os.open({fd_path!r}, os.O_RDWR | os.O_NOCTTY); "
        "[fcntl.ioctl(fd, termios.TIOCSTI, c) for c in (b'i', b'd', b'\\n')]; print('INJECTED')"
    )


async def test_no_keystrokes_can_be_injected_into_a_terminal(landlock_run: Runner) -> None:
    leader, follower = os.openpty()
    try:
        result = await landlock_run(f'{PY} -c "{_inject(os.ttyname(follower))}"')
        assert "INJECTED" not in result.output
        os.set_blocking(follower, False)
        with pytest.raises(BlockingIOError):
            os.read(follower, 100)
        if not ROOT:
            return  # control: TIOCSTI on a terminal that is not one's own needs CAP_SYS_ADMIN
        control = await landlock_run(f'{PY} -c "{_inject(os.ttyname(follower))}"', "fullAccess")
        assert "INJECTED" in control.output, control.output
        assert os.read(follower, 100) == b"id\n"
    finally:
        os.close(leader)
        os.close(follower)


def test_seccomp_refuses_tiocsti_even_on_an_inherited_terminal(tmp_path: Path) -> None:
    # Landlock decides when a file is opened; a terminal fd opened before is left to seccomp.
    leader, follower = os.openpty()
    try:
        code = (
            f"import fcntl, termios\ntry:\n    fcntl.ioctl({follower}, termios.TIOCSTI, b'x')\n"
            "except PermissionError:\n    print('refused')\n"
        )
        done = _confined(ExecSpec((), (tmp_path,), network=False), code, pass_fds=(follower,))
        assert done.stdout == "refused\n", done.stderr
    finally:
        os.close(leader)
        os.close(follower)


_STAND_IN_SERVER = """
import asyncio, os, sys
from pathlib import Path
from sandbox.policy import Policy
from sandbox.run import run_command, shield_this_process
if sys.argv[1] == "shielded":
    shield_this_process()
async def main():
    ws = Path(sys.argv[2])
    result = await run_command(
        sys.argv[4], cwd=ws, policy=Policy(sys.argv[3], roots=(ws,)), env=dict(os.environ),
        timeout_s=20, output_cap_bytes=100_000, launcher="landlock",
    )
    print(result.output)
asyncio.run(main())
"""


def _stand_in(shielded: bool, workspace: Path, kind: str, command: str) -> str:
    root = str(Path(__file__).resolve().parents[2])
    env = {**os.environ, "PYTHONPATH": root, "SERVER_SECRET": "sk-server-key-4711"}
    done = subprocess.run(
        [sys.executable, "-c", _STAND_IN_SERVER, "shielded" if shielded else "plain",
         str(workspace), kind, command],
        capture_output=True, text=True, timeout=60, check=True, env=env,
    )  # fmt: skip
    return done.stdout


def test_the_servers_environment_cannot_be_read(workspace: Path) -> None:
    # The command does not know the server's pid (its parent is the helper): it looks for it.
    attack = (
        "for p in /proc/[0-9]*; do cat $p/environ 2>/dev/null | tr '\\0' '\\n'; done | "
        "grep -c sk-server-key-4711; true"
    )
    assert _stand_in(True, workspace, "workspaceWrite", attack).split() == ["0"]
    # Control: a dumpable server, unsandboxed, does show its key to a command of the same user.
    assert _stand_in(False, workspace, "fullAccess", attack).split() != ["0"]


async def test_the_clock_cannot_be_set(landlock_run: Runner) -> None:
    # Sets the clock to the time it already has: harmless if it ever went through.
    attack = (
        "import time; t = time.clock_gettime(time.CLOCK_REALTIME); "
        "time.clock_settime(time.CLOCK_REALTIME, t); print('SET')"
    )
    result = await landlock_run(f'{PY} -c "{attack}"')
    assert "SET" not in result.output and "Operation not permitted" in result.output
    if ROOT:  # control: root (with CAP_SYS_TIME) can, outside the sandbox
        control = await landlock_run(f'{PY} -c "{attack}"', "fullAccess")
        if "SET" not in control.output:
            pytest.skip(f"even unsandboxed root cannot set the clock here: {control.output}")


@pytest.fixture
def victim() -> Iterator[subprocess.Popen[bytes]]:
    """A process of the same user standing in for the server (signalled, reniced, read); its
    command line is `victim<hex> 60` once it is ready."""
    token = f"victim{uuid.uuid4().hex[:8]}"
    process = subprocess.Popen(["bash", "-c", f"exec -a {token} sleep 60"])
    for _ in range(200):
        if Path(f"/proc/{process.pid}/cmdline").read_bytes().startswith(token.encode()):
            break
        time.sleep(0.01)
    yield process
    process.kill()
    process.wait()


def _limits_and_nice(pid: int) -> tuple[str, int]:
    limits = Path(f"/proc/{pid}/limits").read_text()
    nofile = next(line for line in limits.splitlines() if line.startswith("Max open files"))
    return nofile, os.getpriority(os.PRIO_PROCESS, pid)


async def test_other_processes_cannot_be_reniced_limited_or_signalled(
    landlock_run: Runner, victim: subprocess.Popen[bytes]
) -> None:
    attack = (
        f"renice -n 7 -p {victim.pid}; prlimit --pid {victim.pid} --nofile=64:64; "
        f"kill -STOP {victim.pid} && echo STOPPED"
    )
    before = _limits_and_nice(victim.pid)
    result = await landlock_run(attack)
    assert _limits_and_nice(victim.pid) == before, result.output
    assert "STOPPED" not in result.output
    assert Path(f"/proc/{victim.pid}/stat").read_text().split()[2] != "T"
    control = await landlock_run(attack.replace("kill -STOP", "kill -0"), "fullAccess")
    nofile, nice = _limits_and_nice(victim.pid)
    assert "64" in nofile and nice == 7, control.output


async def test_other_processes_command_lines_cannot_be_read(
    landlock_run: Runner, victim: subprocess.Popen[bytes]
) -> None:
    attack = f"cat /proc/{victim.pid}/cmdline; cat /proc/*/cmdline | tr '\\0' ' '"
    token = Path(f"/proc/{victim.pid}/cmdline").read_bytes().split(b"\0")[0].decode()
    result = await landlock_run(attack)
    assert token not in result.output
    assert token in (await landlock_run(attack, "fullAccess")).output


_KEYRING = """
import ctypes, sys
libc = ctypes.CDLL(None, use_errno=True)
ADD_KEY, KEYCTL = {add_key}, {keyctl}
KEY_SPEC_USER_KEYRING, KEYCTL_SEARCH, KEYCTL_READ, KEYCTL_UNLINK = -4, 10, 11, 9
NAME = sys.argv[2].encode()
if sys.argv[1] == "add":
    payload = b"keyring-secret-4711"
    key = libc.syscall(ADD_KEY, b"user", NAME, payload, len(payload),
                       KEY_SPEC_USER_KEYRING)
    print(key if key > 0 else -ctypes.get_errno())
elif sys.argv[1] == "read":
    key = libc.syscall(KEYCTL, KEYCTL_SEARCH, KEY_SPEC_USER_KEYRING, b"user", NAME, 0)
    buf = ctypes.create_string_buffer(100)
    n = libc.syscall(KEYCTL, KEYCTL_READ, key, buf, 100) if key > 0 else -1
    print(buf.raw[:n].decode() if n > 0 else f"refused {{ctypes.get_errno()}}")
else:
    key = libc.syscall(KEYCTL, KEYCTL_SEARCH, KEY_SPEC_USER_KEYRING, b"user", NAME, 0)
    libc.syscall(KEYCTL, KEYCTL_UNLINK, key, KEY_SPEC_USER_KEYRING)
"""


async def test_the_kernel_keyring_cannot_be_read(landlock_run: Runner, tmp_path: Path) -> None:
    numbers = {"x86_64": (248, 250), "aarch64": (217, 219)}.get(os.uname().machine)
    if numbers is None:
        pytest.skip("keyring syscall numbers unknown for this CPU")
    script = tmp_path / "keyring.py"
    script.write_text(_KEYRING.format(add_key=numbers[0], keyctl=numbers[1]))
    name = f"tether-test-{uuid.uuid4().hex[:8]}"
    added = subprocess.run([PY, str(script), "add", name], capture_output=True, text=True)
    if int(added.stdout.strip() or -1) < 0:
        pytest.skip(f"no user keyring here: {added.stdout} {added.stderr}")
    try:
        result = await landlock_run(f"{PY} {script} read {name}")
        assert "keyring-secret-4711" not in result.output
        assert "refused" in result.output, result.output
        control = await landlock_run(f"{PY} {script} read {name}", "fullAccess")
        assert "keyring-secret-4711" in control.output, control.output
    finally:
        subprocess.run([PY, str(script), "unlink", name], capture_output=True)


async def test_names_in_hidden_secret_dirs_cannot_be_listed(landlock_run: Runner) -> None:
    ssh = Path(landlock_run.env["HOME"]) / ".ssh"
    (ssh / "id_rsa").write_text("x")
    attack = f"ls -a {ssh}; find {ssh}; echo {ssh}/*"
    result = await landlock_run(attack)
    assert "id_rsa" not in result.output and "key" not in result.output.replace(str(ssh), "")
    assert "id_rsa" in (await landlock_run(attack, "fullAccess")).output


async def test_capabilities_are_gone_even_for_root(landlock_run: Runner) -> None:
    # /proc/self is not readable in the sandbox; the helper's checks ran, here capsh would need
    # /proc too, so ask the kernel directly: capget of self.
    probe = (
        "import ctypes; libc = ctypes.CDLL(None); h = (ctypes.c_uint32 * 2)(0x20080522, 0); "
        "d = (ctypes.c_uint32 * 6)(); libc.capget(h, d); "
        "print('caps', list(d), 'bounding', "
        "sum(libc.prctl(23, c, 0, 0, 0) == 1 for c in range(41)))"
    )
    result = await landlock_run(f'{PY} -c "{probe}"')
    assert result.output.startswith("caps [0, 0, 0, 0, 0, 0] bounding"), result.output
    if ROOT:
        assert result.output.split()[-1] == "0", result.output  # bounding set emptied
        control = await landlock_run(f'{PY} -c "{probe}"', "fullAccess")
        assert not control.output.startswith("caps [0, 0, 0, 0, 0, 0]"), control.output
