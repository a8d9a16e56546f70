"""Exit codes and JSON output read as Claude Code reads them (server.hooks.outcome)."""

from __future__ import annotations

import json
from typing import Any

from server.hooks.config import HookCommand, HookSource
from server.hooks.outcome import read_results
from server.hooks.runner import HookResult

SOURCE = HookSource("/h/hooks.json", False, {})


def result(code: int | None, stdout: str | dict[str, Any] = "", stderr: str = "") -> HookResult:
    text = json.dumps(stdout) if isinstance(stdout, dict) else stdout
    hook = HookCommand("PreToolUse", "", f"hook{code}", 60.0, SOURCE)
    return HookResult(hook, code, text, stderr, 1)


def decision(d: str, **more: Any) -> dict[str, Any]:
    return {"hookSpecificOutput": {"permissionDecision": d, **more}}


def test_exit_2_blocks_with_stderr_and_other_codes_do_not() -> None:
    out = read_results("PreToolUse", [result(2, stderr="no rm\n")])
    assert out.block and out.reason == "no rm"
    out = read_results("PreToolUse", [result(1, stderr="oops")])
    assert not out.block and out.entries[0].status == "failed"
    assert "oops" in out.user_messages[0]
    # An event that cannot block shows exit 2's stderr to the user instead.
    out = read_results("SessionStart", [result(2, stderr="x")])
    assert not out.block and out.user_messages == ["SessionStart hook `hook2`: x"]


def test_deny_beats_ask_beats_allow_whatever_the_order() -> None:
    allow, ask = (
        result(0, decision("allow")),
        result(0, decision("ask", permissionDecisionReason="?")),
    )
    deny = result(0, decision("deny", permissionDecisionReason="never"))
    assert read_results("PreToolUse", [allow, ask]).permission == "ask"
    assert read_results("PreToolUse", [ask, allow]).permission == "ask"
    out = read_results("PreToolUse", [deny, allow, ask])
    assert out.permission == "deny" and "never" in out.reason
    assert [e.status for e in out.entries] == ["blocked", "completed", "completed"]


def test_updated_input_first_wins_and_deny_drops_it() -> None:
    first = result(0, decision("allow", updatedInput={"command": "a"}))
    second = result(0, {"hookSpecificOutput": {"updatedInput": {"command": "b"}}})
    assert read_results("PreToolUse", [first, second]).updated_input == {"command": "a"}
    assert read_results("PreToolUse", [second]).updated_input == {"command": "b"}
    denied = result(0, decision("deny", updatedInput={"command": "c"}))
    assert read_results("PreToolUse", [denied]).updated_input is None


def test_the_older_decision_field_of_pretooluse() -> None:
    out = read_results("PreToolUse", [result(0, {"decision": "block", "reason": "old style"})])
    assert out.permission == "deny" and out.reason == "old style"
    assert read_results("PreToolUse", [result(0, {"decision": "approve"})]).permission == "allow"


def test_plain_stdout_is_context_only_where_claude_takes_it() -> None:
    assert read_results("UserPromptSubmit", [result(0, "today is Monday\n")]).context == [
        "today is Monday"
    ]
    assert read_results("PreToolUse", [result(0, "chatter")]).context == []


def test_json_fields() -> None:
    out = read_results(
        "Stop",
        [
            result(
                0,
                {
                    "continue": False,
                    "stopReason": "build broken",
                    "systemMessage": "heads up",
                    "suppressOutput": True,
                },
            )
        ],
    )
    assert out.stop and out.stop_reason == "build broken" and out.user_messages == ["heads up"]
    out = read_results("PostToolUse", [result(0, {"decision": "block", "reason": "lint: E501"})])
    assert out.block and out.reason == "lint: E501"
    ctx = {"hookSpecificOutput": {"additionalContext": "ctx"}}
    assert read_results("SessionStart", [result(0, ctx)]).additional_context == "ctx"


def test_malformed_json_and_a_timeout_are_errors_for_the_user() -> None:
    out = read_results("PreToolUse", [result(0, "{not json")])
    assert not out.block and out.context == [] and "malformed JSON" in out.user_messages[0]
    hook = HookCommand("PreToolUse", "", "sleep 9", 1.0, SOURCE)
    timed = HookResult(hook, None, "", "timed out after 1 s and was killed", 1000, True)
    out = read_results("PreToolUse", [timed])
    assert not out.block and "timed out" in out.user_messages[0]
