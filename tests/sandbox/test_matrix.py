"""The sandbox matrix: the sandbox suite and the end-to-end mode tests in every cell of {bwrap,
landlock} x {root, a normal user}, plus bwrap present but refused user namespaces.

Each cell is its own pytest run over the tests marked `sandbox_matrix` (tests/conftest.py), with
the launcher forced by TETHER_SANDBOX_LAUNCHER, as the server and the sandbox fixtures read it.
The cell bwrap x root is this run itself (as root, the launcher fixture covers every launcher),
and Landlock x root runs the sandbox suite here too, so that cell only adds the e2e tests.

Running as a normal user: the set-up creates the user `tether-matrix` (useradd) and, since the
repository and its venv may sit where that user cannot read (CI clones under /root, mode 700;
pyenv interpreters live there too), a world-readable copy in /var/tmp: the code (sandbox, server,
protocol, tests) and a venv made from an interpreter the user can run (the system's python3.X of
the same version when the current one is out of reach), holding a hard-linked copy of this
venv's packages and a .pth naming the code. It is removed at the end.
"""

from __future__ import annotations

import os
import platform
import shutil
import stat
import subprocess
import sys
import sysconfig
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import CELL_ENV, CELLS, SandboxCell

REPO = Path(__file__).resolve().parents[2]
USER = "tether-matrix"
CODE = ("sandbox", "server", "protocol", "tether_sdk", "tests", "pyproject.toml")
SANDBOX_MODULES = (
    "tests/sandbox/test_escapes.py",
    "tests/sandbox/test_legit_work.py",
    "tests/sandbox/test_guard.py",
    "tests/sandbox/test_landlock.py",
    "tests/sandbox/test_run.py",  # only its tests marked sandbox_matrix
)
E2E_MODULES = (
    "tests/e2e/test_matrix_launcher.py",
    "tests/e2e/test_modes.py",
    "tests/e2e/test_task.py",
    "tests/e2e/test_hooks.py",  # only its tests marked sandbox_matrix
    "tests/review/test_review_start.py",  # only its tests marked sandbox_matrix
    "tests/acp/test_acp.py",  # only its tests marked sandbox_matrix
    "tests/e2e/test_subagents.py",  # only its tests marked sandbox_matrix
    "tests/e2e/test_mcp_sandbox.py",
)
CELL_TIMEOUT_S = 900

pytestmark = pytest.mark.skipif(
    os.environ.get(CELL_ENV) is not None or sys.platform != "linux",
    reason="inside a matrix cell already, or not Linux",
)


@dataclass(frozen=True)
class Tree:
    """Where a cell runs from: its interpreter, the code it imports, and as whom."""

    python: str
    code: Path
    user: str | None


def _reachable_by_others(path: Path) -> bool:
    """Whether a user other than the owner can reach and read `path` (every parent searchable)."""
    try:
        for parent in path.resolve().parents:
            if not os.stat(parent).st_mode & stat.S_IXOTH:
                return False
        return bool(os.stat(path).st_mode & stat.S_IROTH)
    except OSError:
        return False


def _interpreter_for_others() -> str:
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    base = Path(sys._base_executable).resolve()  # type: ignore[attr-defined]
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    if _reachable_by_others(base) and _reachable_by_others(stdlib / "os.py"):
        return str(base)
    for candidate in (f"/usr/bin/{version}", f"/usr/local/bin/{version}"):
        if os.access(candidate, os.X_OK) and _reachable_by_others(Path(candidate)):
            return candidate
    pytest.skip(f"no {version} a normal user can run (the current one is {base})")


