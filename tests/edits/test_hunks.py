"""Per-hunk apply, revert and rebase: byte-exact properties and the conflicts they report."""

from __future__ import annotations

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from server.edits.diff import Hunk, compute_hunks
from server.edits.hunks import apply_hunks, rebase_change, revert_hunks

# A small alphabet makes repeated lines, the hard case for finding a hunk again.
LINES = ["a", "b", "c", "", "def f():", "    return 1", "}"]
USER = "USER EDIT"


@st.composite
def edited_pair(draw: st.DrawFn) -> tuple[str, str]:
    """An old text and a new text made from it by random line edits."""
    eol = draw(st.sampled_from(["\n", "\r\n"]))
    old = draw(st.lists(st.sampled_from(LINES), max_size=40))
    new = list(old)
    for _ in range(draw(st.integers(0, 6))):
        at = draw(st.integers(0, len(new)))
        action = draw(st.sampled_from(["insert", "delete", "replace"]))
        if action == "insert":
            new[at:at] = draw(st.lists(st.sampled_from([*LINES, "x", "y"]), min_size=1, max_size=3))
        elif at < len(new):
            new[at : at + 1] = [] if action == "delete" else [draw(st.sampled_from(["x", "y"]))]
    final_old, final_new = draw(st.booleans()), draw(st.booleans())
    return (
        eol.join(old) + (eol if old and final_old else ""),
        eol.join(new) + (eol if new and final_new else ""),
    )


def subsets(hunks: list[Hunk]) -> st.SearchStrategy[list[int]]:
    if not hunks:
        return st.just([])
    return st.lists(st.sampled_from([h.index for h in hunks]), unique=True)


@settings(max_examples=120, deadline=None)
@given(edited_pair())
def test_applying_every_hunk_gives_the_new_text(pair: tuple[str, str]) -> None:
    old, new = pair
    assert apply_hunks(old, compute_hunks(old, new)) == new


@settings(max_examples=120, deadline=None)
@given(edited_pair(), st.data())
def test_apply_subset_then_revert_it_restores_the_original(
    pair: tuple[str, str], data: st.DataObject
) -> None:
    old, new = pair
    hunks = compute_hunks(old, new)
    chosen = data.draw(subsets(hunks))
    partial = apply_hunks(old, hunks, chosen)
    result = revert_hunks(partial, hunks, chosen, applied=chosen)
    assert result.conflicts == ()
    assert result.text == old
    assert sorted(result.done) == sorted(chosen)


@settings(max_examples=120, deadline=None)
@given(edited_pair(), st.data())
def test_revert_some_of_all_applied_equals_applying_the_rest(
    pair: tuple[str, str], data: st.DataObject
) -> None:
    old, new = pair
    hunks = compute_hunks(old, new)
    undo = data.draw(subsets(hunks))
    result = revert_hunks(new, hunks, undo)
    keep = [h.index for h in hunks if h.index not in undo]
    assert result.text == apply_hunks(old, hunks, keep)


def _user_insertion_point(hunks: list[Hunk], new_len: int, data: st.DataObject) -> int | None:
    """A line position of the new text that no hunk (context included) touches."""
    touched: set[int] = set()
    for h in hunks:
        start = h.new_start - 1 if h.new_lines else h.new_start
        touched.update(range(start, start + h.new_lines + 1))
    free = [at for at in range(new_len + 1) if at not in touched]
    return data.draw(st.sampled_from(free)) if free else None


@settings(max_examples=120, deadline=None)
@given(edited_pair(), st.data())
def test_revert_after_unrelated_user_edit_elsewhere(
    pair: tuple[str, str], data: st.DataObject
) -> None:
    old, new = pair
    hunks = compute_hunks(old, new)
    lines = new.splitlines(keepends=True)
    at = _user_insertion_point(hunks, len(lines), data)
    if at is None or (at == len(lines) and lines and not lines[-1].endswith("\n")):
        return
    edited = "".join([*lines[:at], USER + "\n", *lines[at:]])
    undo = data.draw(subsets(hunks))
    result = revert_hunks(edited, hunks, undo)
    assert result.conflicts == ()
    keep = [h.index for h in hunks if h.index not in undo]
    assert result.text.replace(USER + "\n", "", 1) == apply_hunks(old, hunks, keep)
    assert USER in result.text


