"""Exact string replacement for edit_file and the hints it gives when it cannot apply."""

from __future__ import annotations

import pytest

from server.edits.replace import ReplaceError, replace_exact


def test_replaces_the_single_occurrence() -> None:
    result = replace_exact("a.py", "x = 1\ny = 2\n", "y = 2", "y = 3")
    assert (result.text, result.count) == ("x = 1\ny = 3\n", 1)


def test_replace_all_replaces_every_occurrence() -> None:
    result = replace_exact("a.py", "a a a", "a", "b", replace_all=True)
    assert (result.text, result.count) == ("b b b", 3)


def test_lf_old_string_matches_crlf_file_and_keeps_crlf() -> None:
    result = replace_exact("a", "one\r\ntwo\r\n", "one\ntwo", "1\n2")
    assert result.text == "1\r\n2\r\n"


def test_ambiguous_match_lists_lines() -> None:
    with pytest.raises(ReplaceError, match=r"occurs 2 times in a \(at lines 1, 3\)"):
        replace_exact("a", "x\ny\nx\n", "x", "z")


def test_whitespace_difference_is_named() -> None:
    with pytest.raises(ReplaceError, match="different whitespace"):
        replace_exact("a", "def f():\n    return 1\n", "def f():\n  return 1", "x")


def test_not_found_points_at_the_nearest_line() -> None:
    with pytest.raises(ReplaceError, match="line 2: 'def compute_total\\(items\\):'"):
        text = "import os\ndef compute_total(items):\n"
        replace_exact("a", text, "def compute_totals(item):", "x")


@pytest.mark.parametrize(("old", "new"), [("", "x"), ("same", "same")])
def test_degenerate_requests_are_refused(old: str, new: str) -> None:
    with pytest.raises(ReplaceError):
        replace_exact("a", "same\n", old, new)
