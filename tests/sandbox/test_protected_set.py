"""The protected set (`sandbox.policy`) held by commands, under every launcher that works here.

Each attack has a control: the same steps in fullAccess (no sandbox) do land, so a test that
stops detecting the attack fails there first. Legitimate git keeps working in the workspace-write
sandbox.
"""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import pytest

from sandbox.policy import Policy, PolicyKind, is_protected
from sandbox.protect import command_targets
from sandbox.run import run_command
from tests.sandbox.conftest import Runner, git

COMMONDIR_STEPS = (
    "mkdir -p sub/evil && cp -r .git/objects .git/refs .git/HEAD sub/evil/; "
    "printf '[core]\\n\\tfsmonitor = \"touch PWNED; echo\"\\n' > sub/evil/config; "
    "echo ../sub/evil > .git/commondir"
)


def host_git_status(root: Path) -> None:
    """What the user's editor does all the time: an unsandboxed `git status`."""
    subprocess.run(["git", "status"], cwd=root, capture_output=True, timeout=30, check=False)


async def test_commondir_route_is_closed(run: Runner) -> None:
    await run(COMMONDIR_STEPS)
    host_git_status(run.workspace)
    assert not (run.workspace / "PWNED").exists()
    assert not (run.workspace / ".git" / "commondir").exists()


async def test_commondir_route_control_in_full_access(run: Runner) -> None:
    await run(COMMONDIR_STEPS, "fullAccess")
    host_git_status(run.workspace)
    assert (run.workspace / "PWNED").exists()


NESTED_STEPS = (
    "printf '[core]\\n\\tfsmonitor = \"touch ../../PWNED; echo\"\\n' >> sub/x/.git/config; "
    "printf '#!/bin/sh\\ntouch ../../PWNED\\n' > sub/x/.git/hooks/pre-commit; "
    "chmod +x sub/x/.git/hooks/pre-commit"
)


@pytest.mark.parametrize("kind", ["workspaceWrite", "fullAccess"])
async def test_nested_repository_config_and_hooks(run: Runner, kind: str) -> None:
    nested = run.workspace / "sub" / "x"
    nested.mkdir(parents=True)
    git(nested, "init", "-q")
    await run(NESTED_STEPS, kind)
    host_git_status(nested)
    assert (run.workspace / "PWNED").exists() == (kind == "fullAccess")


@pytest.mark.parametrize("kind", ["workspaceWrite", "fullAccess"])
async def test_new_nested_repository_does_not_survive(run: Runner, kind: str) -> None:
    await run(
        "mkdir -p sub/y && git -C sub/y init -q && "
        "printf '[core]\\n\\tfsmonitor = \"touch ../../PWNED; echo\"\\n' >> sub/y/.git/config",
        kind,
    )
    host_git_status(run.workspace / "sub" / "y")
    assert (run.workspace / "PWNED").exists() == (kind == "fullAccess")


DENY_LIST_WRITES = (
    "echo evil > .gitmodules; mkdir -p .devcontainer; "
    'echo \'{"initializeCommand": "touch PWNED"}\' > .devcontainer/devcontainer.json; '
    "echo evil > .mcp.json; echo evil > .envrc; mkdir -p .claude .codex .vscode; "
    "echo evil > .claude/settings.json; echo evil > .codex/config.toml; "
    "echo evil > .vscode/tasks.json"
)
DENY_LIST_PATHS = (
    ".gitmodules",
    ".devcontainer/devcontainer.json",
    ".mcp.json",
    ".envrc",
    ".claude/settings.json",
    ".codex/config.toml",
    ".vscode/tasks.json",
)


@pytest.mark.parametrize("kind", ["workspaceWrite", "fullAccess"])
async def test_deny_list_cannot_be_created(run: Runner, kind: str) -> None:
    await run(DENY_LIST_WRITES, kind)
    landed = [p for p in DENY_LIST_PATHS if (run.workspace / p).is_file()]
    assert landed == ([] if kind == "workspaceWrite" else list(DENY_LIST_PATHS))


RC_WRITES = (
    "echo 'touch ~/PWNED' >> .bashrc; echo 'touch ~/PWNED' > .zshrc; "
    "echo 'touch ~/PWNED' > .profile; printf '[core]\\n\\tpager = touch PWNED\\n' > .gitconfig; "
    "echo '--pre=./PWNED' > .ripgreprc"
)
RC_FILES = (".bashrc", ".zshrc", ".profile", ".gitconfig", ".ripgreprc")


def _text(path: Path) -> str:
    return path.read_text() if path.is_file() else ""


@pytest.mark.parametrize("kind", ["workspaceWrite", "fullAccess"])
async def test_workspace_that_is_home_keeps_its_start_up_files(
    run: Runner, fake_home: Path, kind: str
) -> None:
    (fake_home / ".bashrc").write_text("# mine\n")
    home_run = Runner(run.launcher, fake_home, run.env)  # HOME is the fake home
    await home_run(RC_WRITES, kind)
    changed = [name for name in RC_FILES if "PWNED" in _text(fake_home / name)]
    assert changed == ([] if kind == "workspaceWrite" else list(RC_FILES))
    assert (fake_home / ".bashrc").read_text().startswith("# mine\n")


