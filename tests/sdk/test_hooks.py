"""tether_sdk's hooks as Python callables, through the real server and the scripted model:
the same JSON as hook commands (deny, ask, updatedInput, additionalContext, a Stop that goes
on), matchers, a callable that raises (a failed hook, not a block), callables beside a hook
file, and what the SDK answers without a callback (hook trust: cancel; approvals: decline)."""

from __future__ import annotations

import json
import logging
import shlex
import sys
from pathlib import Path
from typing import Any

import pytest

from protocol.approval import CommandApprovalParams, CommandApprovalResult
from protocol.hooks import HookCompletedNotification, HookTrustParams, HookTrustResult
from protocol.item import CommandExecutionItem
from tests.model_server import ModelServer, Reply, ToolCall
from tether_sdk import DEFAULT_ANSWERS, HookMatcher, Tether


def env_for(model_server: ModelServer, home: Path) -> dict[str, str]:
    return {**model_server.env(), "TETHER_HOME": str(home)}


def pre_tool(decision: str, reason: str = "", **extra: Any) -> dict[str, Any]:
    return {
        "hookSpecificOutput": {
            "hookEventName": "PreToolUse",
            "permissionDecision": decision,
            "permissionDecisionReason": reason,
            **extra,
        }
    }


async def test_a_pre_tool_use_callable_denies_with_the_hooks_json(
    model_server: ModelServer, workspace: Path, tmp_path: Path
) -> None:
    seen: list[dict[str, Any]] = []

    def guard(event: dict[str, Any]) -> dict[str, Any] | None:
        seen.append(event)
        if "rm -rf" in event["tool_input"]["command"]:
            return pre_tool("deny", "no rm -rf in this repository")
        return None

    (workspace / "keep").mkdir()
    model_server.enqueue(
        Reply(tool_calls=[ToolCall("shell", {"command": "rm -rf keep"}, call_id="rm")]),
        Reply(tool_calls=[ToolCall("shell", {"command": "echo fine"}, call_id="ok")]),
        Reply(text="done"),
    )
    async with Tether(
        workspace,
        mode="agent",
        env=env_for(model_server, tmp_path / "home"),
        hooks={"PreToolUse": [HookMatcher("Bash", [guard])]},
    ) as t:
        thread = await t.start_thread()
        result = await thread.run("clean up")
    assert (workspace / "keep").is_dir()
    outputs = model_server.requests[2].tool_outputs()
    assert "no rm -rf in this repository" in outputs["rm"]
    assert "fine" in outputs["ok"]
    assert [e["tool_input"]["command"] for e in seen] == ["rm -rf keep", "echo fine"]
    first = seen[0]
    assert first["hook_event_name"] == "PreToolUse" and first["tool_name"] == "Bash"
    assert first["session_id"] == thread.id and first["cwd"] == str(workspace)
    assert first["tool_use_id"] == "rm"
    assert result.status == "completed"


async def test_ask_forces_an_approval_and_updated_input_rewrites_the_call(
    model_server: ModelServer, workspace: Path, tmp_path: Path
) -> None:
    """In agent mode `echo` runs unasked; an `ask` puts it to the approval callback, and an
    async callable's updatedInput is what runs (and is gated again)."""
    asked: list[str] = []

    async def rewrite(event: dict[str, Any]) -> dict[str, Any]:
        return pre_tool("ask", "check the rewrite", updatedInput={"command": "echo rewritten"})

    def approve(request: CommandApprovalParams) -> CommandApprovalResult:
        asked.append(request.command)
        return CommandApprovalResult(decision="accept")

    model_server.enqueue(
        Reply(tool_calls=[ToolCall("shell", {"command": "echo original"}, call_id="c")]),
        Reply(text="done"),
    )
    async with Tether(
        workspace,
        mode="agent",
        env=env_for(model_server, tmp_path / "home"),
        hooks={"PreToolUse": [rewrite]},
        on_command_approval=approve,
    ) as t:
        result = await (await t.start_thread()).run("echo")
    assert asked == ["echo rewritten"]
    (command,) = [i for i in result.items if isinstance(i, CommandExecutionItem)]
    assert command.command == "echo rewritten" and command.output.strip() == "rewritten"


async def test_prompt_context_stop_and_matchers(
    model_server: ModelServer, workspace: Path, tmp_path: Path
) -> None:
    calls: list[str] = []

    def context(event: dict[str, Any]) -> dict[str, Any]:
        calls.append(f"prompt:{event['prompt']}")
        return {
            "hookSpecificOutput": {
                "hookEventName": "UserPromptSubmit",
                "additionalContext": "The build command is `make ci`.",
            }
        }

    def stop(event: dict[str, Any]) -> dict[str, Any] | None:
        calls.append(f"stop:{event['stop_hook_active']}")
        if not event["stop_hook_active"]:
            return {"decision": "block", "reason": "Also run the tests."}
        return None

    def edits_only(event: dict[str, Any]) -> None:
        calls.append("edit hook")  # Bash is not Edit|Write: never called

    model_server.enqueue(
        Reply(tool_calls=[ToolCall("shell", {"command": "echo hi"})]),
        Reply(text="first answer"),
        Reply(text="tests pass"),
    )
    async with Tether(
        workspace,
        mode="agent",
        env=env_for(model_server, tmp_path / "home"),
        hooks={
            "UserPromptSubmit": [context],
            "Stop": [stop],
            "PreToolUse": [HookMatcher("Edit|Write", [edits_only])],
        },
    ) as t:
        result = await (await t.start_thread()).run("build it")
    assert calls == ["prompt:build it", "stop:False", "stop:True"]
    assert "The build command is `make ci`." in model_server.requests[0].user_texts()[-1]
    assert model_server.requests[2].user_texts()[-1] == "Also run the tests."
    assert result.final_response == "tests pass"


