"""Issue 12's ways out, end to end: the real server, a scripted model, agent mode, no approvals
given (every approval request is declined and counted).

Each route has a control that runs the same steps where they must work (fullAccess, or without
the symlink swap), so a test that stops detecting the route fails there first. The launcher is
each one that works here (or the one TETHER_SANDBOX_LAUNCHER forces), passed to the server.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import venv
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from sandbox.launchers import available_launchers
from tests.e2e.harness import ROOT, Tether, start_tether, stop_tether
from tests.edits.swapper import swapping
from tests.model_server import ModelServer, Reply, ToolCall

pytestmark = pytest.mark.sandbox_matrix

FORCED = os.environ.get("TETHER_SANDBOX_LAUNCHER", "auto")
LAUNCHERS = [FORCED] if FORCED != "auto" else available_launchers()


@pytest.fixture(params=LAUNCHERS or [pytest.param("none", marks=pytest.mark.skip("no sandbox"))])
def launcher(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def git(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """git as the user (and the editor) runs it: unsandboxed."""
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=30)


@pytest.fixture
def repo(tmp_path: Path) -> Iterator[Path]:
    """A repository with one commit, under /var/tmp (the sandbox's /tmp is private)."""
    root = Path("/var/tmp") / f"tether-e2e-{os.getpid()}-{tmp_path.name}"
    root.mkdir()
    (root / "README.md").write_text("# demo\n")
    for args in (
        ("init", "-q", "-b", "main"),
        ("config", "user.email", "t@example.com"),
        ("config", "user.name", "T"),
        ("add", "README.md"),
        ("commit", "-q", "-m", "init"),
    ):
        assert git(root, *args).returncode == 0
    yield root
    for leftover in (root, Path(f"{root}-home"), Path(f"{root}-outside")):
        subprocess.run(["rm", "-rf", str(leftover)], check=False)


class Session:
    """One server in one mode; `turn` scripts tool calls, one model reply each."""

    def __init__(self, tether: Tether, model: ModelServer, thread_id: str) -> None:
        self.tether = tether
        self.model = model
        self.thread_id = thread_id
        self.calls = 0

    async def turn(self, *calls: ToolCall) -> dict[str, Any]:
        replies = []
        for call in calls:
            self.calls += 1
            replies.append(
                Reply(tool_calls=[ToolCall(call.name, call.arguments, call_id=f"c{self.calls}")])
            )
        self.model.enqueue(*replies, Reply(text="done"))
        return await self.tether.run_turn(self.thread_id, "go", timeout=60)

    @property
    def approvals(self) -> int:
        return len(self.tether.approvals)


@contextlib.asynccontextmanager
async def session(
    model_server: ModelServer,
    tmp_path: Path,
    cwd: Path,
    mode: str,
    launcher: str,
    *,
    env: dict[str, str] | None = None,
    python: str = sys.executable,
) -> AsyncIterator[Session]:
    home = tmp_path / f"tether-home-{mode}"
    home.mkdir(exist_ok=True)
    extra = {"TETHER_SANDBOX_LAUNCHER": launcher, **(env or {})}
    tether = await start_tether({**model_server.env(), **extra}, home, python=python)
    try:
        thread = await tether.start_thread(cwd, mode=mode)
        yield Session(tether, model_server, thread["id"])
    finally:
        await stop_tether(tether)


def shell(command: str) -> ToolCall:
    return ToolCall("shell", {"command": command})


def write(path: str, text: str, old: str = "") -> ToolCall:
    return ToolCall("edit_file", {"path": path, "old_string": old, "new_string": text})


MODES = ["agent", "fullAccess"]
COPY_REPOSITORY = shell("mkdir -p sub/evil && cp -r .git/objects .git/refs .git/HEAD sub/evil/")
FSMONITOR = '[core]\n\tfsmonitor = "touch PWNED; echo"\n'


# 1. .git/commondir, nested repositories, the deny list --------------------------------------


GIT_INIT_AND_PLANT = (
    "git init -q . && git add -A && git -c user.name=T -c user.email=t@e commit -qm one "
    "&& printf '#!/bin/sh\\ntouch PWNED\\n' > .git/hooks/pre-commit && chmod +x "
    ".git/hooks/pre-commit && git config core.fsmonitor 'touch PWNED; echo'"
)


@pytest.mark.parametrize("mode", MODES)
async def test_git_init_of_the_workspace_plants_nothing_that_runs(
    model_server: ModelServer, tmp_path: Path, repo: Path, launcher: str, mode: str
) -> None:
    # `git init .` in a workspace without a repository works with no approval; the hook and the
    # fsmonitor it plants do not survive to run in the user's git (fullAccess: the control).
    subprocess.run(["rm", "-rf", str(repo / ".git")], check=True)
    async with session(model_server, tmp_path, repo, mode, launcher) as s:
        turn = await s.turn(shell(GIT_INIT_AND_PLANT))
        asked = s.approvals
    (command,) = s.tether.items(turn, "commandExecution")
    assert command["exitCode"] == 0, command.get("aggregatedOutput")
    assert asked == 0
    git(repo, "status")
    git(
        repo,
        "-c",
        "user.name=U",
        "-c",
        "user.email=u@e",
        "commit",
        "-q",
        "--allow-empty",
        "-m",
        "x",
    )
    assert (repo / "PWNED").exists() == (mode == "fullAccess")
    assert git(repo, "log", "--format=%s").stdout.split() == ["x", "one"]


@pytest.mark.parametrize("mode", MODES)
async def test_commondir_through_the_shell(
    model_server: ModelServer, tmp_path: Path, repo: Path, launcher: str, mode: str
) -> None:
    async with session(model_server, tmp_path, repo, mode, launcher) as s:
        await s.turn(
            COPY_REPOSITORY,
            shell("git config -f sub/evil/config core.fsmonitor 'touch PWNED; echo'"),
            shell("echo ../sub/evil > .git/commondir"),
        )
    git(repo, "status")
    assert (repo / "PWNED").exists() == (mode == "fullAccess")
    assert (repo / ".git" / "commondir").exists() == (mode == "fullAccess")


@pytest.mark.parametrize("mode", MODES)
async def test_commondir_through_edit_file(
    model_server: ModelServer, tmp_path: Path, repo: Path, launcher: str, mode: str
) -> None:
    async with session(model_server, tmp_path, repo, mode, launcher) as s:
        await s.turn(
            COPY_REPOSITORY,
            write("sub/evil/config", FSMONITOR),
            write(".git/commondir", "../sub/evil\n"),
        )
        asked = s.approvals
    git(repo, "status")
    assert (repo / "PWNED").exists() == (mode == "fullAccess")
    assert asked == (1 if mode == "agent" else 0)


@pytest.mark.parametrize("mode", MODES)
async def test_nested_repository_with_fsmonitor(
    model_server: ModelServer, tmp_path: Path, repo: Path, launcher: str, mode: str
) -> None:
    async with session(model_server, tmp_path, repo, mode, launcher) as s:
        await s.turn(
            shell("mkdir -p sub/x && git -C sub/x init -q"),
            shell("git config -f sub/x/.git/config core.fsmonitor 'touch ../../PWNED; echo'"),
            write("sub/y/.git/config", FSMONITOR.replace("PWNED", "../../PWNED")),
            write("sub/y/.git/HEAD", "ref: refs/heads/main\n"),
        )
        asked = s.approvals
    for nested in ("sub/x", "sub/y"):
        if (repo / nested).is_dir():
            git(repo / nested, "status")
    assert (repo / "PWNED").exists() == (mode == "fullAccess")
    assert not (repo / "sub" / "y" / ".git").exists() or mode == "fullAccess"
    assert asked == (2 if mode == "agent" else 0)


DENY_LIST_FILES = {
    ".gitmodules": '[submodule "x"]\n\tpath = x\n\turl = ./x\n',
    ".devcontainer/devcontainer.json": '{"initializeCommand": "touch PWNED"}\n',
    ".vscode/tasks.json": '{"version": "2.0.0"}\n',
    ".envrc": "touch PWNED\n",
    ".mcp.json": "{}\n",
    ".claude/settings.json": "{}\n",
}


@pytest.mark.parametrize("mode", MODES)
async def test_deny_list_through_edits_and_the_shell(
    model_server: ModelServer, tmp_path: Path, repo: Path, launcher: str, mode: str
) -> None:
    async with session(model_server, tmp_path, repo, mode, launcher) as s:
        await s.turn(*(write(path, text) for path, text in DENY_LIST_FILES.items()))
        asked = s.approvals
        await s.turn(
            shell(
                "mkdir -p .devcontainer .codex && echo '{}' > .devcontainer/devcontainer.json; "
                "echo x > .gitmodules; echo x > .codex/config.toml"
            )
        )
    landed = sorted(p for p in [*DENY_LIST_FILES, ".codex/config.toml"] if (repo / p).is_file())
    if mode == "agent":
        assert asked == len(DENY_LIST_FILES) and landed == []
    else:
        assert asked == 0 and landed == sorted([*DENY_LIST_FILES, ".codex/config.toml"])


@pytest.mark.parametrize("mode", MODES)
async def test_workspace_that_is_home(
    model_server: ModelServer, tmp_path: Path, repo: Path, launcher: str, mode: str
) -> None:
    (repo / ".bashrc").write_text("# mine\n")
    async with session(model_server, tmp_path, repo, mode, launcher, env={"HOME": str(repo)}) as s:
        await s.turn(
            shell("echo 'touch ~/PWNED' >> .bashrc; echo 'touch ~/PWNED' > .profile"),
            write(".zshrc", "touch ~/PWNED\n"),
            write(".gitconfig", "[core]\n\tpager = touch PWNED\n"),
            shell("echo '--pre=./PWNED' > .ripgreprc"),
        )
        asked = s.approvals
    touched = [
        n
        for n in (".bashrc", ".profile", ".zshrc", ".gitconfig", ".ripgreprc")
        if (repo / n).is_file() and "PWNED" in (repo / n).read_text()
    ]
    if mode == "agent":
        assert touched == [] and asked == 2
        assert (repo / ".bashrc").read_text() == "# mine\n"
    else:
        assert len(touched) == 5 and asked == 0


# 2. Tether's own files inside a root ----------------------------------------------------------


@pytest.fixture
def repo_with_venv(repo: Path) -> Path:
    """The backend's virtual environment inside the workspace, as when `make run` opened the
    repository: its interpreter runs the server, its `bin/rg` serves the search tool."""
    target = repo / ".venv"
    venv.EnvBuilder(with_pip=False, symlinks=True).create(target)
    site = next((target / "lib").glob("python3*/site-packages"))
    outer = next(Path(sys.prefix, "lib").glob("python3*/site-packages"))
    (site / "tether-dev.pth").write_text(f"{ROOT}\n{outer}\n")
    real_rg = Path(sys.prefix, "bin", "rg")
    (target / "bin" / "rg").write_bytes(real_rg.read_bytes())
    (target / "bin" / "rg").chmod(0o755)
    (repo / ".gitignore").write_text(".venv/\n")
    return repo


@pytest.mark.parametrize("mode", MODES)
async def test_own_interpreter_inside_the_workspace(
    model_server: ModelServer,
    tmp_path: Path,
    repo_with_venv: Path,
    launcher: str,
    mode: str,
) -> None:
    """Under Landlock the guard cannot put back a 5 MB `rg`, so the search tool runs an `rg`
    that lies inside a root in the read-only sandbox: the replaced one cannot write PWNED."""
    repo = repo_with_venv
    python = str(repo / ".venv" / "bin" / "python")
    async with session(model_server, tmp_path, repo, mode, launcher, python=python) as s:
        await s.turn(
            shell("printf '#!/bin/sh\\ntouch PWNED\\n' > .venv/bin/rg"),
            write(".venv/bin/rg", "#!/bin/sh\ntouch PWNED\n", old=""),
            ToolCall("search", {"pattern": "demo"}),
        )
    assert (repo / "PWNED").exists() == (mode == "fullAccess")


async def test_search_with_an_rg_inside_the_workspace_still_finds(
    model_server: ModelServer, tmp_path: Path, repo_with_venv: Path, launcher: str
) -> None:
    """The confined `rg` (see above) is still a working search: the legitimate side."""
    repo = repo_with_venv
    python = str(repo / ".venv" / "bin" / "python")
    async with session(model_server, tmp_path, repo, "agent", launcher, python=python) as s:
        turn = await s.turn(ToolCall("search", {"pattern": "demo"}))
        (found,) = s.tether.items(turn, "toolCall")
    assert found["status"] == "completed", found
    assert "README.md" in found["output"] and "# demo" in found["output"]


# 3. Undo through a symlinked directory --------------------------------------------------------


@pytest.mark.parametrize("swap", [True, False])
async def test_undo_through_a_symlinked_directory(
    model_server: ModelServer, tmp_path: Path, repo: Path, launcher: str, swap: bool
) -> None:
    """The agent adds then deletes `sub/x/payload.sh`; a command swaps `sub/x` for a symlink to
    a fake HOME; undo must not write there. (Not `.bash_login`: that name is protected at any
    depth, so its edit would ask first and the control's undo would be refused in agent mode.)"""
    fake_home = Path(f"{repo}-home")
    fake_home.mkdir()
    async with session(model_server, tmp_path, repo, "agent", launcher) as s:
        await s.turn(write("sub/x/payload.sh", "touch ~/PWNED\n"))
        turn = await s.turn(
            ToolCall(
                "apply_patch",
                {"patch": "*** Begin Patch\n*** Delete File: sub/x/payload.sh\n*** End Patch"},
            )
        )
        (deleted,) = s.tether.items(turn, "fileChange")
        if swap:
            await s.turn(shell(f"rm -rf sub/x && ln -s {fake_home} sub/x"))
        undo = s.tether.request("change/revert", {"threadId": s.thread_id, "itemId": deleted["id"]})
        if swap:
            with pytest.raises(Exception) as refused:
                await undo
            assert getattr(refused.value, "code", None) == -32005, refused.value
            revert = await s.tether.request(
                "turn/revert", {"threadId": s.thread_id, "turnId": turn["id"], "force": True}
            )
            assert revert["restored"] == [] and revert["conflicts"]
        else:
            await undo
    assert list(fake_home.iterdir()) == []
    assert (repo / "sub" / "x" / "payload.sh").is_file() == (not swap)


# 4. The check-then-write race -----------------------------------------------------------------


async def test_edits_race_a_directory_swapped_for_a_symlink(
    model_server: ModelServer, tmp_path: Path, repo: Path, launcher: str
) -> None:
    outside = Path(f"{repo}-outside")
    outside.mkdir()
    (repo / "sub" / "d").mkdir(parents=True)
    with swapping(repo / "sub", outside):
        async with session(model_server, tmp_path, repo, "agent", launcher) as s:
            await s.turn(*(write(f"sub/d/f{i}", f"{i}\n") for i in range(40)))
    assert list(outside.iterdir()) == []


# 6. A protected name that is a symlink --------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
async def test_symlinked_vscode_needs_approval(
    model_server: ModelServer, tmp_path: Path, repo: Path, launcher: str, mode: str
) -> None:
    (repo / "tools" / "vscode").mkdir(parents=True)
    (repo / ".vscode").symlink_to("tools/vscode")
    async with session(model_server, tmp_path, repo, mode, launcher) as s:
        await s.turn(write(".vscode/settings.json", '{"x": 1}\n'))
        await s.turn(write("tools/vscode/tasks.json", '{"version": "2.0.0"}\n'))
        asked = s.approvals
    landed = sorted(p.name for p in (repo / "tools" / "vscode").iterdir())
    if mode == "agent":
        assert asked == 2 and landed == []
    else:
        assert asked == 0 and landed == ["settings.json", "tasks.json"]


# Legitimate git still works in agent mode -----------------------------------------------------

LEGIT_GIT = (
    "set -e; echo a > a.txt; git add a.txt; git commit -qm a; git checkout -qb topic; "
    "echo b > b.txt; git add b.txt; git commit -qm b; echo dirty >> a.txt; git stash -q; "
    "git stash pop -q; git checkout -q a.txt; git checkout -q main; git merge -q topic; "
    "GIT_SEQUENCE_EDITOR=true git rebase -qi HEAD~2; git branch -q other; git worktree list"
)


async def test_legitimate_git_in_agent_mode(
    model_server: ModelServer, tmp_path: Path, repo: Path, launcher: str
) -> None:
    async with session(model_server, tmp_path, repo, "agent", launcher) as s:
        turn = await s.turn(shell(LEGIT_GIT))
        asked = s.approvals
    (command,) = s.tether.items(turn, "commandExecution")
    assert command["exitCode"] == 0, command.get("aggregatedOutput")
    assert asked == 0
    assert git(repo, "log", "--format=%s").stdout.split() == ["b", "a", "init"]
    assert git(repo, "branch", "--list", "other").stdout.strip() == "other"
    assert git(repo, "status", "--porcelain").stdout == ""
