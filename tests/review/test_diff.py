"""server.review.diff without a server: which new-side lines a diff covers (findings there are
kept), deletions, renames, secret files left out, the cut of a huge diff, and a repository with
no commit yet."""

from __future__ import annotations

from pathlib import Path

import pytest

from protocol.findings import CustomTarget, UncommittedChangesTarget
from protocol.review import TurnFile
from server.review import diff as review_diff
from server.review.diff import WHOLE_FILE, DiffError, target_diff
from tests.review.conftest import CALC, git


def no_secrets(_: Path) -> bool:
    return False


def no_turns(turn_id: str) -> list[TurnFile]:
    raise AssertionError(f"no turn asked for, got {turn_id}")


def test_changed_lines_are_the_hunks_new_side(repo: Path) -> None:
    lines = CALC.splitlines(keepends=True)
    lines[1] = "    return a - b\n"  # line 2 (0-based 1)
    (repo / "src" / "calc.py").write_text("".join(lines) + "\n\ndef sub(a, b):\n    return 0\n")
    diff = target_diff(UncommittedChangesTarget(), repo, no_secrets, no_turns)
    spans = diff.changed_lines[str(repo / "src" / "calc.py")]
    covered = {n for s in spans for n in s}
    assert 1 in covered and 9 in covered  # the edit and the added function
    assert diff.base == repo


def test_a_deleted_file_counts_whole_and_a_rename_by_its_new_name(repo: Path) -> None:
    git(repo, "rm", "-q", "README.md")
    git(repo, "mv", "src/calc.py", "src/arith.py")
    diff = target_diff(UncommittedChangesTarget(), repo, no_secrets, no_turns)
    assert diff.changed_lines[str(repo / "README.md")] == [WHOLE_FILE]
    assert str(repo / "src" / "arith.py") in diff.changed_lines
    assert "rename to src/arith.py" in diff.text


def test_secret_files_are_left_out_and_said_so(repo: Path) -> None:
    (repo / "token.txt").write_text("sk-secret\n")
    (repo / "src" / "calc.py").write_text(CALC.replace("+", "-"))
    diff = target_diff(UncommittedChangesTarget(), repo, lambda p: p.name == "token.txt", no_turns)
    assert "sk-secret" not in diff.text and "calc.py" in diff.text
    assert diff.notes == ["1 file(s) under secret paths were left out of the diff."]


def test_a_huge_diff_is_cut_at_a_file_and_said_so(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(review_diff, "DIFF_CAP_CHARS", 300)
    (repo / "a.txt").write_text("a\n" * 50)
    (repo / "b.txt").write_text("b\n" * 50)
    diff = target_diff(UncommittedChangesTarget(), repo, no_secrets, no_turns)
    assert list(diff.changed_lines) == [str(repo / "a.txt")] and "+b" not in diff.text
    assert diff.notes == ["The diff was cut: 1 file(s) past 300 characters are not shown."]


def test_a_repository_without_a_commit(tmp_path: Path) -> None:
    ws = tmp_path / "fresh"
    ws.mkdir()
    git(ws, "init", "-q")
    (ws / "staged.py").write_text("x = 1\n")
    git(ws, "add", "staged.py")
    (ws / "loose.py").write_text("y = 2\n")
    diff = target_diff(UncommittedChangesTarget(), ws, no_secrets, no_turns)
    assert "+x = 1" in diff.text and "+y = 2" in diff.text


def test_outside_a_repository_the_git_targets_are_refused(tmp_path: Path) -> None:
    with pytest.raises(DiffError, match="not a git repository"):
        target_diff(UncommittedChangesTarget(), tmp_path, no_secrets, no_turns)
    custom = target_diff(CustomTarget(instructions="look"), tmp_path, no_secrets, no_turns)
    assert custom.text == "" and custom.base == tmp_path


def test_a_diff_holding_a_code_fence_gets_a_longer_fence(repo: Path) -> None:
    from server.review.findings import review_request

    (repo / "README.md").write_text("# calc\n\n```sh\nmake\n```\n")
    diff = target_diff(UncommittedChangesTarget(), repo, no_secrets, no_turns)
    request = review_request(diff, None)
    assert "````diff\n" in request and request.endswith("````")


def test_a_finding_path_with_git_prefixes_or_absolute_is_matched(repo: Path) -> None:
    from server.review.findings import review_item

    (repo / "src" / "calc.py").write_text(CALC.replace("a + b", "a - b"))
    diff = target_diff(UncommittedChangesTarget(), repo, no_secrets, no_turns)
    found = {
        "title": "t",
        "body": "b",
        "priority": 1,
        "confidence_score": 0.9,
        "line_start": 2,
        "line_end": 2,
        "suggestion": None,
    }
    names = ["b/src/calc.py", str(repo / "src" / "calc.py"), "src/calc.py", "src/nope.py"]
    answer = {
        "findings": [{**found, "path": name} for name in names],
        "overall_correctness": "patch is incorrect",
        "overall_explanation": "x",
        "overall_confidence_score": 0.5,
    }
    item = review_item(answer, UncommittedChangesTarget(), diff, filtered=True)
    assert [f.path for f in item.findings] == [str(repo / "src" / "calc.py")] * 3
    assert item.dropped_findings == 1