async def test_a_raising_callable_is_a_failed_hook_that_does_not_block(
    model_server: ModelServer,
    workspace: Path,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(event: dict[str, Any]) -> dict[str, Any]:
        raise RuntimeError("the hook crashed")

    def not_a_dict(event: dict[str, Any]) -> Any:
        return ["allow"]

    model_server.enqueue(
        Reply(tool_calls=[ToolCall("shell", {"command": "echo ran"}, call_id="c")]),
        Reply(text="done"),
    )
    with caplog.at_level(logging.ERROR, logger="tether_sdk"):
        async with Tether(
            workspace,
            mode="agent",
            env=env_for(model_server, tmp_path / "home"),
            hooks={"PreToolUse": [broken, not_a_dict]},
        ) as t:
            thread = await t.start_thread()
            events = [e async for e in thread.run_streamed("echo")]
    assert "ran" in model_server.requests[1].tool_outputs()["c"]
    (run,) = [e.run for e in events if isinstance(e, HookCompletedNotification)]
    assert run.status == "failed"
    assert [e.status for e in run.entries] == ["failed", "failed"]
    assert "raised RuntimeError('the hook crashed')" in (run.entries[0].message or "")
    assert "returned list, not a dict" in (run.entries[1].message or "")
    assert run.entries[0].source == "the client (hook/callback)"
    assert "the hook crashed" in caplog.text


def project_hook(workspace: Path, marker: Path) -> None:
    """A project hook file that records each run in `marker`."""
    command = f"{shlex.quote(sys.executable)} -c \"open({str(marker)!r}, 'a').write('ran\\\\n')\""
    hooks = {"PreToolUse": [{"matcher": "", "hooks": [{"type": "command", "command": command}]}]}
    (workspace / ".tether").mkdir()
    (workspace / ".tether" / "hooks.json").write_text(json.dumps({"hooks": hooks}))


async def test_without_a_callback_hook_trust_is_cancelled_and_asked_again(
    model_server: ModelServer,
    workspace: Path,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Cancel, not decline: the project's hooks stay off now and no answer is remembered, so
    a later process asks again (and a callback's accept turns them on)."""
    assert DEFAULT_ANSWERS["approval/hookTrust"] == {"decision": "cancel"}
    marker = tmp_path / "ran.txt"
    project_hook(workspace, marker)
    home = tmp_path / "home"
    model_server.enqueue(
        Reply(tool_calls=[ToolCall("shell", {"command": "echo one"})]),
        Reply(text="one"),
        Reply(tool_calls=[ToolCall("shell", {"command": "echo two"})]),
        Reply(text="two"),
    )
    with caplog.at_level(logging.WARNING, logger="tether_sdk"):
        async with Tether(workspace, mode="agent", env=env_for(model_server, home)) as t:
            await (await t.start_thread()).run("first")
    assert "cancelled approval/hookTrust: no callback was given for it" in caplog.text
    assert not marker.exists()
    assert not (home / "hooks-trust.json").exists()

    asked: list[HookTrustParams] = []

    def trust(request: HookTrustParams) -> HookTrustResult:
        asked.append(request)
        return HookTrustResult(decision="accept")

    async with Tether(
        workspace, mode="agent", env=env_for(model_server, home), on_hook_trust=trust
    ) as t:
        await (await t.start_thread()).run("second")
    assert [a.source for a in asked] == [str(workspace / ".tether" / "hooks.json")]
    assert marker.read_text() == "ran\n"


async def test_callables_run_beside_the_users_hook_file(
    model_server: ModelServer, workspace: Path, tmp_path: Path
) -> None:
    """A hook file's deny beats a callable's allow (deny beats ask beats allow)."""
    home = tmp_path / "home"
    home.mkdir()
    deny = json.dumps(pre_tool("deny", "the user's file says no"))
    command = f"echo {shlex.quote(deny)}"
    hooks = {
        "PreToolUse": [{"matcher": "Bash", "hooks": [{"type": "command", "command": command}]}]
    }
    (home / "hooks.json").write_text(json.dumps({"hooks": hooks}))
    allowed: list[str] = []

    def allow(event: dict[str, Any]) -> dict[str, Any]:
        allowed.append(event["tool_input"]["command"])
        return pre_tool("allow")

    model_server.enqueue(
        Reply(tool_calls=[ToolCall("shell", {"command": "touch x"}, call_id="t")]),
        Reply(text="done"),
    )
    async with Tether(
        workspace, mode="agent", env=env_for(model_server, home), hooks={"PreToolUse": [allow]}
    ) as t:
        await (await t.start_thread()).run("touch")
    assert allowed == ["touch x"]
    assert not (workspace / "x").exists()
    assert "the user's file says no" in model_server.requests[1].tool_outputs()["t"]
