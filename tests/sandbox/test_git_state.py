"""Rebase and cherry-pick state a command leaves behind runs nothing in the user's git later.

Commands may write `.git/rebase-merge` and `.git/sequencer` so rebases work in the sandbox; the
user's own `git rebase --continue` outside it must not then run a program the command planted
(`sandbox.git_state`). fullAccess, where no guard runs, is the control: the planted line runs.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.sandbox.conftest import Runner, git

STOP_AT_EDIT = "GIT_SEQUENCE_EDITOR='sed -i 1s/^pick/edit/' git rebase -q -i HEAD~1"


def _second_commit(workspace: Path) -> None:
    (workspace / "two.txt").write_text("two\n")
    git(workspace, "add", "two.txt")
    git(workspace, "commit", "-q", "-m", "two")


def _continue(workspace: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "GIT_EDITOR": "true", "GIT_SEQUENCE_EDITOR": "true"}
    return subprocess.run(
        ["git", "rebase", "--continue"],
        cwd=workspace,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("todo", ["git-rebase-todo", "git-rebase-todo.backup", "done"])
async def test_an_exec_line_left_in_a_stopped_rebase_never_runs_outside(
    run: Runner, outside: Path, todo: str
) -> None:
    _second_commit(run.workspace)
    marker = outside / "marker"
    result = await run(
        f"{STOP_AT_EDIT} && printf 'exec touch {marker}\\n  x touch {marker}\\n' "
        f">> .git/rebase-merge/{todo}"
    )
    assert result.exit_code == 0, result.output
    assert result.guard is not None
    undone = "\n".join(result.guard.lines)
    assert f".git/rebase-merge/{todo}" in undone and "2 lines" in undone, undone
    assert b"touch" not in (run.workspace / ".git/rebase-merge" / todo).read_bytes()
    done = _continue(run.workspace)
    assert done.returncode == 0, done.stderr  # the rebase itself still continues
    assert not marker.exists()
    assert git(run.workspace, "log", "--format=%s").split() == ["two", "init"]


async def test_without_the_guard_the_exec_line_runs_on_continue(run: Runner, outside: Path) -> None:
    # The control: fullAccess runs no guard, and the user's continue runs the planted line.
    _second_commit(run.workspace)
    marker = outside / "marker"
    result = await run(
        f"{STOP_AT_EDIT} && echo 'exec touch {marker}' >> .git/rebase-merge/git-rebase-todo",
        kind="fullAccess",
    )
    assert result.exit_code == 0, result.output
    assert _continue(run.workspace).returncode == 0
    assert marker.exists()


async def test_a_rebase_stopped_for_an_edit_continues_outside(run: Runner) -> None:
    _second_commit(run.workspace)
    result = await run(f"{STOP_AT_EDIT} && echo amended > two.txt && git add two.txt")
    assert result.exit_code == 0, result.output
    assert result.guard is not None
    assert not result.guard.lines, result.guard.lines
    done = _continue(run.workspace)
    assert done.returncode == 0, done.stderr
    assert (run.workspace / "two.txt").read_text() == "amended\n"
    assert not (run.workspace / ".git/rebase-merge").exists()


async def test_a_rebase_finished_inside_with_exec_leaves_nothing_to_undo(run: Runner) -> None:
    # An exec the command itself ran went through the sandbox: only what is left matters.
    _second_commit(run.workspace)
    result = await run("git rebase -q --exec 'touch ran-inside' HEAD~1")
    assert result.exit_code == 0, result.output
    assert result.guard is not None
    assert not result.guard.lines, result.guard.lines
    assert (run.workspace / "ran-inside").exists()


async def test_a_foreign_merge_strategy_is_removed(run: Runner) -> None:
    # git runs `git-merge-<name>` for a strategy that is not its own.
    _second_commit(run.workspace)
    result = await run(
        f"{STOP_AT_EDIT} && echo evil > .git/rebase-merge/strategy && mkdir -p .git/sequencer "
        "&& printf '[options]\\n\\tstrategy = evil\\n\\tsignoff = true\\n' > .git/sequencer/opts"
    )
    assert result.exit_code == 0, result.output
    assert result.guard is not None
    undone = "\n".join(result.guard.lines)
    assert "'evil' in .git/rebase-merge/strategy" in undone, undone
    assert "'evil' in .git/sequencer/opts" in undone, undone
    assert not (run.workspace / ".git/rebase-merge/strategy").exists()
    opts = git(run.workspace, "config", "--file", ".git/sequencer/opts", "--list")
    assert opts.split() == ["options.signoff=true"]
    assert _continue(run.workspace).returncode == 0


async def test_a_builtin_strategy_is_kept(run: Runner) -> None:
    _second_commit(run.workspace)
    result = await run(f"{STOP_AT_EDIT} && echo ort > .git/rebase-merge/strategy")
    assert result.exit_code == 0, result.output
    assert result.guard is not None
    assert not result.guard.lines, result.guard.lines
    assert (run.workspace / ".git/rebase-merge/strategy").read_text() == "ort\n"


async def test_nested_repositories_are_sanitized_too(run: Runner, outside: Path) -> None:
    nested = run.workspace / "sub"
    nested.mkdir()
    git(nested, "init", "-q", "-b", "main")
    for name in ("a", "b"):
        (nested / name).write_text(name)
        git(nested, "add", name)
        git(nested, "-c", "user.name=T", "-c", "user.email=t@e", "commit", "-q", "-m", name)
    marker = outside / "marker"
    result = await run(
        f"cd sub && {STOP_AT_EDIT} "
        f"&& echo 'exec touch {marker}' >> .git/rebase-merge/git-rebase-todo"
    )
    assert result.exit_code == 0, result.output
    assert result.guard is not None
    assert any("sub/.git/rebase-merge/git-rebase-todo" in line for line in result.guard.lines)
    assert _continue(nested).returncode == 0
    assert not marker.exists()


async def test_a_new_repository_keeps_no_exec_line_either(run: Runner, outside: Path) -> None:
    # `git init` of a root without .git: its rebase state comes through the allowlist too.
    shutil.rmtree(run.workspace / ".git")
    marker = outside / "marker"
    ident = "-c user.name=T -c user.email=t@e"
    result = await run(
        f"git init -q -b main && git add hello.txt && git {ident} commit -q -m init "
        f"&& echo two > two.txt && git add two.txt && git {ident} commit -q -m two "
        f"&& {STOP_AT_EDIT} && echo 'exec touch {marker}' >> .git/rebase-merge/git-rebase-todo"
    )
    assert result.exit_code == 0, result.output
    assert result.guard is not None
    assert any(".git/rebase-merge/git-rebase-todo" in line for line in result.guard.lines)
    assert _continue(run.workspace).returncode == 0
    assert not marker.exists()


async def test_an_exec_line_in_a_stopped_cherry_pick_is_removed(run: Runner) -> None:
    _second_commit(run.workspace)
    result = await run(
        "git checkout -q -b side HEAD~1 && echo side > two.txt && git add two.txt "
        "&& git -c user.name=T -c user.email=t@e commit -q -m side "
        "&& { git cherry-pick main main~0 >/dev/null 2>&1; test -d .git/sequencer; } "
        "&& echo 'exec touch planted' >> .git/sequencer/todo"
    )
    assert result.exit_code == 0, result.output
    assert result.guard is not None
    assert any(".git/sequencer/todo" in line for line in result.guard.lines), result.guard.lines
    assert b"exec" not in (run.workspace / ".git/sequencer/todo").read_bytes()
