"""Attacks on turn revert's restore from git's index (`server.edits.git_backed`): a command
may write `.git/index` (`git add` is allowed), so an entry it forged (the stat of a file it
has not touched, the id of a blob of its choosing) must never restore its bytes over the
user's file in a later command's revert."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

from server.edits.checkpoints import CheckpointStore
from tests.edits.test_tracked import command, git_tree


def _git(root: Path, *args: str, data: bytes | None = None) -> str:
    done = subprocess.run(
        ["git", "-C", str(root), *args], input=data, capture_output=True, check=True
    )
    return done.stdout.decode().strip()


FORGE = """
import hashlib, sys
path, old, new = sys.argv[1], bytes.fromhex(sys.argv[2]), bytes.fromhex(sys.argv[3])
data = open(path, "rb").read()[:-20]
assert data.count(old) == 1
data = data.replace(old, new)
open(path, "wb").write(data + hashlib.sha1(data).digest())
"""


def test_an_index_entry_a_command_forged_restores_nothing(tmp_path: Path) -> None:
    root = git_tree(tmp_path / "ws")
    victim, control = "d1/e2/f70.txt", "d0/e0/f1.txt"
    real = _git(root, "rev-parse", f":{victim}")
    evil = _git(root, "hash-object", "-w", "--stdin", data=b"evil 70\n")  # same size
    # The forging command: the victim's entry keeps the file's stat but names the evil blob.
    forge = f"python3 -c '{FORGE}' .git/index {real} {evil}"
    store = CheckpointStore(tmp_path / "state")
    try:
        tracker = store._tracker(root)  # pyright: ignore[reportPrivateUsage]
        with tracker.lock:  # the background reading reaches no file meanwhile
            store.snapshot(root)
            # Control: before any command wrote the index, it vouches for an unread file.
            honest = command(store, root, f"echo more >> {control}")
            forged = command(store, root, forge)
            assert _git(root, "rev-parse", f":{victim}") == evil  # the forgery took
            later = command(store, root, f"echo more >> {victim}")
        turn = store.open("turn-1")
        turn.record_command(later)
        turn.revert()
    finally:
        store.close()
    assert forged.changes == []
    ((_rel, before, _after),) = honest.changes
    assert before is not None and before.digest is not None
    assert store.blobs.get(before.digest) == b"file 1\n"
    ((_rel, before, _after),) = later.changes
    assert before is not None and before.digest is None  # nothing to restore from
    assert later.note is not None and "had not been read yet" in later.note
    assert (root / victim).read_bytes() == b"file 70\nmore\n"  # never the command's bytes
    assert hashlib.sha1(b"blob 8\0evil 70\n").hexdigest() == evil


def test_a_restore_from_git_never_writes_through_a_link_a_later_command_left(
    tmp_path: Path,
) -> None:
    root = git_tree(tmp_path / "ws")
    outside = tmp_path / "outside"
    outside.mkdir()
    store = CheckpointStore(tmp_path / "state")
    try:
        tracker = store._tracker(root)  # pyright: ignore[reportPrivateUsage]
        with tracker.lock:
            store.snapshot(root)
            changed = command(store, root, "echo more >> d1/e2/f70.txt")
            linked = command(store, root, f"mv d1/e2 {outside}/e2 && ln -s {outside}/e2 d1/e2")
        turn = store.open("turn-1")
        turn.record_command(changed)
        turn.record_command(linked)
        turn.revert()
    finally:
        store.close()
    ((_rel, before, _after),) = changed.changes
    assert before is not None and before.digest is not None  # git's index vouched for it
    assert (outside / "e2" / "f70.txt").read_bytes() == b"file 70\nmore\n"  # not written
    assert not (root / "d1/e2").is_symlink()
    assert (root / "d1/e2/f70.txt").read_bytes() == b"file 70\n"  # restored in the root


def test_an_index_and_head_forged_between_commands_restore_nothing(tmp_path: Path) -> None:
    """Outside any command (a sandboxed MCP server writes `.git` whenever it likes): the
    victim's entry forged, then committed so HEAD holds the same blob."""
    root = git_tree(tmp_path / "ws")
    victim = "d1/e2/f70.txt"
    real = _git(root, "rev-parse", f":{victim}")
    evil = _git(root, "hash-object", "-w", "--stdin", data=b"evil 70\n")
    store = CheckpointStore(tmp_path / "state")
    try:
        tracker = store._tracker(root)  # pyright: ignore[reportPrivateUsage]
        with tracker.lock:
            store.snapshot(root)
            subprocess.run(
                [sys.executable, "-c", FORGE, ".git/index", real, evil], cwd=root, check=True
            )
            other = {**os.environ, "GIT_INDEX_FILE": str(tmp_path / "other-index")}
            for args in (
                ["read-tree", "HEAD"],
                ["update-index", "--cacheinfo", f"100644,{evil},{victim}"],
            ):
                subprocess.run(["git", "-C", str(root), *args], env=other, check=True)
            tree = subprocess.run(
                ["git", "-C", str(root), "write-tree"],
                env=other,
                check=True,
                capture_output=True,
                text=True,
            ).stdout.strip()
            ident = ["-c", "user.name=t", "-c", "user.email=t@t"]
            commit = _git(root, *ident, "commit-tree", tree, "-p", "HEAD", "-m", "innocent")
            _git(root, "update-ref", "HEAD", commit)
            assert (
                _git(root, "rev-parse", f"HEAD:{victim}")
                == evil
                == _git(root, "rev-parse", f":{victim}")
            )
            later = command(store, root, f"echo more >> {victim}")
        turn = store.open("turn-1")
        turn.record_command(later)
        turn.revert()
    finally:
        store.close()
    ((_rel, before, _after),) = later.changes
    assert before is not None and before.digest is None
    assert (root / victim).read_bytes() == b"file 70\nmore\n"
