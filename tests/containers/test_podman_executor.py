"""The podman executor on its own (no server): confinement, network, environment, limits,
streaming, cancellation and removal, against the real Podman with the test image."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sandbox.containers import ContainerConfig
from sandbox.executor import CommandRequest
from sandbox.podman import PodmanExecutor
from sandbox.policy import Policy, PolicyKind
from sandbox.run import CommandResult
from tests.containers.conftest import containers_of


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    root.mkdir()
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    (root / "src.txt").write_text("original\n")
    return root


@pytest.fixture
def executor(config: ContainerConfig) -> Iterator[PodmanExecutor]:
    thread = f"thr_test_{uuid.uuid4().hex[:10]}"
    ex = PodmanExecutor(config, thread)
    yield ex
    # Each test closes its executor; what is left here is a leak.
    leftover = containers_of(thread)
    if leftover:
        subprocess.run(["podman", "rm", "-f", "-t", "0", *leftover], capture_output=True)
        pytest.fail(f"containers left behind: {leftover}")


def request(
    ws: Path, command: str, kind: PolicyKind = "workspaceWrite", **extra: Any
) -> CommandRequest:
    policy = Policy(kind=kind, roots=(ws,), network=bool(extra.pop("network", False)))
    env = {"PATH": os.defpath, "HOME": "/root", "MY_API_TOKEN": "sk-secret-value", "LANG": "C"}
    return CommandRequest(command, ws, policy, env, timeout_s=60, output_cap_bytes=1 << 20, **extra)


async def run(ex: PodmanExecutor, ws: Path, command: str, **extra: Any) -> CommandResult:
    return await ex.run(request(ws, command, **extra))


async def test_writes_land_in_the_workspace_only(executor: PodmanExecutor, ws: Path) -> None:
    result = await run(
        executor,
        ws,
        "echo new > made.txt; echo x > /etc/evil; echo x > /usr/evil; echo x > /tmp/private;"
        " echo hook > .git/hooks/pre-commit; echo '[core]' >> .git/config; mkdir -p .vscode;"
        " echo uid=$(id -u)",
    )
    await executor.close()
    assert (ws / "made.txt").read_text() == "new\n"
    assert "Read-only file system" in result.output
    assert not (ws / ".git/hooks/pre-commit").exists()
    assert "[core]" not in (ws / ".git/config").read_text().splitlines()[-1:]
    assert not (ws / ".vscode").exists()  # created in the container, undone by the guard
    assert result.guard is not None and any(".vscode" in line for line in result.guard.lines)
    assert f"uid={os.getuid()}" in result.output.splitlines()  # the server's own user
    assert not Path("/tmp/private").exists()  # the container's /tmp is its own


async def test_read_only_policy_mounts_the_workspace_read_only(
    executor: PodmanExecutor, ws: Path
) -> None:
    result = await run(executor, ws, "cat src.txt; echo changed > src.txt", kind="readOnly")
    await executor.close()
    assert result.output.startswith("original") and "Read-only file system" in result.output
    assert (ws / "src.txt").read_text() == "original\n"


async def test_no_network_unless_the_policy_allows_it(
    executor: PodmanExecutor, ws: Path, host_listener: tuple[int, list[bytes]]
) -> None:
    port, got = host_listener
    connect = f"echo hello >/dev/tcp/host.containers.internal/{port} && echo sent"
    blocked = await run(executor, ws, connect)
    allowed = await run(executor, ws, connect, network=True)
    names = executor.container_names()
    await executor.close()
    assert blocked.exit_code != 0 and "sent" not in blocked.output
    assert allowed.exit_code == 0 and "sent" in allowed.output
    assert got == [b"hello\n"]
    assert len(names) == 2  # one container without network, one with


async def test_secrets_stay_out_and_limits_apply(
    executor: PodmanExecutor, ws: Path, config: ContainerConfig
) -> None:
    result = await run(executor, ws, "env; echo; cat /proc/1/environ | tr '\\0' '\\n'")
    (name,) = executor.container_names()
    inspected = json.loads(
        subprocess.run(["podman", "inspect", name], capture_output=True, text=True).stdout
    )[0]["HostConfig"]
    await executor.close()
    assert "sk-secret-value" not in result.output and "MY_API_TOKEN" not in result.output
    if os.geteuid() == 0 or cgroup_version() == "v2":
        assert inspected["PidsLimit"] == config.pids
        assert inspected["Memory"] == 512 * 1024**2
        assert inspected["NanoCpus"] == 1_000_000_000
    else:
        # Rootless Podman cannot use cgroup v1 controllers: it drops those limits (README);
        # what still binds is the process rlimit the executor sets as well.
        assert inspected["PidsLimit"] == 0
        assert {"Name": "RLIMIT_NPROC", "Soft": config.pids, "Hard": config.pids} in inspected[
            "Ulimits"
        ]
    assert inspected["NetworkMode"] == "none"
    assert inspected["ReadonlyRootfs"] is True


def cgroup_version() -> str:
    shown = subprocess.run(
        ["podman", "info", "--format", "{{.Host.CgroupsVersion}}"], capture_output=True, text=True
    )
    return shown.stdout.strip()


async def test_output_streams_as_it_comes(executor: PodmanExecutor, ws: Path) -> None:
    chunks: list[tuple[str, str]] = []
    first = asyncio.Event()

    def on_output(stream: str, text: str) -> None:
        chunks.append((stream, text))
        first.set()

    task = asyncio.create_task(
        run(
            executor,
            ws,
            "echo one; echo err >&2; read -t 30 _ < ready.fifo; echo two",
            on_output=on_output,
        )
    )
    os.mkfifo(ws / "ready.fifo")
    await asyncio.wait_for(first.wait(), 60)
    seen_before_end = list(chunks)
    with open(ws / "ready.fifo", "w") as fifo:  # let the command finish only now
        fifo.write("go\n")
    result = await asyncio.wait_for(task, 60)
    await executor.close()
    assert ("stdout", "one\n") in seen_before_end and not task.cancelled()
    assert all(text != "two\n" for _, text in seen_before_end)
    assert result.output.count("two") == 1 and "err" in result.output


async def test_cancel_kills_the_command_and_its_background_jobs(
    executor: PodmanExecutor, ws: Path
) -> None:
    marker = f"sleep 3{uuid.uuid4().int % 10**6:06d}"
    task = asyncio.create_task(run(executor, ws, f"{marker} & {marker}; echo not reached"))
    for _ in range(600):
        if executor.container_names():
            listing = await run_ps(executor)
            if marker in listing:
                break
        await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    after = await run_ps(executor)
    await executor.close()
    assert marker not in after


async def run_ps(executor: PodmanExecutor) -> str:
    (name, *_) = executor.container_names()
    shown = await asyncio.create_subprocess_exec(
        "podman", "exec", name, "ps", "-eo", "args", stdout=asyncio.subprocess.PIPE
    )
    out, _ = await shown.communicate()
    return out.decode()


async def test_background_jobs_end_with_their_command(executor: PodmanExecutor, ws: Path) -> None:
    marker = f"sleep 6{uuid.uuid4().int % 10**6:06d}"
    result = await run(executor, ws, f"{marker} & echo started")
    after = await run_ps(executor)
    await executor.close()
    assert result.exit_code == 0 and result.output == "started\n"
    assert marker not in after


async def test_timeout_reports_a_kill(executor: PodmanExecutor, ws: Path) -> None:
    req = request(ws, "sleep 100")
    quick = CommandRequest(req.command, req.cwd, req.policy, req.env, 1.0, req.output_cap_bytes)
    result = await executor.run(quick)
    await executor.close()
    assert result.timed_out and result.exit_code == -9


async def test_close_removes_the_containers(executor: PodmanExecutor, ws: Path) -> None:
    await run(executor, ws, "true")
    assert containers_of(executor.thread_id)
    await executor.close()
    assert containers_of(executor.thread_id) == []


def test_the_reaper_removes_containers_whose_server_is_gone(
    config: ContainerConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sandbox import podman
    from sandbox.containers import LABEL, SERVER_LABEL, THREAD_LABEL

    def labelled(server: str, thread: str) -> None:
        labels = {LABEL: "podman", SERVER_LABEL: server, THREAD_LABEL: thread}
        flags = [arg for k, v in labels.items() for arg in ("--label", f"{k}={v}")]
        command = ["podman", "run", "-d", "--rm", *flags, "--entrypoint", "/bin/bash"]
        started = subprocess.run(
            [*command, str(config.image), "-c", "sleep 300"], capture_output=True, text=True
        )
        assert started.returncode == 0, started.stderr

    thread = f"thr_orphan_{uuid.uuid4().hex[:8]}"
    labelled("1:0", thread)
    mine = f"thr_live_{uuid.uuid4().hex[:8]}"
    labelled(podman.server_identity(), mine)
    monkeypatch.setattr(podman, "_reaped", False)
    try:
        podman.reap_orphans(config)
        assert containers_of(thread) == []  # pid 1 never started at tick 0: its server is gone
        assert containers_of(mine)  # this process's own stay
    finally:
        leftover = containers_of(thread) + containers_of(mine)
        if leftover:
            subprocess.run(["podman", "rm", "-f", "-t", "0", *leftover], capture_output=True)
