"""The Codex apply_patch format: parsing, tolerant matching and the errors models see."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.edits.diff import compute_hunks
from server.edits.patch import (
    AddFile,
    DeleteFile,
    PatchError,
    UpdateFile,
    apply_patch,
    parse_patch,
)


def run(patch: str, files: dict[str, str]) -> dict[str, str | None]:
    edits = apply_patch(parse_patch(patch), files.get)
    result: dict[str, str | None] = dict(files)
    for edit in edits:
        if edit.old_path is not None:
            result[edit.old_path] = None
        result[edit.path] = edit.new_text
    return result


def test_parses_every_operation() -> None:
    ops = parse_patch(
        "*** Begin Patch\n"
        "*** Add File: hello.txt\n+Hello\n+world\n"
        "*** Update File: src/app.py\n*** Move to: src/main.py\n"
        "@@ def greet():\n-print('Hi')\n+print('Hello')\n"
        "*** Delete File: old.txt\n"
        "*** End Patch\n"
    )
    assert ops[0] == AddFile("hello.txt", "Hello\nworld\n")
    assert isinstance(ops[1], UpdateFile)
    assert ops[1].move_to == "src/main.py"
    assert ops[1].chunks[0].contexts == ("def greet():",)
    assert ops[1].chunks[0].old_lines == ("print('Hi')",)
    assert ops[2] == DeleteFile("old.txt")


def test_update_replaces_lines_after_context_header() -> None:
    files = {"a.py": "def f():\n    return 1\n\ndef g():\n    return 1\n"}
    out = run(
        "*** Begin Patch\n*** Update File: a.py\n@@ def g():\n-    return 1\n+    return 2\n"
        "*** End Patch",
        files,
    )
    assert out["a.py"] == "def f():\n    return 1\n\ndef g():\n    return 2\n"


def test_first_hunk_may_omit_header_and_heredoc_wrapper_is_ignored() -> None:
    patch = (
        "apply_patch <<'EOF'\n*** Begin Patch\n*** Update File: a\n x\n-y\n+z\n*** End Patch\nEOF\n"
    )
    assert run(patch, {"a": "x\ny\n"})["a"] == "x\nz\n"


def test_unified_style_header_is_accepted() -> None:
    patch = "*** Begin Patch\n*** Update File: a\n@@ -1,2 +1,2 @@\n x\n-y\n+z\n*** End Patch"
    assert run(patch, {"a": "x\ny\n"})["a"] == "x\nz\n"


def test_context_matching_tolerates_whitespace_and_unicode_punctuation() -> None:
    files = {"a": "msg = \u201chello\u201d  \n    value\u2014x\nend\n"}
    patch = (
        '*** Begin Patch\n*** Update File: a\n@@\n msg = "hello"\n-value-x\n+value = x\n'
        "*** End Patch"
    )
    assert run(patch, files)["a"] == "msg = \u201chello\u201d  \nvalue = x\nend\n"


def test_exact_match_wins_over_loose_match_earlier_in_file() -> None:
    files = {"a": "x = 1 \nx = 1\n"}
    patch = "*** Begin Patch\n*** Update File: a\n@@\n-x = 1\n+x = 2\n*** End Patch"
    assert run(patch, files)["a"] == "x = 1 \nx = 2\n"


def test_end_of_file_marker_prefers_the_last_occurrence() -> None:
    files = {"a": "b\nend\nb\nend\n"}
    patch = (
        "*** Begin Patch\n*** Update File: a\n@@\n b\n-end\n+fin\n*** End of File\n*** End Patch"
    )
    assert run(patch, files)["a"] == "b\nend\nb\nfin\n"


def test_pure_addition_without_header_appends_and_keeps_missing_final_newline() -> None:
    patch = "*** Begin Patch\n*** Update File: a\n@@\n+c\n*** End Patch"
    assert run(patch, {"a": "a\nb"})["a"] == "a\nb\nc"
    assert run(patch, {"a": "a\nb\n"})["a"] == "a\nb\nc\n"


def test_pure_addition_with_header_inserts_after_the_header_line() -> None:
    patch = "*** Begin Patch\n*** Update File: a\n@@ class A:\n+    x = 1\n*** End Patch"
    assert run(patch, {"a": "class A:\n    y = 2\n"})["a"] == "class A:\n    x = 1\n    y = 2\n"


def test_crlf_file_keeps_crlf_on_new_lines() -> None:
    patch = "*** Begin Patch\n*** Update File: a\n@@\n one\n-two\n+TWO\n+2b\n*** End Patch"
    assert run(patch, {"a": "one\r\ntwo\r\nthree\r\n"})["a"] == "one\r\nTWO\r\n2b\r\nthree\r\n"


def test_trailing_blank_context_line_standing_for_end_of_file_is_forgiven() -> None:
    patch = "*** Begin Patch\n*** Update File: a\n@@\n x\n-y\n+z\n\n*** End Patch"
    assert run(patch, {"a": "x\ny\n"})["a"] == "x\nz\n"


def test_multiple_hunks_apply_in_order() -> None:
    files = {"a": "".join(f"line{i}\n" for i in range(20))}
    patch = (
        "*** Begin Patch\n*** Update File: a\n@@\n-line2\n+two\n@@\n line9\n-line10\n+ten\n"
        "*** End Patch"
    )
    out = run(patch, files)["a"]
    assert out is not None
    assert "two\n" in out and "ten\n" in out and "line10" not in out


def test_move_and_delete_and_add() -> None:
    files = {"src/a.py": "x = 1\n", "old.txt": "bye\n"}
    patch = (
        "*** Begin Patch\n*** Update File: src/a.py\n*** Move to: src/b.py\n@@\n-x = 1\n+x = 2\n"
        "*** Delete File: old.txt\n*** Add File: new.txt\n+hi\n*** End Patch"
    )
    edits = apply_patch(parse_patch(patch), files.get)
    by_path = {e.path: e for e in edits}
    assert by_path["src/b.py"].old_path == "src/a.py"
    assert by_path["src/b.py"].old_text == "x = 1\n"
    assert by_path["src/b.py"].new_text == "x = 2\n"
    assert by_path["old.txt"].kind == "delete"
    assert by_path["new.txt"].kind == "add"
    assert "src/a.py" not in by_path


def test_pure_rename_without_hunks() -> None:
    edits = apply_patch(
        parse_patch("*** Begin Patch\n*** Update File: a\n*** Move to: b\n*** End Patch"),
        {"a": "same\n"}.get,
    )
    assert [(e.path, e.old_path, e.new_text) for e in edits] == [("b", "a", "same\n")]


def test_delete_then_add_replaces_a_file() -> None:
    patch = "*** Begin Patch\n*** Delete File: a\n*** Add File: a\n+new\n*** End Patch"
    edits = apply_patch(parse_patch(patch), {"a": "old\n"}.get)
    assert [(e.kind, e.old_text, e.new_text) for e in edits] == [("update", "old\n", "new\n")]


@pytest.mark.parametrize(
    ("patch", "needle"),
    [
        ("*** Update File: a\n@@\n-x\n*** End Patch", "must start with a line '*** Begin Patch'"),
        ("*** Begin Patch\n*** Update File: a\n@@\n-x\n+y\n", "cut off"),
        ("*** Begin Patch\n*** Frobnicate File: a\n*** End Patch", "is not a file header"),
        ("*** Begin Patch\n*** Update File: a\n*** End Patch", "has no hunks"),
        (
            "*** Begin Patch\n*** Update File: a\n@@\n-x\n?y\n*** End Patch",
            "Patch line 5 (update of a)",
        ),
        ("*** Begin Patch\n*** Update File: a\n@@\n*** End Patch", "has no lines"),
        ("*** Begin Patch\n*** End Patch", "no file operations"),
    ],
)
def test_parse_errors_say_what_and_where(patch: str, needle: str) -> None:
    with pytest.raises(PatchError) as caught:
        parse_patch(patch)
    assert needle in str(caught.value)


def test_missing_context_names_file_hunk_line_and_closest_match() -> None:
    files = {"src/app.py": "def greet(name):\n    print(name)\n"}
    patch = (
        "*** Begin Patch\n*** Update File: src/app.py\n@@\n def greet(nam):\n"
        "-    print(nam)\n+    pass\n*** End Patch"
    )
    with pytest.raises(PatchError) as caught:
        run(patch, files)
    message = str(caught.value)
    assert "hunk 1 of src/app.py (patch line 3)" in message
    assert "'def greet(nam):' is not in the file" in message
    assert "closest line is 1: 'def greet(name):'" in message


def test_missing_header_context_is_reported() -> None:
    patch = "*** Begin Patch\n*** Update File: a\n@@ def nowhere():\n-x\n+y\n*** End Patch"
    with pytest.raises(PatchError, match="'@@ def nowhere\\(\\):' line was not found"):
        run(patch, {"a": "x\n"})


def test_out_of_order_hunks_are_explained() -> None:
    patch = "*** Begin Patch\n*** Update File: a\n@@\n-c\n+C\n@@\n-a\n+A\n*** End Patch"
    with pytest.raises(PatchError, match="before the previous hunk"):
        run(patch, {"a": "a\nb\nc\n"})


@pytest.mark.parametrize(
    ("patch", "files", "needle"),
    [
        ("*** Add File: a\n+x", {"a": "y\n"}, "Cannot add a: it already exists"),
        ("*** Delete File: a", {}, "Cannot delete a: there is no such file"),
        ("*** Update File: a\n@@\n-x\n+y", {}, "Cannot update a: there is no such file"),
        ("*** Update File: a\n*** Move to: b\n@@\n-x\n+y", {"a": "x\n", "b": ""}, "already exists"),
    ],
)
def test_operation_errors(patch: str, files: dict[str, str], needle: str) -> None:
    with pytest.raises(PatchError) as caught:
        run(f"*** Begin Patch\n{patch}\n*** End Patch", files)
    assert needle in str(caught.value)


@st.composite
def unique_line_edit(draw: st.DrawFn) -> tuple[str, str]:
    """Old and new texts of distinct lines, one terminator style, same final newline."""
    eol = draw(st.sampled_from(["\n", "\r\n"]))
    final = draw(st.booleans())
    # Two lines at least: a one-line file without a newline shows no terminator style.
    old = [f"line {i}" for i in range(draw(st.integers(2, 40)))]
    new = list(old)
    for k in range(draw(st.integers(1, 5))):
        at = draw(st.integers(0, len(new)))
        action = draw(st.sampled_from(["insert", "delete", "replace"]))
        if action == "insert" or at == len(new):
            new.insert(at, f"new {k}")
        elif action == "delete" and len(new) > 1:
            del new[at]
        else:
            new[at] = f"changed {k}"
    return eol.join(old) + (eol if final else ""), eol.join(new) + (eol if final else "")


@settings(max_examples=200, deadline=None)
@given(unique_line_edit(), st.sampled_from([1, 2, 3]))
def test_a_patch_written_from_our_own_hunks_reproduces_the_new_text(
    pair: tuple[str, str], context: int
) -> None:
    old, new = pair
    body = [line for h in compute_hunks(old, new, context) for line in ["@@", *h.wire_lines()]]
    if not body:
        return
    patch = "\n".join(["*** Begin Patch", "*** Update File: f", *body, "*** End Patch"])
    [edit] = apply_patch(parse_patch(patch), {"f": old}.get)
    assert edit.new_text == new


def test_added_file_tolerates_unprefixed_blank_lines_and_explains_missing_plus() -> None:
    patch = "*** Begin Patch\n*** Add File: a\n+x\n\n+y\n*** End Patch"
    assert run(patch, {})["a"] == "x\n\ny\n"
    with pytest.raises(PatchError, match="Every line of an added file starts with '\\+'"):
        parse_patch("*** Begin Patch\n*** Add File: a\n+x\ny\n*** End Patch")


def test_consecutive_headers_narrow_down_to_the_right_method() -> None:
    method = "    def f(self):\n        return 1\n"
    text = "class A:\n" + method + "class B:\n" + method
    patch = (
        "*** Begin Patch\n*** Update File: a.py\n@@ class B:\n@@     def f(self):\n"
        "-        return 1\n+        return 2\n*** End Patch"
    )
    assert run(patch, {"a.py": text})["a.py"] == text[: text.rindex("1")] + "2\n"


def test_no_newline_marker_copied_from_a_diff_is_skipped() -> None:
    patch = (
        "*** Begin Patch\n*** Update File: a\n@@\n-x\n\\ No newline at end of file\n+y\n"
        "*** End Patch"
    )
    assert run(patch, {"a": "x"})["a"] == "y"


def test_a_unified_diff_sent_by_mistake_gets_a_hint() -> None:
    with pytest.raises(PatchError, match="looks like a unified diff"):
        parse_patch("--- a/x.py\n+++ b/x.py\n@@ -1 +1 @@\n-a\n+b\n")
