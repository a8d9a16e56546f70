"""`server.edits.tracked` and `sandbox.walk.TreeWatch`: what a command changed, found from the
root's inotify watch, and the walk it falls back to; on real directories and the real kernel."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sandbox.walk import TreeWatch, named_below, release_watch, remote_filesystem, share_watch
from server.edits import hydrate, tracked
from server.edits.checkpoints import CheckpointStore
from server.edits.snapshot import Manifest
from server.edits.tracked import CommandChanges


def tree(root: Path, files: int = 200) -> Path:
    for i in range(files):
        d = root / f"d{i // 50}" / f"e{i // 10 % 5}"
        d.mkdir(parents=True, exist_ok=True)
        (d / f"f{i}.txt").write_text(f"file {i}\n")
    return root


def command(store: CheckpointStore, root: Path, script: str) -> CommandChanges:
    mark = store.begin_command(root)
    subprocess.run(["sh", "-c", script], cwd=root, check=True)
    return store.end_command(mark)


def summary(changes: CommandChanges) -> dict[str, str]:
    return {
        rel: "created" if b is None else "deleted" if a is None else "changed"
        for rel, b, a in changes.changes
    }


@pytest.fixture
def store(tmp_path: Path) -> Iterator[CheckpointStore]:
    made = CheckpointStore(tmp_path / "state")
    yield made
    made.close()


def test_a_command_s_changes_come_from_the_watch_with_their_contents(
    store: CheckpointStore, tmp_path: Path
) -> None:
    root = tree(tmp_path / "ws")
    store.snapshot(root)
    assert store.wait_read(root, 60)
    script = (
        "echo more >> d1/e2/f70.txt && chmod 700 d2/e0/f100.txt && rm d0/e0/f0.txt "
        "&& mkdir -p new/deep && echo n > new/deep/n.txt && mv d3/e4 moved"
    )
    changes = command(store, root, script)
    kinds = summary(changes)
    assert kinds["d1/e2/f70.txt"] == kinds["d2/e0/f100.txt"] == "changed"
    assert kinds["d0/e0/f0.txt"] == "deleted"
    assert kinds["new/deep/n.txt"] == "created"
    moved = {f"d3/e4/f{i}.txt" for i in range(190, 200)}
    assert {k for k, v in kinds.items() if v == "deleted"} == moved | {"d0/e0/f0.txt"}
    assert {k for k, v in kinds.items() if v == "created"} == {
        "new/deep/n.txt",
        *(f"moved/f{i}.txt" for i in range(190, 200)),
    }
    assert changes.created_dirs >= {"new", "new/deep", "moved"}
    assert changes.note is None
    before = {rel: b for rel, b, _a in changes.changes}
    old = before["d1/e2/f70.txt"]
    assert old is not None and old.digest is not None
    assert store.blobs.get(old.digest) == b"file 70\n"  # the bytes before, kept
    assert command(store, root, "true").changes == []


def test_a_turn_of_commands_is_reverted_exactly(store: CheckpointStore, tmp_path: Path) -> None:
    root = tree(tmp_path / "ws")
    store.snapshot(root)
    assert store.wait_read(root, 60)
    before = {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}
    turn = store.open("turn-1")
    turn.record_command(command(store, root, "rm -r d2 && echo x > d0/e1/f10.txt"))
    turn.record_command(command(store, root, "mkdir d2 && echo other > d2/f.txt"))
    _restored, conflicts = turn.revert()
    assert conflicts == []
    assert {p: p.read_bytes() for p in root.rglob("*") if p.is_file()} == before


def test_an_edit_between_commands_is_kept_as_the_state_before_the_next(
    store: CheckpointStore, tmp_path: Path
) -> None:
    root = tree(tmp_path / "ws")
    store.snapshot(root)
    (root / "d0/e0/f1.txt").write_text("the user's\n")  # between commands: not the command's
    turn = store.open("turn-1")
    turn.record_command(command(store, root, "echo agent > d0/e0/f1.txt"))
    turn.revert()
    assert (root / "d0/e0/f1.txt").read_text() == "the user's\n"


def test_past_the_watch_limit_each_command_walks_and_says_so(tmp_path: Path) -> None:
    root = tree(tmp_path / "ws")
    store = CheckpointStore(tmp_path / "state", max_watches=3)
    try:
        store.snapshot(root)
        changes = command(store, root, "echo y >> d1/e1/f60.txt && rm -r d3")
    finally:
        store.close()
    kinds = summary(changes)
    assert kinds["d1/e1/f60.txt"] == "changed"
    assert {k for k, v in kinds.items() if v == "deleted"} == {
        f"d3/e{i // 10 % 5}/f{i}.txt" for i in range(150, 200)
    }
    assert changes.note is not None
    assert "walking the whole workspace" in changes.note
    assert "more than 3 directories to watch" in changes.note


def test_a_file_changed_before_it_was_read_is_reported(tmp_path: Path) -> None:
    root = tree(tmp_path / "ws", files=5000)  # more than is read inline before a command
    store = CheckpointStore(tmp_path / "state")
    try:
        tracker = store._tracker(root)  # pyright: ignore[reportPrivateUsage]
        with tracker.lock:  # hold the background reading off until the command is recorded
            store.snapshot(root)
            last = tracker._to_read[-1]  # pyright: ignore[reportPrivateUsage]
            mark = store.begin_command(root)
            (root / last).write_text("changed before it was read\n")
            changes = store.end_command(mark)
    finally:
        store.close()
    assert summary(changes) == {last: "changed"}
    assert changes.note is not None and "had not been read yet" in changes.note


def test_tree_watch_sees_nested_repositories_made_anywhere_and_gone_again(tmp_path: Path) -> None:
    root = tree(tmp_path / "ws")
    watch = share_watch(root)
    try:
        assert watch.blind is None
        (root / "d1/e1/.git").mkdir()
        os.makedirs(root / "fresh/a/b")
        (root / "fresh/a/b/.vscode").mkdir()
        found = {rel for rel, _inode in named_below(root)}
        assert found == {"d1/e1/.git", "fresh/a/b/.vscode"}
        shutil.rmtree(root / "fresh")
        assert {rel for rel, _inode in named_below(root)} == {"d1/e1/.git"}
    finally:
        release_watch(watch)
    # Without a live watch the same answer comes from a walk.
    assert {rel for rel, _inode in named_below(root)} == {"d1/e1/.git"}


def test_tree_watch_sync_sees_every_change_made_before_it(tmp_path: Path) -> None:
    root = tree(tmp_path / "ws")
    watch = TreeWatch(root)
    watch.start()
    try:
        for i in range(200):
            (root / f"d{i // 50}/e{i // 10 % 5}/f{i}.txt").write_text("again\n")
        assert watch.sync()
        assert {p for p in watch.take_changes().paths if p.endswith(".txt")} == {
            f"d{i // 50}/e{i // 10 % 5}/f{i}.txt" for i in range(200)
        }
    finally:
        watch.close()


def git_tree(root: Path, files: int = 5000) -> Path:
    """`tree` as a git repository whose index and HEAD hold every file (their mtimes set an
    hour back first, so no entry is racily clean whatever the clock's granularity)."""
    tree(root, files)
    for path in root.rglob("*.txt"):
        os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns - 3600 * 10**9))
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    subprocess.run(["git", "-C", str(root), "add", "-A"], check=True)
    commit = ["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@t", "commit"]
    subprocess.run([*commit, "-qm", "files"], check=True)
    return root


