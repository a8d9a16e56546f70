"""Ignore rules shared by snapshots and the file watcher."""

from __future__ import annotations

import os
import time
from pathlib import Path

from server.edits.blobs import BlobStore
from server.edits.ignore import IgnoreRules
from server.edits.snapshot import take_snapshot


def make(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


FILES = {
    ".gitignore": "*.log\nbuild/\n/top-only.txt\n",
    "a.py": "",
    "x.log": "",
    "top-only.txt": "",
    "sub/top-only.txt": "",
    "build/out.o": "",
    "sub/build/out.o": "",
    "sub/.gitignore": "!keep.log\ngen\n",
    "sub/keep.log": "",
    "sub/other.log": "",
    "sub/gen/g.py": "",
    ".git/HEAD": "",
    "web/node_modules/x/i.js": "",
    "web/app.js": "",
    "web/.app.js.tether-123-abcd.tmp": "",
}


def test_rules_agree_with_what_a_snapshot_walks(tmp_path: Path) -> None:
    make(tmp_path, FILES)
    walked = set(take_snapshot(tmp_path, BlobStore(tmp_path.parent / "blobs")).entries)
    assert walked == {
        ".gitignore",
        "a.py",
        "sub/top-only.txt",
        "sub/.gitignore",
        "sub/keep.log",
        "web/app.js",
    }
    rules = IgnoreRules(tmp_path)
    for rel in FILES:
        assert rules.ignored(rel) == (rel not in walked), rel
        assert rules.ignored(tmp_path / rel) == (rel not in walked), rel


def test_directory_only_pattern_needs_to_know_it_is_a_directory(tmp_path: Path) -> None:
    make(tmp_path, {".gitignore": "cache/\n"})
    rules = IgnoreRules(tmp_path)
    assert rules.ignored("cache", is_dir=True)
    assert not rules.ignored("cache", is_dir=False)
    assert rules.ignored("cache/deleted-file.txt")  # its parent is a directory by definition


def test_outside_root_and_root_itself_are_not_ignored(tmp_path: Path) -> None:
    rules = IgnoreRules(tmp_path / "ws")
    assert not rules.ignored(tmp_path / "elsewhere" / "x.log")
    assert not rules.ignored(tmp_path / "ws")


def test_edited_gitignore_is_read_again_and_watch_filter_uses_it(tmp_path: Path) -> None:
    make(tmp_path, {".gitignore": "*.tmp\n"})
    keep = IgnoreRules(tmp_path).watch_filter()
    assert not keep(None, str(tmp_path / "a.tmp"))
    assert keep(None, str(tmp_path / "a.txt"))
    rules = IgnoreRules(tmp_path)
    assert rules.ignored("a.tmp")
    (tmp_path / ".gitignore").write_text("*.txt\n")
    later = time.time_ns() + 5_000_000_000
    os.utime(tmp_path / ".gitignore", ns=(later, later))
    assert not rules.ignored("a.tmp") and rules.ignored("a.txt")
