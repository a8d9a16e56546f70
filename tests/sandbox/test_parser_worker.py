"""Tests for sandbox.parse_worker: the parser child, its restarts, and failing closed.

The crashing child is real: a parser child whose parse dereferences NULL (SIGSEGV) on a marker
line, standing in for a crash in tree-sitter's C code that we do not know of yet.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import pytest

from sandbox.commands import Construct, parse_command
from sandbox.parse_worker import ParserWorker, parse_isolated
from sandbox.rules import Rule, RuleSet

_ROOT = str(Path(__file__).resolve().parents[2])
_FAULTY_CHILD = (
    sys.executable,
    "-c",
    f"""
import ctypes, sys, time
sys.path.insert(0, {_ROOT!r})
import sandbox.parse_worker as worker
real = worker.parse_command
def parse(source):
    if "CRASH" in source:
        ctypes.string_at(0)
    if "HANG" in source:
        time.sleep(60)
    return real(source)
worker.parse_command = parse
worker.serve()
""",
)
FORBID_RM = RuleSet((Rule(("rm",), "forbid", "user", "test"),))


@pytest.mark.parametrize(
    "line",
    [
        "git status && ls -la | grep x",
        "echo 'rm -f x' | bash",
        "cat <<é\nbody\né\nrm x\n",
        "\ud800",
    ],
)
def test_isolated_parse_is_the_same_as_in_process(line: str) -> None:
    assert parse_isolated(line) == parse_command(line)


def test_a_line_that_crashes_the_parser_fails_closed_and_the_next_one_parses() -> None:
    worker = ParserWorker(_FAULTY_CHILD)
    assert worker.parse("ls").commands  # control: the child works
    crashed = worker.parse("rm -f x # CRASH")
    assert crashed.commands == ()
    assert [flag.construct for flag in crashed.flags] == [Construct.UNSUPPORTED]
    assert "crashed" in crashed.describe_flags()
    verdict = FORBID_RM.evaluate(crashed)
    assert verdict.decision == "prompt", verdict.reason  # asks instead of running
    assert RuleSet((Rule(("rm",), "allow", "user", "t"),)).evaluate(crashed).decision is None
    assert [c.argv for c in worker.parse("rm -f x").commands] == [("rm", "-f", "x")]


def test_a_child_killed_from_outside_is_replaced_without_a_false_verdict() -> None:
    worker = ParserWorker()
    worker.parse("ls")
    pid = worker.pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    assert [c.argv for c in worker.parse("rm -f x").commands] == [("rm", "-f", "x")]
    assert worker.pid not in (None, pid)


def test_a_hanging_parse_times_out_and_fails_closed() -> None:
    worker = ParserWorker(_FAULTY_CHILD, timeout=1.0)
    hung = worker.parse("rm x # HANG")
    assert hung.commands == () and "too long" in hung.describe_flags()
    assert worker.parse("ls").commands


def test_the_child_exits_when_our_end_of_the_pipe_closes() -> None:
    worker = ParserWorker()
    worker.parse("ls")
    child = worker._child  # pyright: ignore[reportPrivateUsage]
    assert child is not None and child.stdin is not None
    child.stdin.close()
    deadline = time.monotonic() + 10
    while child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert child.returncode == 0
