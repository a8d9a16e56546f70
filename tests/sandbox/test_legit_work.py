"""Legitimate work still succeeds in the workspace-write sandbox (agent mode)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from tests.sandbox.conftest import PY, SECRET_TEXT, VENV_HIDDEN, Runner, git


@pytest.mark.skipif(
    VENV_HIDDEN,
    reason="this clone's venv (and its pytest) lives under /tmp, "
    "which the sandbox replaces with a private /tmp; run from a clone elsewhere",
)
async def test_pytest_runs_on_a_small_project(run: Runner) -> None:
    (run.workspace / "calc.py").write_text("def add(a, b):\n    return a + b\n")
    (run.workspace / "test_calc.py").write_text(
        "from calc import add\n\ndef test_add():\n    assert add(2, 3) == 5\n"
    )
    result = await run(f"{sys.executable} -m pytest -q -p no:cacheprovider test_calc.py")
    assert result.exit_code == 0, result.output
    assert "1 passed" in result.output


async def test_git_add_and_commit_work_while_hooks_and_config_stay_protected(run: Runner) -> None:
    result = await run(
        "echo more >> hello.txt && echo new > new.txt && git add -A && git commit -q -m work "
        "&& git log --oneline | wc -l"
    )
    assert result.exit_code == 0, result.output
    assert result.output.strip().endswith("2")
    assert git(run.workspace, "status", "--porcelain") == ""
    assert not (run.workspace / ".vscode").exists()


async def test_npm_version(run: Runner) -> None:
    result = await run("npm --version")
    assert result.exit_code == 0, result.output
    assert result.output.strip()[0].isdigit()


@pytest.mark.parametrize("kind", ["workspaceWrite", "readOnly"])
async def test_private_tmp_is_writable_and_removed_afterwards(run: Runner, kind: str) -> None:
    result = await run(
        'echo data > "$TMPDIR/f" && cat "$TMPDIR/f" && mkdir "$TMPDIR/d" && echo "$TMPDIR"', kind
    )
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "data"
    tmpdir = Path(lines[1])
    if run.launcher == "bwrap":
        assert tmpdir == Path("/tmp")
        assert (await run("echo x > /tmp/plain && cat /tmp/plain", kind)).output == "x\n"
    else:
        assert not tmpdir.exists()


async def test_workspace_files_are_written(run: Runner) -> None:
    result = await run("mkdir -p src/pkg && echo 'x = 1' > src/pkg/mod.py && cat src/pkg/mod.py")
    assert result.exit_code == 0, result.output
    assert (run.workspace / "src/pkg/mod.py").read_text() == "x = 1\n"


async def test_top_level_entries_are_created_changed_and_deleted(run: Runner) -> None:
    result = await run(
        "echo hi > f.txt && mkdir build && touch build/o && echo more >> hello.txt "
        "&& mv f.txt g.txt && rm -rf build && mkdir keep && rm hello.txt && ls"
    )
    assert result.exit_code == 0, result.output
    assert result.output.split() == ["g.txt", "keep"]
    assert result.guard is not None and result.guard.lines == []


async def test_git_init_of_the_workspace_itself(run: Runner) -> None:
    shutil.rmtree(run.workspace / ".git")
    result = await run(
        "git init -q . && git config user.email t@e && git config user.name T "
        "&& git remote add origin https://x.test/r && git add -A && git commit -qm one "
        "&& git log --oneline | wc -l"
    )
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "1"
    # Still a working repository outside the sandbox, with what `git init` and the command set
    # that runs nothing; git's sample hooks are not kept, and nothing else needed a report.
    assert git(run.workspace, "log", "--format=%s") == "one\n"
    assert git(run.workspace, "status", "--porcelain") == ""
    assert git(run.workspace, "config", "remote.origin.url") == "https://x.test/r\n"
    assert git(run.workspace, "config", "user.email") == "t@e\n"
    assert git(run.workspace, "config", "user.name") == "T\n"  # so the next commit works
    assert not (run.workspace / ".git" / "hooks").exists()
    assert result.guard is not None and result.guard.lines == []
    later = await run("echo more >> hello.txt && git commit -qam two && git log --format=%s")
    assert later.output.split() == ["two", "one"], later.output


@pytest.mark.skipif(shutil.which("make") is None, reason="no make here")
async def test_make_builds_and_cleans(run: Runner) -> None:
    (run.workspace / "Makefile").write_text(
        "out/app.txt:\n\tmkdir -p out && echo built > $@\n\nclean:\n\trm -rf out\n"
    )
    result = await run("make -s && cat out/app.txt && make -s clean && ls")
    assert result.exit_code == 0, result.output
    assert result.output.split() == ["built", "Makefile", "hello.txt"]


@pytest.mark.skipif(shutil.which("npm") is None, reason="no npm here")
async def test_npm_init_writes_package_json(run: Runner) -> None:
    result = await run(
        "npm init -y >/dev/null && node -e \"console.log(require('./package.json').name)\""
    )
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "ws"


async def test_a_venv_is_made_and_runs_pytest(run: Runner) -> None:
    # The workspace's own virtual environment, from the system's stdlib (no network needed);
    # pytest comes from the interpreter running this suite, through PYTHONPATH.
    (run.workspace / "test_one.py").write_text("def test_one():\n    assert 1 + 1 == 2\n")
    pytest_dir = str(Path(pytest.__file__).resolve().parents[1])
    result = await run(
        f"{PY} -m venv --without-pip .venv && PYTHONPATH={pytest_dir} .venv/bin/python -m pytest "
        "-q -p no:cacheprovider test_one.py"
    )
    assert result.exit_code == 0, result.output
    assert "1 passed" in result.output
    assert (run.workspace / ".venv" / "pyvenv.cfg").is_file()


async def test_processes_talk_over_socketpairs_and_pipes(run: Runner) -> None:
    script = (
        "import socket, subprocess; a, b = socket.socketpair(); a.send(b'ok'); "
        "print(b.recv(2).decode(), subprocess.run(['echo', 'piped'], capture_output=True, "
        "text=True).stdout.strip())"
    )
    result = await run(f'{PY} -c "{script}"')
    assert result.output == "ok piped\n", result.output


async def test_a_server_on_the_sandbox_loopback_works_under_bwrap(run: Runner) -> None:
    script = (
        "import socket; s = socket.create_server(('127.0.0.1', 0)); "
        "c = socket.create_connection(s.getsockname()); a, _ = s.accept(); "
        "c.send(b'hi'); print(a.recv(2).decode())"
    )
    result = await run(f'{PY} -c "{script}"')
    if run.launcher == "landlock":
        # No network namespace: Landlock's sandbox can create no IP socket at all.
        assert result.exit_code != 0 and "Permission denied" in result.output
    else:
        assert result.output == "hi\n", result.output


async def test_a_process_pool_works_under_bwrap(run: Runner) -> None:
    script = (
        "from concurrent.futures import ProcessPoolExecutor as P; "
        "print(sum(P(2).map(abs, [-1, -2, -3])))"
    )
    result = await run(f'{PY} -c "{script}"')
    if run.launcher == "landlock":
        # Its semaphores live in the host's shared /dev/shm, which Landlock keeps read-only.
        assert result.exit_code != 0
    else:
        assert result.output == "6\n", result.output


async def test_a_workspace_that_is_home(run: Runner, fake_home: Path) -> None:
    # The user opened ~ itself: its secrets lie inside the root. bwrap covers them and the rest
    # works as anywhere. Landlock can only grant whole trees, and any grant on ~ itself would
    # reach into ~/.ssh, so commands there change what exists and work in subdirectories but
    # cannot add entries at the top (`tether sandbox --check` says so); the secrets stay hidden.
    (fake_home / "notes.txt").write_text("old\n")
    (fake_home / "proj").mkdir()
    home = Runner(run.launcher, fake_home, run.env)
    work = await home(
        "echo new > notes.txt && mkdir -p proj/src && echo x > proj/src/a.py && cat proj/src/a.py"
    )
    assert (work.exit_code, work.output) == (0, "x\n"), work.output
    assert (fake_home / "notes.txt").read_text() == "new\n"
    top = await home("echo hi > top.txt && mkdir build && ls -a")
    secret = await home("cat .ssh/key; ls .ssh")
    assert SECRET_TEXT not in secret.output and "key" not in secret.output.split()
    if run.launcher == "bwrap":
        assert top.exit_code == 0 and {"top.txt", "build", "notes.txt"} <= set(top.output.split())
    else:
        assert top.exit_code != 0 and "Permission denied" in top.output
        assert top.denial is not None and top.denial.kind == "write"
        assert not (fake_home / "top.txt").exists()