def unread_command(store: CheckpointStore, root: Path, script: str) -> CommandChanges:
    """A command recorded while the background reading has not started (it waits for the
    tracker's lock): every file it changes is unread."""
    tracker = store._tracker(root)  # pyright: ignore[reportPrivateUsage]
    with tracker.lock:
        store.snapshot(root)
        return command(store, root, script)


def test_git_s_index_gives_the_bytes_of_files_not_read_yet(tmp_path: Path) -> None:
    root = git_tree(tmp_path / "ws")
    (root / "d9/e0/f900.txt").write_text("changed since git add\n")  # not as the index has it
    originals = {p: p.read_bytes() for p in root.rglob("*.txt")}
    store = CheckpointStore(tmp_path / "state")
    try:
        script = (
            "echo more >> d1/e2/f70.txt && rm -r d2/e0 && echo x > d9/e0/f900.txt "
            "&& echo new > d0/new.txt"
        )
        changes = unread_command(store, root, script)
        turn = store.open("turn-1")
        turn.record_command(changes)
        _restored, conflicts = turn.revert()
    finally:
        store.close()
    before = {rel: b for rel, b, _a in changes.changes}
    old = before["d1/e2/f70.txt"]
    assert old is not None and old.digest is not None
    assert store.blobs.get(old.digest) == b"file 70\n"
    assert all(before[f"d2/e0/f{i}.txt"] for i in range(100, 110))
    assert changes.note is not None and "1 of the files" in changes.note  # f900 only
    assert conflicts == [str(root / "d9/e0/f900.txt")]
    assert not (root / "d0/new.txt").exists()
    del originals[root / "d9/e0/f900.txt"]
    assert {p: p.read_bytes() for p in originals} == originals


