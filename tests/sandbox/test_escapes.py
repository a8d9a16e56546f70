"""The escape battery: real attacks from inside the sandbox, under every launcher that works here.

Each attack must fail and leave nothing behind: the target outside the workspace is unchanged
and nothing new appears there.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import uuid
from pathlib import Path

import pytest

from sandbox.cgroup import CommandCgroup
from sandbox.policy import DEFAULT_PROTECTED
from sandbox.run import CommandResult, _processes_of_user  # pyright: ignore[reportPrivateUsage]
from tests.sandbox.conftest import HOME_SECRETS, PY, SECRET_TEXT, Runner, secret_file


def refused_or_undone(result: CommandResult) -> bool:
    """bwrap refuses a write to a protected path; under Landlock (which grants whole trees) the
    write lands and `sandbox.guard` undoes it when the command ends, and says so."""
    return result.exit_code != 0 or bool(result.guard and result.guard.restored)


def snapshot(path: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(path)): p.read_bytes() if p.is_file() else b"<dir>"
        for p in sorted(path.rglob("*"))
    }


async def test_write_outside_via_dotdot(run: Runner, outside: Path) -> None:
    before = snapshot(outside)
    result = await run("echo pwned > ../outside/victim.txt; echo pwned > ../outside/new.txt")
    assert result.exit_code != 0
    assert snapshot(outside) == before


async def test_write_outside_via_absolute_path(run: Runner, outside: Path) -> None:
    before = snapshot(outside)
    result = await run(f"echo pwned > {outside}/victim.txt; mkdir {outside}/newdir")
    assert result.exit_code != 0
    assert snapshot(outside) == before
    assert result.denial is not None and result.denial.kind == "write"


async def test_write_outside_via_symlink_made_inside(run: Runner, outside: Path) -> None:
    before = snapshot(outside)
    result = await run(f"ln -s {outside} link && echo pwned > link/new.txt")
    assert result.exit_code != 0
    assert snapshot(outside) == before


async def test_hard_link_to_outside_file_is_refused(run: Runner, outside: Path) -> None:
    before = snapshot(outside)
    result = await run(f"ln {outside}/victim.txt hl && echo pwned >> hl")
    assert result.exit_code != 0
    assert snapshot(outside) == before
    assert not (run.workspace / "hl").exists()


async def test_write_through_proc_self_root(run: Runner, outside: Path) -> None:
    before = snapshot(outside)
    result = await run(f"echo pwned > /proc/self/root{outside}/new.txt")
    assert result.exit_code != 0
    assert snapshot(outside) == before


async def test_read_only_writes_land_nowhere_but_the_private_tmp(run: Runner) -> None:
    marker = f"tether-escape-{uuid.uuid4().hex}"
    result = await run(
        f"echo x > /tmp/{marker}; echo x > /var/tmp/{marker} && echo ESCAPED; "
        f"echo x > hello.txt && echo ESCAPED; echo x > $TMPDIR/{marker} && cat $TMPDIR/{marker}",
        "readOnly",
    )
    assert "ESCAPED" not in result.output
    assert result.output.endswith("x\n")  # the private temporary directory works
    assert not Path("/tmp", marker).exists()
    assert not Path("/var/tmp", marker).exists()
    assert (run.workspace / "hello.txt").read_text() == "hello\n"


async def test_read_only_home_is_private(run: Runner) -> None:
    result = await run("echo $HOME", "readOnly")
    assert result.output.strip() != run.env["HOME"]


@pytest.mark.parametrize("entry", DEFAULT_PROTECTED)
async def test_protected_path_cannot_be_written_or_created(run: Runner, entry: str) -> None:
    before = snapshot(run.workspace)
    result = await run(
        f"mkdir -p {entry}; echo pwned > {entry}; echo pwned > {entry}/pre-commit; "
        f"chmod +x {entry}/pre-commit; echo pwned >> {entry}; rm -rf {entry}; "
        f'[ -e {entry}/pre-commit ] || [ "$(cat {entry} 2>/dev/null)" = pwned ]'
    )
    assert result.exit_code != 0, result.output
    assert snapshot(run.workspace) == before


async def test_renaming_the_parent_of_protected_paths_does_not_help(run: Runner) -> None:
    before = snapshot(run.workspace)
    result = await run(
        "mv .git .gitx && mkdir .git && cp -r .gitx/. .git/ && rm -rf .gitx; "
        "echo '[core]' >> .git/config && echo '  hooksPath = /x' >> .git/config"
    )
    assert refused_or_undone(result)
    assert snapshot(run.workspace) == before, result.output


async def test_git_config_hooks_path_is_refused(run: Runner) -> None:
    config = (run.workspace / ".git" / "config").read_text()
    result = await run("mkdir -p myhooks && git config core.hooksPath myhooks")
    assert refused_or_undone(result)
    assert (run.workspace / ".git" / "config").read_text() == config
    assert "hooksPath" not in config


async def test_tcp_connect_to_loopback_listener_fails(run: Runner) -> None:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.setblocking(False)
    port = listener.getsockname()[1]
    try:
        script = f"import socket; socket.create_connection(('127.0.0.1', {port}), timeout=3)"
        result = await run(f'{PY} -c "{script}"')
        assert result.exit_code != 0
        with pytest.raises(BlockingIOError):
            listener.accept()
    finally:
        listener.close()


async def test_udp_dns_query_to_loopback_and_name_lookup_fail(run: Runner) -> None:
    server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    server.bind(("127.0.0.1", 0))
    server.setblocking(False)
    port = server.getsockname()[1]
    try:
        send = (
            "import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); "
            f"s.sendto(b'query', ('127.0.0.1', {port}))"
        )
        lookup = "import socket; socket.getaddrinfo('pypi.org', 443)"
        # In a network namespace the send itself may "succeed" on the sandbox's own loopback;
        # what matters is that nothing reaches the host's listener.
        result = await run(f'{PY} -c "{send}"; {PY} -c "{lookup}" && echo RESOLVED')
        assert "RESOLVED" not in result.output
        assert result.denial is not None and result.denial.kind == "network"
        await asyncio.sleep(0.1)
        with pytest.raises(BlockingIOError):
            server.recvfrom(100)
    finally:
        server.close()


async def test_unix_socket_listener_outside_is_unreachable(run: Runner, outside: Path) -> None:
    # Host daemons (D-Bus, docker) listen on Unix sockets; connecting to one is an escape.
    path = outside / "daemon.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen(8)
    listener.setblocking(False)
    try:
        script = f"import socket; socket.socket(socket.AF_UNIX).connect({str(path)!r})"
        result = await run(f'{PY} -c "{script}" && echo CONNECTED')
        assert "CONNECTED" not in result.output
        with pytest.raises(BlockingIOError):
            listener.accept()
    finally:
        listener.close()


def _pids_with(token: str) -> list[int]:
    found: list[int] = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                cmdline = Path("/proc", entry, "cmdline").read_bytes()
            except OSError:
                continue
            if token.encode() in cmdline:
                found.append(int(entry))
    return found


async def test_fork_bomb_is_contained_and_fully_killed(run: Runner) -> None:
    token = f"bomb{uuid.uuid4().hex[:8]}"
    limit = 48
    peak = 0
    # Without a cgroup the cap is RLIMIT_NPROC set above what the user already runs; processes
    # of the user that end meanwhile leave their share to the bomb (seen: 54 as a normal user).
    probe = CommandCgroup.create(8)
    slack = 2 if probe is not None else 2 + _processes_of_user(os.getuid())
    if probe is not None:
        probe.remove()

    async def watch() -> None:
        nonlocal peak
        while True:
            peak = max(peak, len(_pids_with(token)))
            await asyncio.sleep(0.05)

    watcher = asyncio.create_task(watch())
    try:
        # The main shell stays alive (sleep) so the bomb runs until the timeout kills it all.
        result = await run(
            f"{token}(){{ {token} | {token} & }}; {token}; sleep 30",
            timeout_s=3,
            max_processes=limit,
        )
    finally:
        watcher.cancel()
    assert result.timed_out and result.duration_ms < 8000
    assert "Resource temporarily unavailable" in result.output  # it did run into the cap
    assert peak <= limit + slack, f"saw {peak} bomb processes, limit {limit} + {slack}"
    await asyncio.sleep(0.2)
    assert _pids_with(token) == []


async def test_memory_hog_is_killed_at_the_limit(run: Runner) -> None:
    if _memory_cgroup_unavailable():
        pytest.skip("no writable memory cgroup here")
    hog = "x = bytearray(400 * 1024 * 1024); x[::4096] = b'a' * len(x[::4096]); print('survived')"
    result = await run(f'{PY} -c "{hog}"', max_memory_bytes=64 * 1024 * 1024)
    assert "survived" not in result.output
    assert result.exit_code != 0
    small = await run(f"{PY} -c \"print(len(bytearray(8 * 1024 * 1024)))\"",
                      max_memory_bytes=64 * 1024 * 1024)  # fmt: skip
    assert small.output == f"{8 * 1024 * 1024}\n", small.output


def _memory_cgroup_unavailable() -> bool:
    probe = CommandCgroup.create(8, 64 * 1024 * 1024)
    if probe is None:
        return True
    probe.remove()
    return probe.memory is None


async def test_endless_output_is_truncated(run: Runner) -> None:
    cap = 64 * 1024
    result = await run("head -c 100000000 /dev/zero | tr '\\0' a; echo done", cap=cap)
    assert result.exit_code == 0
    assert result.truncated
    assert "output truncated" in result.output
    assert len(result.output.encode()) < cap + 200
    assert result.output.rstrip().endswith("done")


async def test_model_key_is_not_in_the_environment(run: Runner) -> None:
    result = await run("env")
    assert "OPENAI_API_KEY" not in result.output
    assert "sk-test-should-never-leak" not in result.output
    assert "PATH=" in result.output


@pytest.mark.parametrize("entry", HOME_SECRETS)
@pytest.mark.parametrize("kind", ["workspaceWrite", "readOnly"])
async def test_secret_files_are_hidden(run: Runner, entry: str, kind: str) -> None:
    path = secret_file(Path(run.env["HOME"]), entry)
    result = await run(f"cat {path}; cat {path.parent}/*; grep -r . {path.parent}", kind)
    assert SECRET_TEXT not in result.output
    assert path.read_text() == SECRET_TEXT + "\n"


async def test_etc_shadow_is_hidden(run: Runner) -> None:
    if not os.access("/etc/shadow", os.R_OK):
        pytest.skip("/etc/shadow is not readable here even without a sandbox")
    result = await run("cat /etc/shadow")
    assert "root:" not in result.output


async def test_secrets_cannot_be_hard_linked_into_the_workspace(run: Runner) -> None:
    key = Path(run.env["HOME"]) / ".ssh" / "key"
    result = await run(f"ln {key} stolen; cp {key} copied; cat stolen copied")
    assert SECRET_TEXT not in result.output
    for name in ("stolen", "copied"):
        target = run.workspace / name
        assert not target.exists() or SECRET_TEXT not in target.read_text()


class TestControlsWithoutSandbox:
    """The same attacks under fullAccess succeed, so the battery above can tell when it fails."""

    async def test_dotdot_write_lands_without_sandbox(self, run: Runner, outside: Path) -> None:
        await run("echo pwned > ../outside/new.txt", "fullAccess")
        assert (outside / "new.txt").read_text() == "pwned\n"

    async def test_secret_is_readable_without_sandbox(self, run: Runner) -> None:
        key = Path(run.env["HOME"]) / ".ssh" / "key"
        result = await run(f"cat {key}", "fullAccess")
        assert SECRET_TEXT in result.output

    async def test_protected_path_is_writable_without_sandbox(self, run: Runner) -> None:
        result = await run("git config core.hooksPath myhooks", "fullAccess")
        assert result.exit_code == 0
        assert "hooksPath" in (run.workspace / ".git" / "config").read_text()

    async def test_loopback_listener_is_reachable_without_sandbox(self, run: Runner) -> None:
        listener = socket.create_server(("127.0.0.1", 0))
        port = listener.getsockname()[1]
        try:
            script = f"import socket; socket.create_connection(('127.0.0.1', {port}), timeout=3)"
            result = await run(f'{PY} -c "{script}"', "fullAccess")
            assert result.exit_code == 0, result.output
        finally:
            listener.close()

    async def test_unix_socket_is_reachable_without_sandbox(
        self, run: Runner, outside: Path
    ) -> None:
        path = outside / "daemon.sock"
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(str(path))
        listener.listen(8)
        try:
            script = f"import socket; socket.socket(socket.AF_UNIX).connect({str(path)!r})"
            result = await run(f'{PY} -c "{script}" && echo CONNECTED', "fullAccess")
            assert "CONNECTED" in result.output
        finally:
            listener.close()


async def test_concurrent_commands_keep_missing_protected_paths_covered(run: Runner) -> None:
    # The command that made the mask's mount point ends first; removing the mount point then
    # would detach the mask inside the other, still running, sandbox.
    first = asyncio.create_task(run("sleep 0.8"))
    await asyncio.sleep(0.3)
    second = asyncio.create_task(
        run("sleep 1.5; mkdir -p .vscode; echo pwned > .vscode/tasks.json")
    )
    assert (await first).exit_code == 0
    result = await second
    assert refused_or_undone(result), result.output
    assert not (run.workspace / ".vscode").exists()


PLANT_HOOK_AND_FSMONITOR = (
    "git init -q . && git add -A && git -c user.name=T -c user.email=t@e commit -qm one "
    "&& printf '#!/bin/sh\\ntouch {marker}\\n' > .git/hooks/pre-commit "
    "&& chmod +x .git/hooks/pre-commit && git config core.fsmonitor 'touch {marker}; echo' "
    "&& git config core.hooksPath .git/hooks && git config alias.st '!touch {marker}' "
    "&& echo ../elsewhere > .git/commondir && mkdir -p .git/info && echo x > .git/info/attributes "
    "&& ln -sf {marker} .git/COMMIT_EDITMSG"  # git writes the next message through it
)


async def test_a_new_repository_keeps_no_hook_or_config_that_runs_code(run: Runner) -> None:
    # `git init .` of a root without a repository is legitimate; the hooks and config it plants
    # are not: git run outside the sandbox afterwards (Tether's or the user's) must run none.
    shutil.rmtree(run.workspace / ".git")
    marker = run.workspace.parent / f"pwned-{uuid.uuid4().hex[:8]}"
    result = await run(PLANT_HOOK_AND_FSMONITOR.format(marker=marker))
    undone = "\n".join(result.guard.lines if result.guard else [])
    planted_entries = ("hooks", "commondir", "info/attributes", "COMMIT_EDITMSG")
    for planted in (*planted_entries, "core.fsmonitor", "core.hookspath", "alias.st"):
        assert planted in undone, undone
    git_dir = run.workspace / ".git"
    assert not (git_dir / "hooks").exists() and not (git_dir / "commondir").exists()
    assert os.listdir(git_dir / "info") == ["exclude"]  # git's template: ignore patterns only
    config = (git_dir / "config").read_text()
    assert "fsmonitor" not in config and "hooksPath" not in config and "alias" not in config
    env = {"PATH": os.environ["PATH"], "HOME": str(run.workspace.parent)}
    for argv in (
        ["status"],
        ["st"],
        ["-c", "user.name=U", "-c", "user.email=u@e", "commit", "--allow-empty", "-qm", "two"],
    ):
        subprocess.run(["git", *argv], cwd=run.workspace, env=env, capture_output=True, check=False)
    assert not marker.exists()
    log = subprocess.run(["git", "log", "--format=%s"], cwd=run.workspace, capture_output=True)
    assert log.stdout.split() == [b"two", b"one"]


async def test_a_new_git_file_pointing_elsewhere_is_removed(run: Runner, outside: Path) -> None:
    # A `.git` file (a worktree's pointer) would make git outside use a hostile repository.
    evil = outside / "evil"
    subprocess.run(["git", "init", "-q", str(evil)], check=True)
    shutil.rmtree(run.workspace / ".git")
    result = await run(f"printf 'gitdir: {evil}\\n' > .git")
    assert not (run.workspace / ".git").is_file()
    if run.launcher == "bwrap":
        assert result.exit_code != 0  # its .git is a mount point, and the outside read-only
    else:
        assert result.guard is not None
        assert any(".git as a file" in line for line in result.guard.lines)


async def test_missing_secret_paths_cannot_be_made_in_a_home_workspace(run: Runner) -> None:
    # A workspace that is the home, without ~/.ssh or ~/.aws yet: creating them would let ssh
    # logins in (authorized_keys) or run code for the user's next aws call (credential_process).
    home = run.workspace
    result = await Runner(run.launcher, home, {**run.env, "HOME": str(home)})(
        "mkdir -p .ssh && echo key > .ssh/authorized_keys; mkdir -p .aws && "
        "printf '[default]\\ncredential_process = touch pwned\\n' > .aws/config; ls -a .ssh .aws"
    )
    for made in (".ssh/authorized_keys", ".aws/config"):
        assert not (home / made).exists(), result.output
    assert not (home / ".ssh").exists() and not (home / ".aws").exists()  # nothing left behind


async def test_symlinks_where_git_writes_through_them_are_removed(
    run: Runner, outside: Path
) -> None:
    # Git outside the sandbox appends reflogs and writes COMMIT_EDITMSG through a symlink: left
    # in place, these would have the user's next commit write into a file outside the workspace.
    victim = outside / "victim.txt"
    subprocess.run(["git", "init", "-q", str(run.workspace / "sub" / "lib")], check=True)
    result = await run(
        f"ln -sf {victim} .git/logs/HEAD && ln -sf {victim} .git/COMMIT_EDITMSG "
        f"&& mkdir -p .git/logs/refs/heads && ln -sf {victim} .git/logs/refs/heads/main "
        f"&& mkdir -p sub/lib/.git/logs && ln -sf {victim} sub/lib/.git/logs/HEAD"
    )
    assert result.guard is not None
    undone = "\n".join(result.guard.lines)
    for link in (".git/logs/HEAD", ".git/COMMIT_EDITMSG", ".git/logs/refs/heads/main"):
        assert f"{link} a symlink" in undone, undone
        assert not (run.workspace / link).is_symlink()
    assert "sub/lib/.git/logs/HEAD a symlink" in undone, undone  # nested repositories too
    subprocess.run(
        [
            "git",
            "-c",
            "user.name=U",
            "-c",
            "user.email=u@e",
            "commit",
            "-q",
            "--allow-empty",
            "-m",
            "two",
        ],
        cwd=run.workspace,
        check=True,
    )
    assert victim.read_text() == "original\n"
