"""`tether exec --tasks FILE` refuses a task file it cannot use before starting any task: the
message names the file and what to do, and the exit status is 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli import run_tether


@pytest.mark.parametrize(
    ("content", "said"),
    [
        (None, "cannot read the task file"),
        (b"# only a comment\n\n", "holds no task (one prompt a line)"),
        (b"fix \xff\xfe the build\n", "is not UTF-8 text; write one prompt a line"),
    ],
)
def test_a_task_file_it_cannot_use_is_refused(
    tmp_path: Path, content: bytes | None, said: str
) -> None:
    tasks = tmp_path / "tasks.txt"
    if content is not None:
        tasks.write_bytes(content)
    done = run_tether("exec", ["--tasks", str(tasks)], {}, tmp_path, tmp_path / "home")
    assert done.returncode == 2
    assert str(tasks) in done.stderr and said in done.stderr
    assert "Traceback" not in done.stderr