def test_git_s_index_is_not_used_when_the_command_rewrote_it(tmp_path: Path) -> None:
    root = git_tree(tmp_path / "ws")
    store = CheckpointStore(tmp_path / "state")
    try:
        script = "echo more >> d1/e2/f70.txt && git add d1/e2/f70.txt"
        changes = unread_command(store, root, script)
    finally:
        store.close()
    assert summary(changes) == {"d1/e2/f70.txt": "changed"}
    before = changes.changes[0][1]
    assert before is not None and before.digest is None
    assert changes.note is not None and "had not been read yet" in changes.note


def test_a_blob_replaced_in_git_s_objects_is_not_believed(tmp_path: Path) -> None:
    root = git_tree(tmp_path / "ws")
    oid = subprocess.run(
        ["git", "-C", str(root), "rev-parse", ":d1/e2/f70.txt"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    loose = root / ".git/objects" / oid[:2] / oid[2:]
    forged = zlib.compress(b"blob 8\0evil 70\n")  # the same size, other bytes
    store = CheckpointStore(tmp_path / "state")
    try:
        script = f"chmod u+w {loose} && cat > {loose} && echo more >> d1/e2/f70.txt"
        tracker = store._tracker(root)  # pyright: ignore[reportPrivateUsage]
        with tracker.lock:
            store.snapshot(root)
            mark = store.begin_command(root)
            subprocess.run(["sh", "-c", script], cwd=root, input=forged, check=True)
            changes = store.end_command(mark)
    finally:
        store.close()
    before = changes.changes[0][1]
    assert before is not None and before.digest is None


def test_a_filter_attribute_keeps_git_s_index_out(tmp_path: Path) -> None:
    root = git_tree(tmp_path / "ws")
    (root / ".git/info/attributes").write_text("d1/** filter=anything\n")
    store = CheckpointStore(tmp_path / "state")
    try:
        changes = unread_command(store, root, "echo a >> d1/e2/f70.txt && echo b >> d0/e0/f1.txt")
    finally:
        store.close()
    before = {rel: b for rel, b, _a in changes.changes}
    assert before["d1/e2/f70.txt"] is not None and before["d1/e2/f70.txt"].digest is None
    assert before["d0/e0/f1.txt"] is not None and before["d0/e0/f1.txt"].digest is not None


def test_a_file_made_while_the_first_walk_ran_is_part_of_the_baseline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tree(tmp_path / "ws")
    real = tracked.take_snapshot

    def walk_then_the_user_saves(*args: Any, **kwargs: Any) -> Manifest:
        manifest = real(*args, **kwargs)
        (root / "d0/e0/mine.txt").write_text("the user's\n")  # after its directory was listed
        return manifest

    monkeypatch.setattr(tracked, "take_snapshot", walk_then_the_user_saves)
    store = CheckpointStore(tmp_path / "state")
    try:
        store.snapshot(root)
        turn = store.open("turn-1")
        turn.record_command(command(store, root, "echo agent > d0/e0/mine.txt"))
        _restored, conflicts = turn.revert()
    finally:
        store.close()
    assert conflicts == []
    assert (root / "d0/e0/mine.txt").read_text() == "the user's\n"  # not deleted as new


MOUNTS = """\
27 1 254:0 / / rw,relatime - ext4 /dev/vda rw
40 27 0:50 / /mnt/team\\040share rw - nfs4 server:/export rw
41 27 0:51 / /src/app/vendor rw - fuse.sshfs me@box: rw
42 27 0:52 / /src/containers rw - fuse-overlayfs fuse-overlayfs rw
"""


def test_a_network_or_fuse_filesystem_in_or_above_the_root_is_named() -> None:
    assert remote_filesystem(Path("/mnt/team share/proj"), MOUNTS) == ("/mnt/team share", "nfs4")
    assert remote_filesystem(Path("/src/app"), MOUNTS) == ("/src/app/vendor", "fuse.sshfs")
    assert remote_filesystem(Path("/src/containers/x"), MOUNTS) is None  # this machine's only
    assert remote_filesystem(Path("/srv/web"), MOUNTS) is None


def test_the_watch_of_a_local_root_is_trusted(tmp_path: Path) -> None:
    root = tree(tmp_path / "ws", files=10)
    assert remote_filesystem(root) is None  # the real mount table: the tests' disk is local
    watch = TreeWatch(root)
    watch.start()
    try:
        assert watch.blind is None
    finally:
        watch.close()


def readers_of(root: Path) -> list[bytes]:
    command = ["pgrep", "-f", f"server.edits.hydrate {root}"]
    return subprocess.run(command, capture_output=True, check=False).stdout.split()


def test_the_reading_process_ends_with_the_reading(tmp_path: Path) -> None:
    root = tree(tmp_path / "ws", files=5000)
    store = CheckpointStore(tmp_path / "state")
    try:
        store.snapshot(root)
        assert store.wait_read(root, 240)
        manifest = store.snapshot(root)
        assert all(manifest.entries[rel].digest for rel in manifest.entries.packed)
        for _ in range(300):  # a hang guard: it closes once its last batch is kept
            if not readers_of(root):
                break
            time.sleep(0.1)
        assert readers_of(root) == []
    finally:
        store.close()


def test_when_the_reading_process_dies_the_server_reads_the_rest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = hydrate.Reader.__init__

    def dies_at_once(self: hydrate.Reader, *args: Any) -> None:
        real(self, *args)
        self._process.kill()  # pyright: ignore[reportPrivateUsage]

    monkeypatch.setattr(hydrate.Reader, "__init__", dies_at_once)
    root = tree(tmp_path / "ws", files=5000)
    store = CheckpointStore(tmp_path / "state")
    try:
        store.snapshot(root)
        assert store.wait_read(root, 240)
        manifest = store.snapshot(root)
        assert all(manifest.entries[rel].digest for rel in manifest.entries.packed)
        changes = command(store, root, "echo more >> d1/e2/f70.txt")
    finally:
        store.close()
    old = changes.changes[0][1]
    assert old is not None and old.digest is not None
    assert store.blobs.get(old.digest) == b"file 70\n"


def test_an_index_forged_before_the_server_started_restores_nothing(tmp_path: Path) -> None:
    from tests.edits.test_git_index_attacks import FORGE  # a cycle at the top: it imports this

    root = git_tree(tmp_path / "ws")
    victim = "d1/e2/f70.txt"

    def git(*args: str, data: bytes | None = None) -> str:
        done = subprocess.run(["git", "-C", str(root), *args], input=data, capture_output=True)
        return done.stdout.decode().strip()

    real, evil = (
        git("rev-parse", f":{victim}"),
        git("hash-object", "-w", "--stdin", data=b"evil 70\n"),
    )
    # An earlier session's command left this index: the victim's stat, the evil blob.
    subprocess.run(["python3", "-c", FORGE, ".git/index", real, evil], cwd=root, check=True)
    assert git("rev-parse", f":{victim}") == evil
    store = CheckpointStore(tmp_path / "state")
    try:
        changes = unread_command(store, root, f"echo more >> {victim} && echo b >> d0/e0/f1.txt")
    finally:
        store.close()
    before = {rel: b for rel, b, _a in changes.changes}
    forged, honest = before[victim], before["d0/e0/f1.txt"]
    assert forged is not None and forged.digest is None  # never the evil bytes
    assert honest is not None and honest.digest is not None  # HEAD and index agree there
