"""Structured hunks and unified diff text: conventions, edge cases, and an outside oracle."""

from __future__ import annotations

import shutil
import subprocess
from itertools import pairwise
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.edits.diff import aggregate_diff, compute_hunks, diff_file
from server.edits.hunks import apply_hunks
from server.edits.linediff import _fallback_pairs, matching_blocks

lines_strategy = st.lists(st.sampled_from(["a", "b", "c", "", "def f():", "  x", "}"]), max_size=30)


def texts() -> st.SearchStrategy[str]:
    return st.builds(
        lambda lines, eol, final: eol.join(lines) + (eol if final and lines else ""),
        lines_strategy,
        st.sampled_from(["\n", "\r\n"]),
        st.booleans(),
    )


def test_update_hunk_uses_unified_conventions() -> None:
    old = "".join(f"{i}\n" for i in range(1, 21))
    new = old.replace("10\n", "ten\n")
    [hunk] = compute_hunks(old, new)
    assert (hunk.old_start, hunk.old_lines, hunk.new_start, hunk.new_lines) == (7, 7, 7, 7)
    assert hunk.wire_lines() == [" 7", " 8", " 9", "-10", "+ten", " 11", " 12", " 13"]
    assert hunk.header() == "@@ -7,7 +7,7 @@"


def test_pure_insertion_start_is_the_line_before() -> None:
    [hunk] = compute_hunks("a\nb\n", "new\na\nb\n", context=0)
    assert hunk.header() == "@@ -0,0 +1 @@"
    [hunk] = compute_hunks("a\nb\n", "a\nnew\nb\n", context=0)
    assert hunk.header() == "@@ -1,0 +2 @@"


def test_close_changes_share_a_hunk_and_far_ones_do_not() -> None:
    lines = [f"{i}\n" for i in range(40)]

    def changed(*at: int) -> str:
        return "".join(f"new{i}\n" if i in at else line for i, line in enumerate(lines))

    old = "".join(lines)
    assert len(compute_hunks(old, changed(5, 12))) == 1  # 6 equal lines between
    assert [h.index for h in compute_hunks(old, changed(5, 13))] == [0, 1]


def test_add_delete_and_move_headers() -> None:
    added = diff_file("/w/new.py", None, "x\n")
    assert (added.kind, added.diff) == ("add", "--- /dev/null\n+++ b/w/new.py\n@@ -0,0 +1 @@\n+x\n")
    deleted = diff_file("/w/old.py", "x\ny\n", None)
    assert deleted.kind == "delete"
    assert deleted.diff == "--- a/w/old.py\n+++ /dev/null\n@@ -1,2 +0,0 @@\n-x\n-y\n"
    moved = diff_file("/w/b.py", "x\n", "x\n", old_path="/w/a.py")
    assert (moved.kind, moved.old_path, moved.hunks) == ("update", "/w/a.py", ())
    assert moved.diff == "--- a/w/a.py\n+++ b/w/b.py\n"


def test_missing_final_newline_is_marked_and_kept_in_lines() -> None:
    result = diff_file("f", "a\nb", "a\nb\n")
    assert result.diff.endswith("-b\n\\ No newline at end of file\n+b\n")
    assert result.hunks[0].lines == (" a\n", "-b", "+b\n")


def test_crlf_lines_keep_their_terminators() -> None:
    [hunk] = compute_hunks("a\r\nb\r\n", "a\r\nB\r\n")
    assert hunk.lines == (" a\r\n", "-b\r\n", "+B\r\n")
    assert hunk.wire_lines() == [" a", "-b", "+B"]


def test_unchanged_file_has_no_diff_text() -> None:
    assert diff_file("a", "x\n", "x\n").diff == ""


def test_aggregate_concatenates_file_diffs_in_order() -> None:
    first, second = diff_file("a", "1\n", "2\n"), diff_file("b", None, "3\n")
    assert aggregate_diff([first, second]) == first.diff + second.diff


@settings(max_examples=150, deadline=None)
@given(texts(), texts())
def test_hunks_are_consistent_with_their_headers(old: str, new: str) -> None:
    for hunk in compute_hunks(old, new):
        assert len(hunk.old_side()) == hunk.old_lines
        assert len(hunk.new_side()) == hunk.new_lines
        assert any(line[0] in "+-" for line in hunk.lines)


@settings(max_examples=200, deadline=None)
@given(lines_strategy, lines_strategy)
def test_matching_blocks_are_equal_increasing_runs(a: list[str], b: list[str]) -> None:
    end_a = end_b = 0
    for i, j, n in matching_blocks(a, b):
        assert i >= end_a and j >= end_b and n > 0
        assert a[i : i + n] == b[j : j + n]
        end_a, end_b = i + n, j + n


@pytest.mark.skipif(shutil.which("git") is None, reason="git is the outside oracle")
@settings(max_examples=25, deadline=None)
@given(texts(), texts())
def test_git_apply_accepts_the_unified_diff(
    tmp_path_factory: pytest.TempPathFactory, old: str, new: str
) -> None:
    work: Path = tmp_path_factory.mktemp("gitapply")
    (work / "f.txt").write_bytes(old.encode())
    patch = diff_file("f.txt", old, new).diff
    if not patch.count("\n@@"):
        assert old == new
        return
    (work / "p.diff").write_bytes(patch.encode())
    subprocess.run(
        ["git", "apply", "--unidiff-zero", "--whitespace=nowarn", "p.diff"],
        cwd=work,
        check=True,
        capture_output=True,
    )
    assert (work / "f.txt").read_bytes() == new.encode()


def _lcs_length(a: list[int], b: list[int]) -> int:
    table = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i, x in enumerate(a):
        for j, y in enumerate(b):
            table[i + 1][j + 1] = (
                table[i][j] + 1 if x == y else max(table[i][j + 1], table[i + 1][j])
            )
    return table[-1][-1]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(0, 3), max_size=25), st.lists(st.integers(0, 3), max_size=25))
def test_myers_fallback_finds_a_longest_common_subsequence(a: list[int], b: list[int]) -> None:
    pairs = _fallback_pairs(a, b, 0, len(a), 0, len(b))
    assert len(pairs) == _lcs_length(a, b)
    assert all(a[i] == b[j] for i, j in pairs)
    assert all(i1 < i2 and j1 < j2 for (i1, j1), (i2, j2) in pairwise(pairs))


def test_repetitive_file_diff_stays_correct_and_bounded() -> None:
    old_lines = ["a\n", "b\n"] * 2500
    new_lines = list(old_lines)
    for k in range(0, 5000, 100):
        new_lines[k] = "b\n" if new_lines[k] == "a\n" else "a\n"
    old, new = "".join(old_lines), "".join(new_lines)
    hunks = compute_hunks(old, new)
    assert apply_hunks(old, hunks) == new
