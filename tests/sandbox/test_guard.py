"""sandbox.guard: protected entries are put back after a command, whatever the launcher let it do.

The guard is exercised on its own (changes made directly, as a command under Landlock can), and
through run_command under every launcher, with the unsandboxed control showing the change sticks
where no guard runs.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from sandbox.guard import MAX_FILE_BYTES, Guard
from sandbox.policy import Policy
from tests.sandbox.conftest import Runner, git


def _policy(root: Path) -> Policy:
    return Policy("workspaceWrite", roots=(root,))


def test_changed_config_and_hooks_are_restored(workspace: Path) -> None:
    config = workspace / ".git" / "config"
    original = config.read_bytes()
    hooks = sorted(p.name for p in (workspace / ".git" / "hooks").iterdir())
    guard = Guard.record(_policy(workspace))
    config.write_text('[core]\n\tfsmonitor = "touch PWNED"\n')
    (workspace / ".git" / "hooks" / "pre-commit").write_text("#!/bin/sh\ntouch PWNED\n")
    report = guard.restore()
    assert config.read_bytes() == original
    assert sorted(p.name for p in (workspace / ".git" / "hooks").iterdir()) == hooks
    assert any(".git/config" in line and "restored" in line for line in report.lines), report
    assert any(".git/hooks" in line for line in report.lines), report


def test_created_protected_names_and_nested_repositories_are_removed(workspace: Path) -> None:
    (workspace / "sub").mkdir()
    guard = Guard.record(_policy(workspace))
    (workspace / ".vscode").mkdir()
    (workspace / ".vscode" / "tasks.json").write_text("{}")
    (workspace / ".envrc").write_text("touch PWNED\n")
    (workspace / "sub" / ".git").mkdir()
    (workspace / "sub" / ".git" / "config").write_text('[core]\n\tfsmonitor = "x"\n')
    (workspace / "deep" / "er").mkdir(parents=True)
    (workspace / "deep" / "er" / ".git").write_text("gitdir: /tmp/evil\n")
    (workspace / "deep" / ".vscode").mkdir()
    (workspace / "kept.txt").write_text("ordinary work stays\n")
    report = guard.restore()
    for gone in (".vscode", ".envrc", "sub/.git", "deep/er/.git", "deep/.vscode"):
        assert not (workspace / gone).exists(), gone
    assert (workspace / "kept.txt").read_text() == "ordinary work stays\n"
    assert len(report.restored) == 5, report


def test_a_deleted_protected_file_comes_back_with_its_mode(workspace: Path) -> None:
    hook = workspace / ".git" / "hooks" / "post-checkout"
    hook.write_text("#!/bin/sh\necho hi\n")
    hook.chmod(0o750)
    guard = Guard.record(_policy(workspace))
    hook.unlink()
    guard.restore()
    assert hook.read_text() == "#!/bin/sh\necho hi\n"
    assert hook.stat().st_mode & 0o777 == 0o750


def test_a_protected_directory_swapped_for_a_symlink_is_not_followed(
    workspace: Path, outside: Path
) -> None:
    guard = Guard.record(_policy(workspace))
    hooks = workspace / ".git" / "hooks"
    os.rename(hooks, workspace / "moved-hooks")
    hooks.symlink_to(outside)
    report = guard.restore()
    assert hooks.is_dir() and not hooks.is_symlink()
    assert sorted(p.name for p in outside.iterdir()) == ["victim.txt"]  # nothing written there
    assert report.lines


def test_the_parent_of_protected_entries_replaced_by_a_symlink(
    workspace: Path, outside: Path
) -> None:
    config = (workspace / ".git" / "config").read_bytes()
    guard = Guard.record(_policy(workspace))
    os.rename(workspace / ".git", workspace / ".gitx")
    (workspace / ".git").symlink_to(outside)
    guard.restore()
    assert (workspace / ".git").is_dir() and not (workspace / ".git").is_symlink()
    assert (workspace / ".git" / "config").read_bytes() == config
    assert sorted(p.name for p in outside.iterdir()) == ["victim.txt"]


def test_a_file_too_large_to_keep_is_reported_not_restored(workspace: Path) -> None:
    big = workspace / ".vscode" / "big.bin"
    big.parent.mkdir()
    big.write_bytes(b"a" * (MAX_FILE_BYTES + 1))
    guard = Guard.record(_policy(workspace))
    big.write_bytes(b"b" * (MAX_FILE_BYTES + 1))
    report = guard.restore()
    assert report.unrestorable and "too large" in report.unrestorable[0]


def test_untouched_protected_entries_give_an_empty_report(workspace: Path) -> None:
    guard = Guard.record(_policy(workspace))
    (workspace / "hello.txt").write_text("changed\n")
    assert guard.restore().lines == []


@pytest.mark.parametrize("attack", ["config", "hook", "nested"])
async def test_run_command_undoes_protected_changes_under_every_launcher(
    run: Runner, attack: str
) -> None:
    command = {
        "config": "git config core.fsmonitor 'touch PWNED'",
        "hook": "printf '#!/bin/sh\\ntouch PWNED\\n' > .git/hooks/pre-commit",
        "nested": "mkdir -p sub && git init -q sub",
    }[attack]
    config = (run.workspace / ".git" / "config").read_text()
    result = await run(command)
    assert (run.workspace / ".git" / "config").read_text() == config
    assert not (run.workspace / ".git" / "hooks" / "pre-commit").exists()
    assert not (run.workspace / "sub" / ".git").exists()
    if result.exit_code == 0:  # it landed (Landlock): then the guard must say what it undid
        assert result.guard is not None and result.guard.lines, result
    # Control: unsandboxed, the change stays.
    await run(command, "fullAccess")
    changed = (
        (run.workspace / ".git" / "config").read_text() != config
        or (run.workspace / ".git" / "hooks" / "pre-commit").exists()
        or (run.workspace / "sub" / ".git").exists()
    )
    assert changed
    assert git(run.workspace, "status", "--porcelain") is not None


async def test_under_landlock_a_protected_change_is_undone_while_the_command_runs(
    run: Runner,
) -> None:
    if run.launcher != "landlock":
        pytest.skip("bwrap's mounts refuse the write itself")
    config = run.workspace / ".git" / "config"
    original = config.read_text()
    task = asyncio.create_task(
        run("echo '[core] fsmonitor = x' >> .git/config && echo written && sleep 3", timeout_s=20)
    )
    seen_changed_for = 0
    for _ in range(200):  # the command writes, then sleeps 3 s: look while it sleeps
        await asyncio.sleep(0.01)
        if "fsmonitor" in config.read_text():
            seen_changed_for += 1
    result = await task
    assert "written" in result.output
    assert config.read_text() == original
    assert seen_changed_for <= 5, f"changed for {seen_changed_for} polls of 10 ms"
    assert any("while it ran" in line for line in result.guard.lines if result.guard), result
