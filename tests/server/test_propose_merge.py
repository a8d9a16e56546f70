"""`merge_block`: where a code block from the chat lands in a file, without a model."""

from __future__ import annotations

from server.agent.propose import merge_block

FILE = "import os\n\n\ndef add(a, b):\n    return a - b\n\n\ndef mul(a, b):\n    return a * b\n"


def test_a_function_replaces_the_one_of_the_same_header() -> None:
    assert merge_block(FILE, "def add(a, b):\n    return a + b\n") == FILE.replace("a - b", "a + b")


def test_a_changed_signature_is_found_by_name_and_a_new_unit_follows_it() -> None:
    block = "def add(a, b, c=0):\n    return a + b + c\n\n\ndef neg(a):\n    return -a\n"
    assert merge_block(FILE, block) == (
        "import os\n\n\ndef add(a, b, c=0):\n    return a + b + c\n\n\ndef neg(a):\n"
        "    return -a\n\n\ndef mul(a, b):\n    return a * b\n"
    )


def test_the_whole_file_with_one_change() -> None:
    assert merge_block(FILE, FILE.replace("a * b", "b * a")) == FILE.replace("a * b", "b * a")


def test_braces_else_chains_and_indentation() -> None:
    js = (
        "function f() {\n  return 1;\n}\n\n"
        "function g() {\n  if (x) {\n    y();\n  } else {\n    z();\n  }\n}\n"
    )
    assert merge_block(js, "function g() {\n  return 2;\n}") == (
        "function f() {\n  return 1;\n}\n\nfunction g() {\n  return 2;\n}\n"
    )


def test_a_method_written_dedented_keeps_the_class_indentation_and_decorators() -> None:
    head = "class A:\n    def a(self):\n        return 1\n\n"
    cls = head + "    @cached\n    def b(self):\n        return 2\n"
    assert merge_block(cls, "@property\ndef b(self):\n    return 4\n") == (
        head + "    @property\n    def b(self):\n        return 4\n"
    )


def test_no_anchor_replaces_the_file_and_a_new_file_is_the_block() -> None:
    assert merge_block(FILE, "print('hi')") == "print('hi')\n"
    assert merge_block(None, "x = 1") == "x = 1\n"
    assert merge_block("", "x = 1\n") == "x = 1\n"


def test_crlf_files_stay_crlf() -> None:
    crlf = FILE.replace("\n", "\r\n")
    assert merge_block(crlf, "def add(a, b):\n    return a + b\n") == crlf.replace("a - b", "a + b")