@settings(max_examples=120, deadline=None)
@given(edited_pair(), st.data())
def test_rebase_onto_untouched_user_edit_applies_every_hunk(
    pair: tuple[str, str], data: st.DataObject
) -> None:
    base, theirs = pair
    hunks = compute_hunks(base, theirs)
    lines = base.splitlines(keepends=True)
    # Hunks with one line of context cover every line a user change must not touch.
    at = _user_insertion_point_old(compute_hunks(base, theirs, context=1), len(lines), data)
    if at is None or (at == len(lines) and lines and not lines[-1].endswith("\n")):
        return
    current = "".join([*lines[:at], USER + "\n", *lines[at:]])
    result = rebase_change(base, hunks, current)
    assert result.conflicts == ()
    assert result.text.replace(USER + "\n", "", 1) == theirs


def _user_insertion_point_old(hunks: list[Hunk], old_len: int, data: st.DataObject) -> int | None:
    touched: set[int] = set()
    for h in hunks:
        start = h.old_start - 1 if h.old_lines else h.old_start
        touched.update(range(start, start + h.old_lines + 1))
    free = [at for at in range(old_len + 1) if at not in touched]
    return data.draw(st.sampled_from(free)) if free else None


def test_revert_reports_conflict_when_the_hunk_lines_changed() -> None:
    old = "".join(f"line {i}\n" for i in range(30))
    new = old.replace("line 5\n", "five\n").replace("line 20\n", "twenty\n")
    hunks = compute_hunks(old, new)
    edited = new.replace("five\n", "FIVE!\n")
    result = revert_hunks(edited, hunks)
    assert [c.index for c in result.conflicts] == [0]
    assert "hunk 0 (@@ -3,7 +3,7 @@)" in result.conflicts[0].reason
    assert result.done == (1,)
    assert result.text == edited.replace("twenty\n", "line 20\n")


def test_revert_tolerates_edited_outer_context() -> None:
    old = "".join(f"line {i}\n" for i in range(30))
    new = old.replace("line 10\n", "ten\n")
    [hunk] = compute_hunks(old, new)
    edited = new.replace("line 7\n", "seven\n").replace("line 13\n", "thirteen\n")
    result = revert_hunks(edited, [hunk])
    assert result.conflicts == ()
    assert result.text == edited.replace("ten\n", "line 10\n")


def test_rebase_conflicts_where_user_changed_the_same_lines() -> None:
    base = "".join(f"line {i}\n" for i in range(30))
    theirs = base.replace("line 5\n", "model five\n").replace("line 25\n", "model 25\n")
    hunks = compute_hunks(base, theirs)
    current = base.replace("line 5\n", "user five\n")
    result = rebase_change(base, hunks, current)
    assert [c.index for c in result.conflicts] == [0]
    assert "edited at line 6 ('user five')" in result.conflicts[0].reason
    assert result.done == (1,)
    assert result.text == current.replace("line 25\n", "model 25\n")


def test_unknown_hunk_index_is_a_clear_error() -> None:
    hunks = compute_hunks("a\n", "b\n")
    with pytest.raises(ValueError, match=r"no hunk with index 3; valid indexes: \[0\]"):
        apply_hunks("a\n", hunks, [3])


def _text(*lines: str) -> str:
    return "".join(line + "\n" for line in lines)


K = ("k", "k", "k")


def test_revert_picks_the_occurrence_where_the_hunk_is_not_an_earlier_copy() -> None:
    old = _text("T", *K, "Y", *K, "M", *K, "X", *K, "E")
    new = _text("T", *K, "Y", *K, "M", *K, "Y", *K, "E")
    hunks = compute_hunks(old, new)
    assert revert_hunks(new, hunks).text == old


def test_revert_accounts_for_hunks_that_are_not_applied() -> None:
    filler = [f"f{i}" for i in range(8)]
    old = _text("H", *filler, *K, "X", *K, "M", *K, "Y", *K, "E")
    new = _text(*[f"n{i}" for i in range(12)], *filler, *K, "Y", *K, "M", *K, "Y", *K, "E")
    hunks = compute_hunks(old, new)
    assert len(hunks) == 2
    partial = apply_hunks(old, hunks, [1])
    assert revert_hunks(partial, hunks, [1], applied=[1]).text == old


