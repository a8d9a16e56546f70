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


def test_an_untracked_file_larger_than_the_cap_is_named_not_read(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(review_diff, "DIFF_CAP_CHARS", 300)
    (repo / "big.txt").write_text("z\n" * 500)
    (repo / "small.txt").write_text("s\n")
    diff = target_diff(UncommittedChangesTarget(), repo, no_secrets, no_turns)
    assert "# created, not shown: 1000 bytes, too large to review" in diff.text
    assert "+z" not in diff.text and "+s" in diff.text
    assert diff.changed_lines[str(repo / "big.txt")] == []  # no finding can stand on it


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


def finding_at(path: str, line: int = 2) -> dict[str, object]:
    return {
        "title": path,
        "body": "b",
        "priority": 1,
        "confidence_score": 0.9,
        "path": path,
        "line_start": line,
        "line_end": line,
        "suggestion": None,
    }


def kept_paths(diff: review_diff.ReviewDiff, *findings: dict[str, object]) -> list[str]:
    from server.review.findings import review_item

    answer = {
        "findings": list(findings),
        "overall_correctness": "patch is incorrect",
        "overall_explanation": "x",
        "overall_confidence_score": 0.5,
    }
    item = review_item(answer, UncommittedChangesTarget(), diff, filtered=True)
    assert item.dropped_findings == len(findings) - len(item.findings)
    return [f.title + " -> " + f.path for f in item.findings]


def test_a_workspace_inside_the_repository_resolves_names_from_either(repo: Path) -> None:
    """The thread works in repo/src: the diff names files from the repository's top, the model
    may name them from the workspace; both are kept, and the outside-the-diff rule holds."""
    (repo / "src" / "calc.py").write_text(CALC.replace("a + b", "a - b"))
    (repo / "README.md").write_text("# calc, changed\n")
    src = repo / "src"
    diff = target_diff(UncommittedChangesTarget(), src, no_secrets, no_turns)
    assert diff.base == repo and "+++ src/calc.py" in diff.text
    calc, readme = str(src / "calc.py"), str(repo / "README.md")
    kept = kept_paths(
        diff,
        finding_at("src/calc.py"),  # as the diff names it
        finding_at("calc.py"),  # from the workspace
        finding_at("./calc.py"),
        finding_at("../README.md", 1),  # from the workspace, up
        finding_at("calc.py", 6),  # the right file, lines the change did not touch
        finding_at("mul.py"),  # no such file in the diff
        finding_at("../../etc/passwd", 1),
    )
    assert sorted(kept) == sorted(
        [
            f"src/calc.py -> {calc}",
            f"calc.py -> {calc}",
            f"./calc.py -> {calc}",
            f"../README.md -> {readme}",
        ]
    )


def test_a_name_from_a_subfolder_matches_the_one_file_ending_with_it(repo: Path) -> None:
    """The thread works at the top but the model named files from a subfolder: the one file of
    the diff whose path ends with the name is meant; two such files are ambiguous: dropped."""
    (repo / "src" / "calc.py").write_text(CALC.replace("a + b", "a - b"))
    (repo / "lib" / "deep").mkdir(parents=True)
    (repo / "lib" / "deep" / "util.py").write_text("X = 1\nY = 2\n")
    (repo / "lib" / "calc.py").write_text("# another calc\nZ = 3\n")
    (repo / "lib" / "deep" / "calc.py").write_text("# a third calc\nZ = 4\n")
    diff = target_diff(UncommittedChangesTarget(), repo, no_secrets, no_turns, roots=[repo])
    kept = kept_paths(
        diff,
        finding_at("util.py"),
        finding_at("deep/util.py"),
        finding_at("calc.py"),  # three files end with it: ambiguous
        finding_at("deep/calc.py"),  # only lib/deep/calc.py ends with deep/calc.py
        finding_at("eep/util.py"),  # a name ends at a separator, not inside one
    )
    util, deep_calc = repo / "lib" / "deep" / "util.py", repo / "lib" / "deep" / "calc.py"
    assert sorted(kept) == sorted(
        [f"util.py -> {util}", f"deep/util.py -> {util}", f"deep/calc.py -> {deep_calc}"]
    )


def test_a_second_root_is_a_start_for_names_too(repo: Path, tmp_path: Path) -> None:
    """A multi-root workspace: a name relative to another root of the thread is found there
    (a turn's diff may hold files of every root)."""
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("one\ntwo\n")
    files = [
        TurnFile(path=str(other / "notes.txt"), kind="changed", before="one\n", after="one\ntwo\n")
    ]
    from protocol.findings import TurnTarget

    diff = target_diff(TurnTarget(turn_id="t"), repo, no_secrets, lambda _: files, roots=[other])
    assert kept_paths(diff, finding_at("notes.txt")) == [f"notes.txt -> {other / 'notes.txt'}"]


def test_a_repository_reached_through_a_symlink_keeps_the_workspace_spelling(
    repo: Path, tmp_path: Path
) -> None:
    link = tmp_path / "link"
    link.symlink_to(repo)
    (repo / "src" / "calc.py").write_text(CALC.replace("a + b", "a - b"))
    diff = target_diff(UncommittedChangesTarget(), link / "src", no_secrets, no_turns)
    assert diff.base == link
    assert kept_paths(diff, finding_at("calc.py")) == [f"calc.py -> {link / 'src' / 'calc.py'}"]


def test_a_custom_review_keeps_findings_in_the_roots_only(repo: Path, tmp_path: Path) -> None:
    """No diff to hold findings to: one on a file of the workspace is kept wherever its lines,
    one outside the thread's roots is dropped (the editor would open it)."""
    from server.review.findings import review_item

    outside = tmp_path / "elsewhere.py"
    outside.write_text("x = 1\n")
    diff = target_diff(CustomTarget(instructions="look at calc"), repo, no_secrets, no_turns)
    answer = {
        "findings": [
            finding_at("src/calc.py", 6),
            finding_at(str(outside), 1),
            finding_at("../elsewhere.py", 1),
        ],
        "overall_correctness": "patch is incorrect",
        "overall_explanation": "x",
        "overall_confidence_score": 0.5,
    }
    item = review_item(answer, CustomTarget(instructions="look at calc"), diff, filtered=False)
    assert [f.path for f in item.findings] == [str(repo / "src" / "calc.py")]
    assert item.dropped_findings == 2


def test_git_runs_without_the_model_key_in_its_environment(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A textconv driver is a program git runs while diffing: it shows git's environment.
    seen = repo.parent / "git-env.txt"
    git(repo, "config", "diff.shown.textconv", f"sh -c 'env > {seen}; cat \"$0\"'")
    (repo / ".gitattributes").write_text("*.py diff=shown\n")
    (repo / "src" / "calc.py").write_text(CALC.replace("+", "-"))
    monkeypatch.setenv("OPENAI_API_KEY", "sk-model-key")
    monkeypatch.setenv("MY_SERVICE_TOKEN", "tok-123")
    diff = target_diff(UncommittedChangesTarget(), repo, no_secrets, no_turns)
    assert "calc.py" in diff.text
    shown = seen.read_text()
    assert "PATH=" in shown  # the driver ran, with the ordinary variables
    assert "sk-model-key" not in shown and "tok-123" not in shown
