"""The model's tool arguments are checked before any tool runs: shape, types, and NUL characters."""

from __future__ import annotations

import json

import pytest

from server.agent.errors import ToolFailed
from server.agent.tools.base import parse_arguments
from server.agent.tools.edits import EDIT_FILE
from server.agent.tools.shell import SHELL


def test_a_nul_in_a_command_is_an_observation_not_a_crash() -> None:
    with pytest.raises(ToolFailed, match="NUL"):
        parse_arguments(json.dumps({"command": "echo a\x00b"}), SHELL.spec)


def test_a_nul_in_a_path_is_refused() -> None:
    raw = json.dumps({"path": "a\x00b", "old_string": "x", "new_string": "y"})
    with pytest.raises(ToolFailed, match="`path` contains a NUL"):
        parse_arguments(raw, EDIT_FILE.spec)


def test_file_content_may_hold_a_nul() -> None:
    raw = json.dumps({"path": "a.bin", "old_string": "x", "new_string": "y\x00z"})
    assert parse_arguments(raw, EDIT_FILE.spec)["new_string"] == "y\x00z"


def test_an_ordinary_command_passes() -> None:
    assert parse_arguments(json.dumps({"command": "ls -la"}), SHELL.spec) == {"command": "ls -la"}
