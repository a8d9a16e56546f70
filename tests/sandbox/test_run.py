"""run_command's process handling: streaming, decoding, timeouts, cancellation and cleanup."""

from __future__ import annotations

import asyncio
import glob
import os
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest

from sandbox.errors import CommandSetupError, SandboxUnavailable
from sandbox.output import Stream
from sandbox.policy import Policy
from sandbox.quota import GIB, Quotas
from sandbox.run import CommandResult, process_limit_prefix, run_command
from tests.sandbox.conftest import Runner
from tests.sandbox.test_escapes import _pids_with  # pyright: ignore[reportPrivateUsage]

# A hang guard, not a speed goal: the tests' sleepers run 30 s, so ending within 20 s shows
# the command was ended rather than waited for.
_BEFORE_THE_SLEEPERS = 20


def private_dirs() -> set[str]:
    return set(glob.glob(str(Path(tempfile.gettempdir()) / "tether-cmd-*")))


async def test_streamed_chunks_equal_the_final_output(run: Runner) -> None:
    chunks: list[tuple[Stream, str]] = []
    policy = Policy("workspaceWrite", roots=(run.workspace,))
    result = await run_command(
        "echo out; echo err >&2; printf '\\xe2'; sleep 0.2; printf '\\x82\\xac\\n'",
        cwd=run.workspace,
        policy=policy,
        env=run.env,
        timeout_s=10,
        output_cap_bytes=10_000,
        on_output=lambda stream, text: chunks.append((stream, text)),
        launcher=run.launcher,
    )
    assert "".join(text for _, text in chunks) == result.output
    assert ("stderr", "err\n") in chunks
    assert "€" in result.output and "\ufffd" not in result.output


async def test_truncated_stream_also_equals_the_final_output(run: Runner) -> None:
    chunks: list[str] = []
    policy = Policy("workspaceWrite", roots=(run.workspace,))
    result = await run_command(
        "seq 1 200000",
        cwd=run.workspace,
        policy=policy,
        env=run.env,
        timeout_s=10,
        output_cap_bytes=1000,
        on_output=lambda _stream, text: chunks.append(text),
        launcher=run.launcher,
    )
    assert result.truncated
    assert "".join(chunks) == result.output
    assert result.output.startswith("1\n2\n3\n")
    assert result.output.endswith("199999\n200000\n")


async def test_timeout_kills_the_whole_tree(run: Runner) -> None:
    token = f"sleeper{uuid.uuid4().hex[:8]}"
    # Ending well before the sleepers would (30 s) is the behaviour; how fast is a bench figure.
    command = (
        f"(exec -a {token} sleep 30) & setsid bash -c 'exec -a {token} sleep 30' & "
        f"exec -a {token} sleep 30"
    )
    result = await asyncio.wait_for(run(command, timeout_s=0.5), timeout=_BEFORE_THE_SLEEPERS)
    assert result.timed_out
    assert result.exit_code < 0
    assert _pids_with(token) == []


async def test_cancelling_the_task_kills_and_cleans_up(run: Runner) -> None:
    token = f"cancel{uuid.uuid4().hex[:8]}"
    before = private_dirs()
    task = asyncio.create_task(run(f"exec -a {token} sleep 30"))
    for _ in range(100):
        await asyncio.sleep(0.05)
        if _pids_with(token):
            break
    assert _pids_with(token), "the command never started"
    task.cancel()
    done, _ = await asyncio.wait({task}, timeout=_BEFORE_THE_SLEEPERS)
    assert task in done, "cancelling did not end the command"
    with pytest.raises(asyncio.CancelledError):
        task.result()
    await asyncio.sleep(0.05)
    assert _pids_with(token) == []
    for _ in range(40):  # the private directory is removed in the background
        if private_dirs() <= before:
            break
        await asyncio.sleep(0.05)
    assert private_dirs() <= before


async def test_background_jobs_die_with_their_command(run: Runner) -> None:
    token = f"bg{uuid.uuid4().hex[:8]}"
    result = await asyncio.wait_for(
        run(f"(exec -a {token} sleep 30) & echo started"), timeout=_BEFORE_THE_SLEEPERS
    )
    assert result.output == "started\n"
    assert _pids_with(token) == []


async def test_denial_hints(run: Runner, outside: Path) -> None:
    write = await run(f"touch {outside}/x")
    assert write.denial is not None and write.denial.kind == "write"
    net = await run("getent hosts pypi.org || python3 -c \"import urllib.request as u; "
                    "u.urlopen('http://pypi.org', timeout=2)\"")  # fmt: skip
    assert net.denial is not None and net.denial.kind == "network"
    fine = await run("true")
    assert fine.denial is None and fine.exit_code == 0


async def test_result_reports_sandbox_and_launcher(run: Runner) -> None:
    result = await run("true", "readOnly")
    assert (result.sandbox, result.launcher) == ("readOnly", run.launcher)
    full = await run("true", "fullAccess")
    assert (full.sandbox, full.launcher) == ("none", "none")


async def test_full_access_has_no_sandbox_but_a_private_tmpdir(run: Runner, outside: Path) -> None:
    result = await run(f"echo hi > {outside}/ok && echo $TMPDIR", "fullAccess")
    assert (outside / "ok").read_text() == "hi\n"
    assert result.output.strip() != tempfile.gettempdir()
    assert not Path(result.output.strip()).exists()


async def test_exit_code_is_passed_through(run: Runner) -> None:
    assert (await run("exit 7")).exit_code == 7