def test_reverting_a_hunk_that_is_not_applied_is_refused() -> None:
    old = "".join(f"line {i}\n" for i in range(30))
    hunks = compute_hunks(old, old.replace("line 3\n", "x\n").replace("line 20\n", "y\n"))
    partial = apply_hunks(old, hunks, [1])
    with pytest.raises(ValueError, match="hunk 0 is not applied"):
        revert_hunks(partial, hunks, [0], applied=[1])


@st.composite
def user_edit(draw: st.DrawFn, text: str) -> str:
    """`text` with a USER line inserted, or one of its lines replaced by it, anywhere."""
    lines = text.splitlines(keepends=True)
    at = draw(st.integers(0, len(lines)))
    if at == len(lines) and lines and not lines[-1].endswith("\n"):
        at -= 1
    if at < len(lines) and draw(st.booleans()):
        return "".join([*lines[:at], USER + "\n", *lines[at + 1 :]])
    return "".join([*lines[:at], USER + "\n", *lines[at:]])


@settings(max_examples=150, deadline=None)
@given(edited_pair(), st.data())
def test_exact_revert_after_a_user_edit_anywhere_is_right_or_a_conflict(
    pair: tuple[str, str], data: st.DataObject
) -> None:
    old, new = pair
    hunks = compute_hunks(old, new)
    applied = data.draw(subsets(hunks))
    applied_text = apply_hunks(old, hunks, applied)
    edited = data.draw(user_edit(applied_text))
    result = revert_hunks(edited, hunks, applied=applied, applied_text=applied_text)
    assert sorted([*result.done, *(c.index for c in result.conflicts)]) == sorted(applied)
    # The ground truth: the user's edit laid over the file with only the kept hunks applied.
    kept = [i for i in applied if i not in result.done]
    expected = rebase_change(
        applied_text, compute_hunks(applied_text, edited), apply_hunks(old, hunks, kept)
    )
    # The oracle itself can find the user's edit touching a kept hunk's lines (a file without a
    # final newline whose last line both change): then there is no single right text.
    assume(expected.conflicts == ())
    assert result.text == expected.text


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_search_revert_on_distinct_lines_is_right_or_a_conflict(data: st.DataObject) -> None:
    old = "".join(f"line {i}\n" for i in range(data.draw(st.integers(1, 40))))
    new_lines = old.splitlines(keepends=True)
    for k in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(new_lines) - 1))
        new_lines[at] = f"changed {k}\n"
    new = "".join(new_lines)
    hunks = compute_hunks(old, new)
    edited = data.draw(user_edit(new))
    result = revert_hunks(edited, hunks)
    kept = apply_hunks(old, hunks, [h.index for h in hunks if h.index not in result.done])
    if edited.count("\n") > new.count("\n"):  # an inserted line: remove it and compare
        assert result.text.replace(USER + "\n", "", 1) == kept
        return
    merged = rebase_change(new, compute_hunks(new, edited), kept)
    if not merged.conflicts:  # else the edit is next to a change: no single right answer
        assert result.text == merged.text


def _user_edit_over(applied_text: str, edited: str, target: str) -> str:
    """The user's edit of `applied_text` laid over `target`: the right result of a revert."""
    merged = rebase_change(applied_text, compute_hunks(applied_text, edited), target)
    assert merged.conflicts == ()
    return merged.text


def test_exact_revert_refuses_where_a_search_would_guess() -> None:
    old, new = "a\na\nb\na\na", "a\na\na\na"
    hunks = compute_hunks(old, new)
    edited = "a\na\nUSER EDIT\na\na"  # right where the hunk removed "b"
    result = revert_hunks(edited, hunks, applied_text=new)
    assert [c.index for c in result.conflicts] == [0]
    assert "edited at line 3 ('USER EDIT') after the hunk was applied" in result.conflicts[0].reason
    assert result.text == edited


def test_exact_revert_of_a_change_merged_onto_earlier_user_edits() -> None:
    base = "".join(f"line {i}\n" for i in range(30))
    hunks = compute_hunks(base, base.replace("line 20\n", "twenty\n"))
    user_before = "top\n" + base  # the user edited the file before the change landed
    written = rebase_change(base, hunks, user_before).text
    later = written.replace("line 2\n", "two\n")
    result = revert_hunks(later, hunks, applied_text=written)
    assert result.conflicts == ()
    assert result.text == later.replace("twenty\n", "line 20\n")
