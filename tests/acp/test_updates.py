"""ACP diffs of a pending change, built from what is on disk: a path a command turned into a FIFO
or a symlink must neither hang the server nor show another file's text."""

from __future__ import annotations

import os
from pathlib import Path

from protocol.item import FileChange, FileChangeItem, Hunk
from server.acp.updates import diffs_from_disk


def pending_update(path: Path) -> FileChangeItem:
    hunk = Hunk(
        index=0,
        old_start=1,
        old_lines=1,
        new_start=1,
        new_lines=1,
        lines=["-old", "+new"],
        status="pending",
    )
    change = FileChange(path=str(path), kind="update", diff="", hunks=[hunk])
    return FileChangeItem(id="fc1", status="inProgress", changes=[change])


def test_the_whole_file_on_disk_makes_the_diff(tmp_path: Path) -> None:
    target = tmp_path / "a.txt"
    target.write_text("old\nkeep\n")
    (diff,) = diffs_from_disk(pending_update(target))
    assert (diff.old_text, diff.new_text) == ("old\nkeep\n", "new\nkeep\n")


def test_a_fifo_or_a_symlink_falls_back_to_the_hunks(tmp_path: Path) -> None:
    (tmp_path / "secret").write_text("old\nprivate key\n")
    os.mkfifo(tmp_path / "pipe")
    (tmp_path / "link").symlink_to(tmp_path / "secret")
    for name in ("pipe", "link"):
        (diff,) = diffs_from_disk(pending_update(tmp_path / name))
        assert (diff.old_text, diff.new_text) == ("old\n", "new\n"), name
