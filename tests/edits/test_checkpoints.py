"""Turn checkpoints: edits and commands reverted completely, conflicts, persistence, pruning."""

from __future__ import annotations

import os
import stat
import subprocess
import time
from pathlib import Path

import pytest

from server.edits.atomic import atomic_delete, atomic_write
from server.edits.checkpoints import Checkpoint, CheckpointStore


def tree(root: Path) -> dict[str, tuple[str, bytes | str, int]]:
    """Every file, link and directory under root: kind, content or target, mode."""
    found: dict[str, tuple[str, bytes | str, int]] = {}
    for path in sorted(root.rglob("*")):
        rel, info = str(path.relative_to(root)), path.lstat()
        if path.is_symlink():
            found[rel] = ("link", os.readlink(path), 0)
        elif path.is_dir():
            found[rel] = ("dir", "", stat.S_IMODE(info.st_mode))
        else:
            found[rel] = ("file", path.read_bytes(), stat.S_IMODE(info.st_mode))
    return found


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    (root / "src").mkdir(parents=True)
    (root / "src" / "a.py").write_text("a = 1\n")
    (root / "src" / "b.py").write_bytes(b"b = 2\r\n")
    (root / "run.sh").write_text("#!/bin/sh\necho hi\n")
    (root / "run.sh").chmod(0o755)
    (root / "doomed.txt").write_text("delete me\n")
    (root / ".gitignore").write_text("build/\n")
    (root / "build").mkdir()
    (root / "build" / "out.o").write_text("object\n")
    return root


def edit(checkpoint: Checkpoint, path: Path, text: str | None) -> None:
    """What the server's file tools do around every write."""
    checkpoint.record_before(path)
    if text is None:
        atomic_delete(path)
    else:
        atomic_write(path, text)
    checkpoint.record_after(path)


def run_command(
    store: CheckpointStore, checkpoint: Checkpoint, root: Path, script: str
) -> list[str]:
    mark = store.begin_command(root)
    subprocess.run(["sh", "-c", script], cwd=root, check=True)
    return checkpoint.record_command(store.end_command(mark))


def test_turn_with_edits_and_a_command_is_reverted_completely(
    workspace: Path, tmp_path: Path
) -> None:
    original = tree(workspace)
    store = CheckpointStore(tmp_path / "state")
    turn = store.open("turn-1")
    edit(turn, workspace / "src" / "a.py", "a = 10\n")
    edit(turn, workspace / "src" / "b.py", "b = 20\r\n")
    edit(turn, workspace / "run.sh", "#!/bin/sh\necho bye\n")
    edit(turn, workspace / "src" / "new" / "deep" / "c.py", "c = 3\n")
    changed = run_command(
        store,
        turn,
        workspace,
        "echo made > made.txt && mkdir -p gen && echo g > gen/g.txt && rm doomed.txt"
        " && echo rebuilt > build/out.o && chmod 600 src/a.py",
    )
    assert sorted(os.path.relpath(p, workspace) for p in changed) == [
        "doomed.txt",
        "gen/g.txt",
        "made.txt",
        "src/a.py",
    ]
    kinds = {os.path.relpath(p, workspace): k for p, k in turn.changes().items()}
    assert kinds == {
        "doomed.txt": "deleted",
        "gen/g.txt": "created",
        "made.txt": "created",
        "run.sh": "changed",
        "src/a.py": "changed",
        "src/b.py": "changed",
        "src/new/deep/c.py": "created",
    }

    restarted = CheckpointStore(tmp_path / "state").open("turn-1")
    restored, conflicts = restarted.revert()
    assert conflicts == []
    assert len(restored) == 7
    after = tree(workspace)
    # build/ is .gitignore'd: rebuilt output is not turn state.
    assert after.pop("build/out.o")[1] == b"rebuilt\n"
    original.pop("build/out.o")
    assert after == original


def test_user_change_after_the_turn_is_a_conflict_unless_forced(
    workspace: Path, tmp_path: Path
) -> None:
    store = CheckpointStore(tmp_path / "state")
    turn = store.open("t")
    target = workspace / "src" / "a.py"
    edit(turn, target, "turn\n")
    edit(turn, workspace / "src" / "b.py", "turn b\n")
    target.write_text("user\n")
    report = turn.revert_report()
    assert list(report.conflicts) == [str(target)]
    assert "changed after the turn wrote it" in report.conflicts[str(target)]
    assert target.read_text() == "user\n"
    assert (workspace / "src" / "b.py").read_bytes() == b"b = 2\r\n"
    restored, conflicts = turn.revert(force=True)
    assert conflicts == [] and str(target) in restored
    assert target.read_text() == "a = 1\n"


def test_write_interrupted_before_record_after_needs_force(workspace: Path, tmp_path: Path) -> None:
    turn = CheckpointStore(tmp_path / "state").open("t")
    target = workspace / "src" / "a.py"
    turn.record_before(target)
    target.write_text("half done\n")
    assert turn.revert() == ([], [str(target)])
    assert turn.revert(force=True) == ([str(target)], [])
    assert target.read_text() == "a = 1\n"


def test_reverting_twice_is_harmless(workspace: Path, tmp_path: Path) -> None:
    turn = CheckpointStore(tmp_path / "state").open("t")
    edit(turn, workspace / "src" / "a.py", "x\n")
    assert turn.revert()[1] == []
    assert turn.revert() == ([str(workspace / "src" / "a.py")], [])
    assert turn.changes() == {str(workspace / "src" / "a.py"): "changed"}  # what the turn did


