"""The podman executor as a normal user (rootless Podman): the executor and end-to-end tests
run again, as the user `tether-matrix`, from the sandbox matrix's world-readable copy of the
code and venv (tests/sandbox/test_matrix.py). The user's image is built in its own storage."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.containers.conftest import ROOTLESS_ENV, needs_podman
from tests.sandbox.test_matrix import USER, Tree, user_tree  # noqa: F401 (the fixture)

MODULES = ("tests/containers/test_podman_executor.py", "tests/containers/test_podman_e2e.py")


def test_the_podman_tests_pass_as_a_normal_user(user_tree: Tree, tmp_path: Path) -> None:  # noqa: F811
    needs_podman()
    home = Path(f"/home/{USER}")
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "TERM")}
    env |= {"HOME": str(home), "USER": USER, "LOGNAME": USER, ROOTLESS_ENV: "1"}
    env |= {"PYTHONDONTWRITEBYTECODE": "1", "TMPDIR": "/var/tmp"}
    argv = [user_tree.python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly"]
    argv += ["-x", "--timeout", "600", *MODULES]
    done = subprocess.run(
        ["runuser", "-u", USER, "--", "env", *(f"{k}={v}" for k, v in env.items()), *argv],
        cwd=user_tree.code,
        capture_output=True,
        text=True,
        timeout=1500,
    )
    tail = "\n".join(done.stdout.splitlines()[-30:])
    assert done.returncode == 0, f"{tail}\n{done.stderr[-3000:]}"
    assert " passed" in tail and "skipped" not in tail.splitlines()[-1]