async def test_own_paths_inside_a_root_are_read_only(run: Runner) -> None:
    """A fake interpreter prefix inside the workspace (`make run` opening the repository)."""
    venv_bin = run.workspace / ".venv" / "bin"
    venv_bin.mkdir(parents=True)
    (venv_bin / "rg").write_text('#!/bin/sh\nexec /usr/bin/rg "$@"\n')
    cases: list[tuple[PolicyKind, bool]] = [("workspaceWrite", False), ("fullAccess", True)]
    for kind, expected in cases:
        await run_command(
            "printf '#!/bin/sh\\ntouch PWNED\\n' > .venv/bin/rg",
            cwd=run.workspace,
            policy=Policy(kind, roots=(run.workspace,), own_paths=(run.workspace / ".venv",)),
            env=run.env,
            timeout_s=20,
            output_cap_bytes=10_000,
            launcher=run.launcher,
        )
        assert ("PWNED" in (venv_bin / "rg").read_text()) == expected, kind


LEGIT_GIT = (
    "set -e; echo a > a.txt; git add a.txt; git commit -qm a; git checkout -qb topic; "
    "echo b > b.txt; git add b.txt; git commit -qm b; echo dirty >> a.txt; git stash -q; "
    "git stash pop -q; git checkout -q a.txt; git checkout -q main; git merge -q --no-edit topic; "
    "GIT_SEQUENCE_EDITOR=true git rebase -qi HEAD~2; git branch -q other; git worktree list; "
    "git revert --no-edit HEAD >/dev/null; git reset -q --hard HEAD~1; git gc -q"
)


async def test_legitimate_git_works(run: Runner) -> None:
    result = await run(LEGIT_GIT)
    assert result.exit_code == 0, result.output
    assert git(run.workspace, "branch", "--list", "topic", "other").split() == ["other", "topic"]
    assert git(run.workspace, "log", "--format=%s").split() == ["b", "a", "init"]
    assert git(run.workspace, "status", "--porcelain") == ""


async def test_host_git_works_while_a_command_runs(run: Runner) -> None:
    """The placeholders a command's sandbox puts in `.git` do not trouble git outside it."""
    task = asyncio.create_task(run("sleep 3"))
    for _ in range(200):
        if (run.workspace / ".git" / "commondir").exists() or task.done():
            break
        await asyncio.sleep(0.02)
    status = subprocess.run(
        ["git", "status", "--porcelain"], cwd=run.workspace, capture_output=True, text=True
    )
    await task
    assert status.returncode == 0 and status.stdout == "", status.stderr
    assert not (run.workspace / ".git" / "commondir").exists()


def test_targets_cover_nested_repositories_and_names(tmp_path: Path) -> None:
    (tmp_path / ".git" / "objects").mkdir(parents=True)
    (tmp_path / ".git" / "config").write_text("")
    (tmp_path / ".git" / "gitk.cache").write_text("")
    (tmp_path / "a" / "b" / ".git").mkdir(parents=True)
    (tmp_path / "docs" / ".vscode").mkdir(parents=True)
    policy = Policy("workspaceWrite", roots=(tmp_path,), own_paths=())
    paths = {t.path.relative_to(tmp_path).as_posix(): t for t in command_targets(tmp_path, policy)}
    assert paths[".git/config"].exists and paths["docs/.vscode"].exists
    assert paths[".git/gitk.cache"].exists  # not in the allowlist: read-only
    assert paths[".git/commondir"].placeholder == b".\n"
    assert paths["a/b/.git/hooks"].placeholder is None and not paths["a/b/.git/hooks"].exists
    assert ".git/objects" not in paths and ".git" not in paths


def test_nested_protected_symlinks_are_left_to_the_guard(tmp_path: Path) -> None:
    (tmp_path / "dotfiles").mkdir()
    (tmp_path / "dotfiles" / "bashrc").write_text("")
    (tmp_path / "dotfiles" / ".bashrc").symlink_to("bashrc")
    (tmp_path / ".vscode").symlink_to("dotfiles")
    policy = Policy("workspaceWrite", roots=(tmp_path,), own_paths=())
    targets = {t.path: t for t in command_targets(tmp_path, policy)}
    assert tmp_path / "dotfiles" / ".bashrc" not in targets
    assert targets[tmp_path / ".vscode"].is_symlink  # at the root: the launcher refuses


@pytest.mark.parametrize(
    ("relative", "entry"),
    [
        ("sub/x/.git", ".git"),
        ("sub/x/.git/config", ".git/config"),
        (".git/HEAD", ".git"),
        (".devcontainer/devcontainer.json", ".devcontainer"),
        ("a/.bashrc", ".bashrc"),
        (".config/git/config", ".config/git"),
        ("src/main.py", None),
        ("src/gitconfig.py", None),
    ],
)
def test_is_protected(tmp_path: Path, relative: str, entry: str | None) -> None:
    policy = Policy("workspaceWrite", roots=(tmp_path,), own_paths=())
    assert is_protected(tmp_path, relative, policy) == entry