def test_symlinks_are_recorded_not_followed(workspace: Path, tmp_path: Path) -> None:
    (workspace / "link").symlink_to("src/a.py")
    store = CheckpointStore(tmp_path / "state")
    turn = store.open("t")
    run_command(store, turn, workspace, "rm link && ln -s run.sh other")
    assert turn.revert()[1] == []
    assert os.readlink(workspace / "link") == "src/a.py"
    assert not (workspace / "other").exists() and not (workspace / "other").is_symlink()


def test_snapshot_skips_ignored_trees_and_honours_nested_gitignore(
    workspace: Path, tmp_path: Path
) -> None:
    (workspace / ".git").mkdir()
    (workspace / ".git" / "HEAD").write_text("ref\n")
    (workspace / "web" / "node_modules" / "x").mkdir(parents=True)
    (workspace / "web" / "node_modules" / "x" / "i.js").write_text("x\n")
    (workspace / "web" / ".gitignore").write_text("*.log\n!keep.log\n")
    (workspace / "web" / "a.log").write_text("x\n")
    (workspace / "web" / "keep.log").write_text("x\n")
    manifest = CheckpointStore(tmp_path / "state").snapshot(workspace)
    assert sorted(manifest.entries) == [
        ".gitignore",
        "doomed.txt",
        "run.sh",
        "src/a.py",
        "src/b.py",
        "web/.gitignore",
        "web/keep.log",
    ]


def test_unchanged_files_are_not_read_again(
    workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An hour before this test's own clock (not a fixed date, which a clock set back can be
    # before): well outside the racy window of the snapshot below.
    old = time.time_ns() - 3_600 * 1_000_000_000
    for path in workspace.rglob("*"):
        os.utime(path, ns=(old, old), follow_symlinks=False)
    store = CheckpointStore(tmp_path / "state")
    store.snapshot(workspace)
    assert store.wait_read(workspace, 30)  # the first snapshot reads contents in the background
    store.close()
    reads: list[str] = []
    original_put = store.blobs.put

    def counting_put(data: bytes, *, bulk: bool = False) -> str:
        reads.append(data.decode())
        return original_put(data, bulk=bulk)

    monkeypatch.setattr(store.blobs, "put", counting_put)
    (workspace / "src" / "a.py").write_text("a = 9\n")
    second = CheckpointStore(tmp_path / "state")  # a restart: the manifest comes from disk
    monkeypatch.setattr(second.blobs, "put", counting_put)
    second.snapshot(workspace)
    assert second.wait_read(workspace, 30)
    second.close()
    assert reads == ["a = 9\n"]


def test_prune_keeps_what_kept_checkpoints_and_latest_snapshots_need(
    workspace: Path, tmp_path: Path
) -> None:
    store = CheckpointStore(tmp_path / "state")
    keep, drop = store.open("keep"), store.open("drop")
    edit(keep, workspace / "src" / "a.py", "kept turn\n")
    edit(drop, workspace / "src" / "b.py", "dropped turn\n")
    atomic_write(workspace / "src" / "b.py", "b later\n")
    store.snapshot(workspace)
    assert store.wait_read(workspace, 30)  # the snapshot's contents, read in the background
    removed = store.prune(["keep"])
    assert removed == 1  # b.py's original, only the dropped turn referred to it
    assert not store.exists("drop") and store.exists("keep")
    assert keep.revert() == ([str(workspace / "src" / "a.py")], [])


def test_damaged_checkpoint_file_is_reported(tmp_path: Path) -> None:
    store = CheckpointStore(tmp_path / "state")
    store.open("t").save()
    (tmp_path / "state" / "turns" / "t.json").write_text("{not json")
    with pytest.raises(ValueError, match="damaged"):
        store.open("t")


def test_odd_turn_ids_map_to_safe_file_names(tmp_path: Path) -> None:
    store = CheckpointStore(tmp_path / "state")
    store.open("../../etc/passwd").save()
    assert store.exists("../../etc/passwd")
    assert [p.parent.name for p in (tmp_path / "state").rglob("*.json")] == ["turns"]


def test_state_inside_the_workspace_is_not_snapshotted(workspace: Path) -> None:
    store = CheckpointStore(workspace / ".tether-state")
    store.snapshot(workspace)
    assert not any(rel.startswith(".tether-state") for rel in store.snapshot(workspace).entries)


def test_corrupt_saved_content_is_a_conflict_not_a_bad_restore(
    workspace: Path, tmp_path: Path
) -> None:
    store = CheckpointStore(tmp_path / "state")
    turn = store.open("t")
    target = workspace / "src" / "a.py"
    edit(turn, target, "turn\n")
    digest = turn.data.entries[str(target)].before.digest
    assert digest is not None
    store.blobs.path_of(digest).write_bytes(b"torn")
    report = turn.revert_report()
    assert "is corrupt" in report.conflicts[str(target)]
    assert target.read_text() == "turn\n"


def test_prune_passes_over_a_manifest_still_being_written(workspace: Path, tmp_path: Path) -> None:
    # The background reading saves a manifest beside its place, then renames it there; prune
    # listing the folder in between used to read the empty temporary file and fail.
    store = CheckpointStore(tmp_path / "state")
    keep = store.open("keep")
    edit(keep, workspace / "src" / "a.py", "kept turn\n")
    store.snapshot(workspace)
    assert store.wait_read(workspace, 30)
    manifests = tmp_path / "state" / "manifests"
    manifests.mkdir(parents=True, exist_ok=True)  # not there yet when no manifest was saved
    (manifests / ".half-written.json.1.2.tmp").write_bytes(b"")
    store.prune(["keep"])
    assert keep.revert() == ([str(workspace / "src" / "a.py")], [])  # its blobs are kept