def _link_or_copy(source: str, target: str) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def _world_readable_tree(base: Path) -> Tree:
    code = base / "src"
    code.mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__", ".pytest_cache", "*.pyc")
    for name in CODE:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, code / name, ignore=ignore)
        else:
            shutil.copy2(source, code / name)
    venv = base / "venv"
    subprocess.run(
        [_interpreter_for_others(), "-m", "venv", "--without-pip", str(venv)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    packages = next((venv / "lib").glob("python*/site-packages"))
    source_packages = Path(sysconfig.get_paths()["purelib"])
    shutil.copytree(
        source_packages,
        packages,
        dirs_exist_ok=True,
        copy_function=_link_or_copy,
        ignore=shutil.ignore_patterns("__editable__*", "tether-*.dist-info", "__pycache__"),
    )
    # A .pth rather than PYTHONPATH: commands inherit the environment, and the repository's
    # `tests` package on PYTHONPATH would shadow a workspace's own `tests` directory.
    (packages / "tether-matrix.pth").write_text(f"{code}\n")
    for path in [base, *base.rglob("*")]:
        if not path.is_symlink():
            path.chmod(path.stat().st_mode | stat.S_IROTH | (stat.S_IXOTH if path.is_dir() else 0))
    return Tree(str(venv / "bin" / "python"), code, USER)


def _ensure_user() -> None:
    if subprocess.run(["id", USER], capture_output=True).returncode == 0:
        return
    if shutil.which("useradd") is None:
        pytest.skip("no useradd here to create the normal user")
    subprocess.run(["useradd", "-m", "-s", "/bin/bash", USER], check=True, capture_output=True)


@pytest.fixture(scope="module")
def user_tree() -> Iterator[Tree]:
    if os.geteuid() != 0:
        pytest.skip("creating the normal user needs root")
    if shutil.which("runuser") is None:
        pytest.skip("no runuser here")
    _ensure_user()
    base = Path("/var/tmp") / f"tether-matrix-{uuid.uuid4().hex[:10]}"
    base.mkdir(mode=0o755)
    try:
        yield _world_readable_tree(base)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _deny_user_namespaces() -> str:
    """Python source that installs a seccomp filter refusing new namespaces, as Ubuntu's
    AppArmor restriction and container profiles do for bwrap, then execs argv[1:]."""
    numbers = {"x86_64": (56, 272, 435), "aarch64": (220, 97, 435)}[platform.machine()]
    return f"clone, unshare, clone3 = {numbers!r}\n" + (
        "import errno, os, sys\n"
        "from sandbox import seccomp\n"
        "deny = (0x06, 0, 0, 0x00050000 | errno.EPERM)\n"
        "rows = [(0x20, 0, 0, 0), (0x15, 0, 1, clone3), (0x06, 0, 0, 0x00050000 | errno.ENOSYS),\n"
        "        (0x15, 0, 1, unshare), deny, (0x15, 0, 3, clone), (0x20, 0, 0, 16),\n"
        "        (0x45, 0, 1, 0x10000000), deny, (0x06, 0, 0, 0x7FFF0000)]\n"
        "seccomp.install(rows)\n"
        "os.execv(sys.argv[1], sys.argv[1:])\n"
    )


def _pytest_argv(tree: Tree, cell: SandboxCell) -> list[str]:
    modules = [*E2E_MODULES] if cell.as_root else [*SANDBOX_MODULES, *E2E_MODULES]
    argv = [tree.python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "sandbox_matrix"]
    argv += ["-x", "--timeout", "300", *modules]
    if cell.userns_blocked:
        argv = [tree.python, "-c", _deny_user_namespaces(), *argv]
    return argv


def _cell_env(tree: Tree, cell: SandboxCell, home: Path) -> dict[str, str]:
    keep = ("PATH", "LANG", "LC_ALL", "TERM")
    env = {k: v for k, v in os.environ.items() if k in keep}
    env |= {"HOME": str(home), CELL_ENV: cell.name}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    if cell.launcher != "auto":
        env["TETHER_SANDBOX_LAUNCHER"] = cell.launcher
    if tree.user is not None:
        env["USER"] = env["LOGNAME"] = tree.user
    return env


def _run_cell(tree: Tree, cell: SandboxCell, home: Path) -> subprocess.CompletedProcess[str]:
    argv = _pytest_argv(tree, cell)
    if tree.user is not None:
        env_args = [f"{k}={v}" for k, v in _cell_env(tree, cell, home).items()]
        argv = ["runuser", "-u", tree.user, "--", "env", "-i", *env_args, *argv]
        env = None
    else:
        env = _cell_env(tree, cell, home)
    return subprocess.run(
        argv, cwd=tree.code, env=env, capture_output=True, text=True, timeout=CELL_TIMEOUT_S
    )


def _bwrap_works_as(user: str) -> bool:
    probe = ["bwrap", "--ro-bind", "/", "/", "--unshare-user", "--unshare-net", "true"]
    done = subprocess.run(["runuser", "-u", user, "--", *probe], capture_output=True)
    return done.returncode == 0


def _check(done: subprocess.CompletedProcess[str], cell: SandboxCell) -> None:
    tail = "\n".join((done.stdout + done.stderr).splitlines()[-40:])
    print(f"\n[{cell.name}] {tail.splitlines()[-1] if tail else '(no output)'}")
    assert done.returncode == 0, f"cell {cell.name} failed:\n{tail}"
    assert " passed" in done.stdout, tail


@pytest.mark.timeout(CELL_TIMEOUT_S + 60)
@pytest.mark.parametrize("name", ["bwrap-user", "landlock-user"])
def test_cell_as_a_normal_user(name: str, user_tree: Tree) -> None:
    cell = CELLS[name]
    if cell.launcher == "bwrap" and not _bwrap_works_as(USER):
        pytest.skip("bwrap cannot make user namespaces for a normal user here")
    home = Path(f"~{USER}").expanduser()
    _check(_run_cell(user_tree, cell, home), cell)


@pytest.mark.timeout(CELL_TIMEOUT_S + 60)
@pytest.mark.parametrize("name", ["landlock-root", "no-userns-root"])
def test_cell_as_root(name: str, tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("the root cells need root")
    cell = CELLS[name]
    tree = Tree(sys.executable, REPO, None)
    home = tmp_path / "home"
    home.mkdir()
    _check(_run_cell(tree, cell, home), cell)