async def test_no_launcher_refuses_sandboxed_commands(workspace: Path) -> None:
    with pytest.raises(SandboxUnavailable, match="approve"):
        await run_command(
            "true",
            cwd=workspace,
            policy=Policy("workspaceWrite", roots=(workspace,)),
            env={"PATH": "/usr/bin:/bin"},
            timeout_s=5,
            output_cap_bytes=100,
            on_output=None,
            launcher="none",
        )


def test_without_a_cgroup_the_process_cap_falls_back_to_rlimit() -> None:
    prefix = process_limit_prefix(None, 50)
    done = subprocess.run(
        [*prefix, "cat", "/proc/self/limits"],
        capture_output=True,
        text=True,
        check=True,
        timeout=10,
    )
    line = next(x for x in done.stdout.splitlines() if x.startswith("Max processes"))
    soft = int(line.split()[2])
    assert 50 <= soft < 100_000


async def test_caches_point_into_the_private_tmp(run: Runner) -> None:
    result = await run('mkdir -p "$XDG_CACHE_HOME" && echo "$XDG_CACHE_HOME|$TMPDIR"')
    assert result.exit_code == 0, result.output
    cache, tmp = result.output.strip().split("|")
    assert cache.startswith(tmp)


async def test_a_missing_extra_root_does_not_break_the_command(run: Runner) -> None:
    policy = Policy("workspaceWrite", roots=(run.workspace, run.workspace / "gone"))
    result = await run_command(
        "echo ok > hello.txt && cat hello.txt",
        cwd=run.workspace,
        policy=policy,
        env=run.env,
        timeout_s=10,
        output_cap_bytes=1000,
        on_output=None,
        launcher=run.launcher,
    )
    assert (result.exit_code, result.output) == (0, "ok\n")


async def test_symlinked_protected_path_refuses_under_bwrap(run: Runner, outside: Path) -> None:
    if run.launcher != "bwrap":
        pytest.skip("bwrap only: Landlock mounts nothing, the guard puts a swapped link back")
    (run.workspace / ".vscode").symlink_to(outside)
    with pytest.raises(SandboxUnavailable, match="symlink"):
        await run("true")


async def test_missing_cwd_is_a_setup_error(run: Runner) -> None:
    with pytest.raises(CommandSetupError, match="does not exist"):
        await run("true", cwd=run.workspace / "nope")


@pytest.mark.sandbox_matrix
async def test_no_survivors_without_a_cgroup(run: Runner, monkeypatch: pytest.MonkeyPatch) -> None:
    # As a normal user no cgroup can be made: the launcher alone must end the tree.
    monkeypatch.setattr("sandbox.run.CommandCgroup.create", lambda *_args: None)
    token = f"survivor{uuid.uuid4().hex[:8]}"
    command = (
        f"setsid bash -c 'exec -a {token} sleep 30' & "
        f"(setsid bash -c '(exec -a {token} sleep 30) &' &) ; sleep 0.3; echo started"
    )
    result = await run(command)
    assert result.output == "started\n", result.output
    assert result.containment == {"bwrap": "pidNamespace", "landlock": "subreaper"}[run.launcher]
    await asyncio.sleep(0.2)
    assert _pids_with(token) == []
    # Control: unsandboxed and without a cgroup, the setsid'd jobs do outlive their command.
    control = await run(command, "fullAccess")
    assert control.containment is None
    await asyncio.sleep(0.2)
    survivors = _pids_with(token)
    for pid in survivors:
        os.kill(pid, 9)
    assert survivors


async def _with_quotas(run: Runner, command: str, quotas: Quotas) -> CommandResult:
    return await run_command(
        command,
        cwd=run.workspace,
        policy=Policy("workspaceWrite", roots=(run.workspace,)),
        env=run.env,
        timeout_s=40,
        output_cap_bytes=10_000,
        launcher=run.launcher,
        quotas=quotas,
    )


@pytest.mark.sandbox_matrix
async def test_filling_the_private_tmp_past_its_quota_is_stopped(run: Runner) -> None:
    quotas = Quotas(workspace_growth_bytes=10 * GIB, tmp_bytes=32 * 1024 * 1024)
    # `;` not `&&`: under bwrap the tmpfs refuses the write past the cap and the command goes
    # on; under Landlock the write lands. Either way it is stopped before it can print.
    fill = 'head -c 64M /dev/zero > "$TMPDIR/fill"; sleep 20; echo survived'
    result = await _with_quotas(run, fill, quotas)
    assert "survived" not in result.output and not result.timed_out
    assert result.over_quota is not None and "private /tmp" in result.over_quota, result
    assert "tmp_cap" in result.over_quota
    if run.launcher == "bwrap":
        assert "No space left on device" in result.output  # the kernel held the cap
    # Control: under the quota the same command runs to its end.
    fine = await _with_quotas(run, 'head -c 1M /dev/zero > "$TMPDIR/fill"; echo survived', quotas)
    assert fine.output == "survived\n" and fine.over_quota is None


async def test_growing_the_workspace_past_its_quota_is_stopped(run: Runner) -> None:
    grow = (
        "for i in 1 2 3 4 5 6; do head -c 32M /dev/urandom > big$i; sync; sleep 0.3; done; "
        "sleep 20; echo survived"
    )
    result = await _with_quotas(run, grow, Quotas(workspace_growth_bytes=48 * 1024 * 1024))
    assert "survived" not in result.output
    assert result.over_quota is not None and "filled up" in result.over_quota, result
    assert not result.timed_out
    assert len(list(run.workspace.glob("big*"))) < 6
