"""Hooks in Claude Code's format, through the real server and the scripted model: the issue's
Verify list (issue 19). The hook scripts are in tests/hooks/scripts (bash with jq, and Python);
each test writes a hooks.json the way a user would and asserts on the wire and on the disk."""

from __future__ import annotations

import asyncio
import json
import os
import shlex
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.harness import Tether, start_tether, stop_tether
from tests.e2e.test_exec import tether_exec
from tests.model_server import ModelServer, Reply, ToolCall

SCRIPTS = Path(__file__).resolve().parents[1] / "hooks" / "scripts"
GOLDEN = Path(__file__).resolve().parent / "golden" / "hooks"


def script(name: str, prefix: str = "") -> str:
    runner = "bash" if name.endswith(".sh") else shlex.quote(sys.executable)
    return f"{prefix}{runner} {shlex.quote(str(SCRIPTS / name))}"


def group(command: str, matcher: str = "", timeout: float | None = None) -> dict[str, Any]:
    hook: dict[str, Any] = {"type": "command", "command": command}
    if timeout is not None:
        hook["timeout"] = timeout
    return {"matcher": matcher, "hooks": [hook]}


def write_hooks(path: Path, hooks: dict[str, list[dict[str, Any]]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"hooks": hooks}))


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """The tether fixture's TETHER_HOME: user hooks go to its hooks.json."""
    return tmp_path / "home"


def runs(tether: Tether, event: str) -> list[dict[str, Any]]:
    return [p["run"] for p in tether.of("hook/completed") if p["run"]["eventName"] == event]


def warnings(tether: Tether) -> list[str]:
    # pygls hands window/showMessage over as its lsprotocol type, not a dict.
    return [str(getattr(p, "message", "")) for p in tether.of("window/showMessage")]


async def test_exit_2_blocks_rm_rf_and_the_model_reads_why(
    tether: Tether, model_server: ModelServer, workspace: Path, home: Path
) -> None:
    write_hooks(home / "hooks.json", {"PreToolUse": [group(script("block_rm.sh"), "Bash")]})
    model_server.enqueue(
        Reply(tool_calls=[ToolCall("shell", {"command": "rm -rf src"}, call_id="c1")]),
        Reply(text="I will not delete it."),
    )
    thread = await tether.start_thread(workspace, mode="fullAccess")
    turn = await tether.run_turn(thread["id"], "clean up")
    assert turn["status"] == "completed", turn
    assert (workspace / "src" / "calc.py").exists()
    output = model_server.requests[1].tool_outputs()["c1"]
    assert "deletes recursively" in output and "PreToolUse hook blocked" in output
    (item,) = tether.items(turn, "toolCall")
    assert item["status"] == "declined" and "deletes recursively" in item["output"]
    assert item["summary"].startswith("Bash blocked by a hook: Blocked: 'rm -rf src' deletes")
    (run,) = runs(tether, "PreToolUse")
    assert run["status"] == "blocked" and run["toolName"] == "Bash"
    assert run["entries"][0]["exitCode"] == 2
    started = [p["run"] for p in tether.of("hook/started")]
    assert started[0]["id"] == run["id"] and started[0]["status"] == "running"


async def test_python_validator_blocks_grep_and_passes_cat(
    tether: Tether, model_server: ModelServer, workspace: Path, home: Path
) -> None:
    write_hooks(home / "hooks.json", {"PreToolUse": [group(script("validate_bash.py"), "Bash")]})
    model_server.enqueue(
        Reply(tool_calls=[ToolCall("shell", {"command": "grep -n add src/calc.py"}, "c1")]),
        Reply(tool_calls=[ToolCall("shell", {"command": "cat src/calc.py"}, "c2")]),
        Reply(text="found"),
    )
    thread = await tether.start_thread(workspace, mode="agent")
    await tether.run_turn(thread["id"], "find add")
    assert "Use 'rg'" in model_server.requests[1].tool_outputs()["c1"]
    assert "def add" in model_server.requests[2].tool_outputs()["c2"]


async def test_json_deny_blocks_any_tool_and_deny_beats_allow(
    tether: Tether, model_server: ModelServer, workspace: Path, home: Path
) -> None:
    allow = json.dumps({"hookSpecificOutput": {"permissionDecision": "allow"}})
    write_hooks(
        home / "hooks.json",
        {
            "PreToolUse": [
                group(f"echo {shlex.quote(allow)}", "*"),
                group(script("deny_json.py"), "Edit|Write"),
            ]
        },
    )
    model_server.enqueue(
        Reply(
            tool_calls=[
                ToolCall(
                    "edit_file",
                    {"path": "deps.lock", "old_string": "", "new_string": "x\n"},
                    call_id="c1",
                )
            ]
        ),
        Reply(text="ok"),
    )
    thread = await tether.start_thread(workspace, mode="agent")
    turn = await tether.run_turn(thread["id"], "write the lock")
    assert not (workspace / "deps.lock").exists()
    assert "lock files are generated" in model_server.requests[1].tool_outputs()["c1"]
    (run,) = runs(tether, "PreToolUse")
    assert run["toolName"] == "Edit" and run["status"] == "blocked"
    assert [e["status"] for e in run["entries"]] == ["completed", "blocked"]
    assert turn["status"] == "completed"


@pytest.mark.sandbox_matrix
async def test_updated_input_is_gated_again(
    tether: Tether, model_server: ModelServer, workspace: Path, home: Path
) -> None:
    rewrite = script("rewrite_command.py", "REWRITE_TO='touch made-by-hook' ")
    write_hooks(home / "hooks.json", {"PreToolUse": [group(rewrite, "Bash")]})
    model_server.enqueue(
        Reply(tool_calls=[ToolCall("shell", {"command": "echo rewrite-me"}, call_id="c1")]),
        Reply(text="ok"),
    )
    thread = await tether.start_thread(workspace, mode="readOnly")
    await tether.run_turn(thread["id"], "go")
    # readOnly asks before `touch`: the rewritten command, not the model's, is what is asked.
    (approval,) = [p for m, p in tether.approvals if m == "approval/commandExecution"]
    assert approval["command"] == "touch made-by-hook"
    assert not (workspace / "made-by-hook").exists()  # declined by the harness
    assert "declined" in model_server.requests[1].tool_outputs()["c1"]


@pytest.mark.sandbox_matrix
async def test_allow_skips_the_prompt_but_never_a_forbid_rule_or_the_sandbox(
    tether: Tether, model_server: ModelServer, workspace: Path, home: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "outside.txt"
    rewrite = script(
        "rewrite_command.py",
        f"REWRITE_DECISION=allow REWRITE_TO={shlex.quote(f'touch in-ws; touch {outside}')} ",
    )
    (workspace / ".tether").mkdir()
    (workspace / ".tether" / "rules.toml").write_text(
        '[[rules]]\nprefix = ["git", "push"]\ndecision = "forbid"\n'
    )
    allow = json.dumps({"hookSpecificOutput": {"permissionDecision": "allow"}})
    write_hooks(
        home / "hooks.json",
        {"PreToolUse": [group(rewrite, "Bash"), group(f"echo {shlex.quote(allow)}", "Bash")]},
    )
    model_server.enqueue(
        Reply(tool_calls=[ToolCall("shell", {"command": "echo rewrite-me"}, call_id="c1")]),
        Reply(tool_calls=[ToolCall("shell", {"command": "git push"}, call_id="c2")]),
        Reply(text="ok"),
    )
    thread = await tether.start_thread(workspace, mode="readOnly")
    await tether.run_turn(thread["id"], "go")
    assert tether.approvals == []  # allow: nobody was asked
    assert (workspace / "in-ws").exists()  # ran, in the workspace-write sandbox
    assert not outside.exists()  # which allow did not lift
    assert "forbid" in model_server.requests[2].tool_outputs()["c2"].lower() or (
        "not run" in model_server.requests[2].tool_outputs()["c2"]
    )


async def test_formatter_after_edit_and_write_lands_in_the_turn_diff(
    tether: Tether, model_server: ModelServer, workspace: Path, home: Path
) -> None:
    write_hooks(
        home / "hooks.json", {"PostToolUse": [group(script("format_after_edit.sh"), "Edit|Write")]}
    )
    patch = "*** Begin Patch\n*** Add File: src/new.py\n+x = 1   \n*** End Patch"
    model_server.enqueue(
        Reply(
            tool_calls=[
                ToolCall(
                    "edit_file",
                    {"path": "src/calc.py", "old_string": "a + b\n", "new_string": "a + b  \n"},
                    call_id="c1",
                ),
                ToolCall("apply_patch", {"patch": patch}, call_id="c2"),
            ]
        ),
        Reply(text="done"),
    )
    thread = await tether.start_thread(workspace, mode="agent")
    turn = await tether.run_turn(thread["id"], "edit")
    assert turn["status"] == "completed"
    assert "a + b\n" in (workspace / "src" / "calc.py").read_text()
    assert (workspace / "src" / "new.py").read_text() == "x = 1\n"
    assert [r["toolName"] for r in runs(tether, "PostToolUse")] == ["Edit", "Write"]
    diff = tether.of("turn/diff/updated", turn["id"])[-1]["diff"]
    assert "+x = 1\n" in diff and "+x = 1   " not in diff


async def test_prompt_context_is_injected_and_a_secret_prompt_blocked(
    tether: Tether, model_server: ModelServer, workspace: Path, home: Path
) -> None:
    (workspace / "NOTES.md").write_text("Tests run with `make check`.")
    write_hooks(home / "hooks.json", {"UserPromptSubmit": [group(script("prompt_context.py"))]})
    model_server.enqueue(Reply(text="noted"))
    thread = await tether.start_thread(workspace, mode="agent")
    await tether.run_turn(thread["id"], "how do I test?")
    (text,) = model_server.requests[0].user_texts()
    assert text.startswith("how do I test?") and "Tests run with `make check`." in text

    blocked = await tether.run_turn(thread["id"], "my password: hunter2")
    assert len(model_server.requests) == 1  # the model never saw it
    (error,) = tether.items(blocked, "error")
    assert "holds a secret" in error["message"]


async def test_stop_hook_continues_once_then_the_loop_guard_lets_it_stop(
    tether: Tether, model_server: ModelServer, workspace: Path, home: Path
) -> None:
    write_hooks(home / "hooks.json", {"Stop": [group(script("stop_until_checked.sh"))]})
    model_server.enqueue(Reply(text="done"), Reply(text="tests pass"))
    thread = await tether.start_thread(workspace, mode="agent")
    turn = await tether.run_turn(thread["id"], "fix it")
    assert turn["status"] == "completed"
    assert len(model_server.requests) == 2
    assert model_server.requests[1].user_texts()[-1] == "Run the tests before you stop."
    assert [r["status"] for r in runs(tether, "Stop")] == ["blocked", "completed"]


async def test_a_stop_hook_that_ignores_the_guard_is_cut_off(
    tether: Tether, model_server: ModelServer, workspace: Path, home: Path
) -> None:
    block = json.dumps({"decision": "block", "reason": "again"})
    write_hooks(home / "hooks.json", {"Stop": [group(f"echo {shlex.quote(block)}")]})
    model_server.enqueue(*[Reply(text=f"answer {i}") for i in range(4)])
    thread = await tether.start_thread(workspace, mode="agent")
    turn = await tether.run_turn(thread["id"], "go")
    assert turn["status"] == "completed"
    assert len(model_server.requests) == 4  # the first answer and three continuations
    assert any("loop guard" in w for w in warnings(tether))


async def test_exit_1_malformed_json_and_a_timeout_do_not_block(
    tether: Tether, model_server: ModelServer, workspace: Path, home: Path, tmp_path: Path
) -> None:
    pid_file = tmp_path / "sleeper.pid"
    sleeper = f"sleep 300 & echo $! > {shlex.quote(str(pid_file))}; wait"
    write_hooks(
        home / "hooks.json",
        {
            "PreToolUse": [
                group("echo failing >&2; exit 1", "Bash"),
                group("echo '{not json'", "Bash"),
                group(sleeper, "Bash", timeout=1),
            ]
        },
    )
    model_server.enqueue(
        Reply(tool_calls=[ToolCall("shell", {"command": "touch ran"}, call_id="c1")]),
        Reply(text="ok"),
    )
    thread = await tether.start_thread(workspace, mode="agent")
    turn = await tether.run_turn(thread["id"], "go")
    assert turn["status"] == "completed"
    assert (workspace / "ran").exists()
    (run,) = runs(tether, "PreToolUse")
    assert run["status"] == "failed"
    assert [e["status"] for e in run["entries"]] == ["failed", "failed", "failed"]
    assert "timed out" in run["entries"][2]["message"]
    seen = "\n".join(warnings(tether))
    assert "failing" in seen and "malformed JSON" in seen and "timed out" in seen
    # The sleeper, a child of the hook, went with the hook's process group.
    pid = int(pid_file.read_text())
    assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text()


async def test_an_untrusted_project_hook_does_not_run_until_trusted(
    tether: Tether, model_server: ModelServer, workspace: Path, home: Path
) -> None:
    marker = workspace / "hook-ran"
    hooks_file = workspace / ".tether" / "hooks.json"
    write_hooks(hooks_file, {"UserPromptSubmit": [group(f"touch {marker}")]})
    model_server.enqueue(*[Reply(text="ok") for _ in range(3)])
    thread = await tether.start_thread(workspace, mode="agent")
    await tether.run_turn(thread["id"], "one")
    await tether.run_turn(thread["id"], "two")
    trust = [p for m, p in tether.approvals if m == "approval/hookTrust"]
    assert len(trust) == 1  # asked once; the "no" is kept
    assert trust[0]["source"] == str(hooks_file)
    assert trust[0]["commands"] == [
        {"eventName": "UserPromptSubmit", "matcher": "", "command": f"touch {marker}"}
    ]
    assert not marker.exists()

    # A changed definition is asked about again; trusted, it runs.
    write_hooks(hooks_file, {"UserPromptSubmit": [group(f"touch {marker}", "*")]})
    tether.approver = lambda m, p: {
        "decision": "accept" if m == "approval/hookTrust" else "decline"
    }
    await tether.run_turn(thread["id"], "three")
    assert len([m for m, _ in tether.approvals if m == "approval/hookTrust"]) == 2
    assert marker.exists()


async def test_stdin_payloads_match_claude_codes_documented_fields(
    tether: Tether, model_server: ModelServer, workspace: Path, home: Path, tmp_path: Path
) -> None:
    """Every event's stdin has the fields Claude Code documents for it, and no others (golden
    file); tools arrive under Claude's names with Claude's input fields."""
    dump = tmp_path / "payloads"
    dump.mkdir()
    recorder = (
        f"{shlex.quote(sys.executable)} -c 'import json,sys,uuid; d=json.load(sys.stdin); "
        f'open("{dump}/"+uuid.uuid4().hex+".json","w").write(json.dumps(d))\''
    )
    golden = json.loads((GOLDEN / "fields.json").read_text())
    write_hooks(home / "hooks.json", {e: [group(recorder)] for e in golden["events"]})
    patch = "*** Begin Patch\n*** Add File: n.txt\n+new\n*** End Patch"
    edit = {"path": "README.md", "old_string": "tiny", "new_string": "small"}
    model_server.enqueue(
        Reply(
            tool_calls=[
                ToolCall("shell", {"command": "echo hi", "timeout_s": 5}, call_id="b"),
                ToolCall("read_file", {"path": "README.md", "start_line": 1, "end_line": 2}, "r"),
                ToolCall("edit_file", edit, call_id="e"),
                ToolCall("apply_patch", {"patch": patch}, call_id="w"),
                ToolCall("search", {"pattern": "add", "path": "src", "glob": "*.py"}, call_id="g"),
                ToolCall("list_dir", {"path": "src"}, call_id="l"),
                ToolCall("update_plan", {"steps": [{"text": "a", "status": "inProgress"}]}, "t"),
                ToolCall("read_file", {"path": "missing.txt"}, call_id="f"),
            ]
        ),
        Reply(text="done"),
        Reply(tool_calls=[ToolCall("shell", {"command": "touch x"}, call_id="n")]),
        Reply(text="declined"),
    )
    agent = await tether.start_thread(workspace, mode="agent")
    await tether.run_turn(agent["id"], "do everything")
    read_only = await tether.start_thread(workspace, mode="readOnly")
    await tether.run_turn(read_only["id"], "touch x")  # asks: a Notification
    await tether.wait_for("hook/completed", lambda p: p["run"]["eventName"] == "Notification")

    payloads = [json.loads(p.read_text()) for p in dump.iterdir()]
    seen: dict[str, set[str]] = {}
    for payload in payloads:
        event = payload["hook_event_name"]
        spec = golden["events"][event]
        keys = set(payload) - set(golden["common"])
        assert set(spec["required"]) <= keys <= set(spec["required"] + spec["optional"]), event
        assert set(golden["common"]) <= set(payload)
        mode = "acceptEdits" if payload["session_id"] == agent["id"] else "default"
        assert payload["permission_mode"] == mode
        assert payload["cwd"] == str(workspace)
        assert Path(payload["transcript_path"]).is_file()
        seen.setdefault(event, set()).add(payload.get("tool_name", ""))
        if "tool_name" in payload:
            tool = golden["tool_input"][payload["tool_name"]]
            fields = set(payload["tool_input"])
            assert set(tool["required"]) <= fields <= set(tool["required"] + tool["optional"])
    assert set(seen) == set(golden["events"]) - {"SessionEnd", "PreCompact"}
    assert seen["PreToolUse"] == {"Bash", "Read", "Edit", "Write", "Grep", "LS", "TodoWrite"}
    assert seen["PostToolUseFailure"] == {"Read"}
    starts = sorted(p["session_id"] for p in payloads if p["hook_event_name"] == "SessionStart")
    assert starts == sorted([agent["id"], read_only["id"]])
    bash = next(p for p in payloads if p.get("tool_use_id") == "b")
    assert bash["tool_name"] == "Bash" and bash["tool_input"] == {
        "command": "echo hi",
        "timeout": 5000,
    }
    write = next(p for p in payloads if p.get("tool_name") == "Write")
    assert write["tool_input"]["content"] == "new\n"
    assert write["tool_input"]["file_path"] == str(workspace / "n.txt")
    (note,) = [p for p in payloads if p["hook_event_name"] == "Notification"]
    assert "touch x" in note["message"] and note["notification_type"] == "permission_prompt"


def test_hooks_get_the_scrubbed_environment_and_the_project_dir(tmp_path: Path) -> None:
    """Run outside the sandbox with the server's environment minus secrets (the model's key
    first), plus TETHER_PROJECT_DIR and CLAUDE_PROJECT_DIR."""
    from server.hooks.runner import hook_env

    env = hook_env(tmp_path, {"OPENAI_API_KEY": "sk-x", "GITHUB_TOKEN": "t", "PATH": os.defpath})
    assert "OPENAI_API_KEY" not in env and "GITHUB_TOKEN" not in env
    assert env["TETHER_PROJECT_DIR"] == env["CLAUDE_PROJECT_DIR"] == str(tmp_path)


# Through `tether exec`, the headless client of the same protocol.


def test_exec_exit_2_blocks_rm_rf_and_the_prompt_gets_context(
    model_server: ModelServer, workspace: Path, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    (workspace / "NOTES.md").write_text("Never delete src.")
    write_hooks(
        home / "hooks.json",
        {
            "PreToolUse": [group(script("block_rm.sh"), "Bash")],
            "UserPromptSubmit": [group(script("prompt_context.py"))],
        },
    )
    model_server.enqueue(
        Reply(tool_calls=[ToolCall("shell", {"command": "rm -rf src"}, call_id="c1")]),
        Reply(text="Kept src."),
    )
    done = tether_exec(["--mode", "fullAccess", "clean up"], model_server.env(), workspace, home)
    assert done.returncode == 0, done.stderr
    assert (workspace / "src" / "calc.py").exists()
    assert "deletes recursively" in model_server.requests[1].tool_outputs()["c1"]
    assert "Never delete src." in model_server.requests[0].user_texts()[0]


def test_exec_without_a_tty_leaves_project_hooks_off_and_asks_next_time(
    model_server: ModelServer, workspace: Path, tmp_path: Path
) -> None:
    home, marker = tmp_path / "home", workspace / "hook-ran"
    write_hooks(workspace / ".tether" / "hooks.json", {"Stop": [group(f"touch {marker}")]})
    model_server.enqueue(Reply(text="one"), Reply(text="two"))
    first = tether_exec(["--mode", "agent", "hi"], model_server.env(), workspace, home)
    assert first.returncode == 0, first.stderr
    assert "not trusted yet" in first.stderr and not marker.exists()
    assert not (home / "hooks-trust.json").exists()  # nothing was decided for the user
    second = tether_exec(["--mode", "agent", "--yes", "hi"], model_server.env(), workspace, home)
    assert second.returncode == 0, second.stderr
    assert marker.exists()  # --yes trusts it, as it approves everything


async def test_session_events_startup_compact_resume_and_end(
    model_server: ModelServer, workspace: Path, tmp_path: Path
) -> None:
    home, log = tmp_path / "home", tmp_path / "events.log"
    record = f"jq -c '[.hook_event_name, (.source // .trigger // .reason // \"\")]' >> {log}"
    context = json.dumps({"hookSpecificOutput": {"additionalContext": "branch: main"}})
    write_hooks(
        home / "hooks.json",
        {
            "SessionStart": [group(record), group(f"echo {shlex.quote(context)}", "startup")],
            "PreCompact": [group(record)],
            "SessionEnd": [group(record)],
        },
    )
    model_server.enqueue(
        Reply(text="one"), Reply(text="two"), Reply(text="summary"), Reply(text="three")
    )
    tether = await start_tether(model_server.env(), home)
    try:
        thread = await tether.start_thread(workspace, mode="agent")
        await tether.run_turn(thread["id"], "first")
        await tether.run_turn(thread["id"], "second")
        await tether.request("thread/compact", {"threadId": thread["id"]})
        await tether.wait_for("hook/completed", lambda p: p["run"]["eventName"] == "PreCompact")
        await tether.wait_for("turn/completed", lambda p: len(tether.of("turn/completed")) == 3)
    finally:
        await stop_tether(tether)
    assert "branch: main" in model_server.requests[0].user_texts()[0]
    tether = await start_tether(model_server.env(), home)
    try:
        await tether.request("thread/resume", {"threadId": thread["id"]})
        await tether.run_turn(thread["id"], "third")
    finally:
        await stop_tether(tether)
    seen = [tuple(json.loads(line)) for line in log.read_text().splitlines()]
    assert seen == [
        ("SessionStart", "startup"),
        ("PreCompact", "manual"),
        ("SessionStart", "compact"),
        ("SessionEnd", "other"),
        ("SessionStart", "resume"),
        ("SessionEnd", "other"),
    ]


async def test_ask_asks_where_the_mode_would_not_and_continue_false_ends_the_turn(
    tether: Tether, model_server: ModelServer, workspace: Path, home: Path
) -> None:
    ask = json.dumps({"hookSpecificOutput": {"permissionDecision": "ask"}})
    stop = json.dumps({"continue": False, "stopReason": "the build is red"})
    write_hooks(
        home / "hooks.json",
        {
            "PreToolUse": [group(f"echo {shlex.quote(ask)}", "Bash")],
            "PostToolUse": [group(f"echo {shlex.quote(stop)}", "Edit")],
        },
    )
    edit = {"path": "README.md", "old_string": "tiny", "new_string": "small"}
    model_server.enqueue(
        Reply(tool_calls=[ToolCall("shell", {"command": "echo hi"}, call_id="c1")]),
        Reply(tool_calls=[ToolCall("edit_file", edit, call_id="c2")]),
        Reply(text="never reached"),
    )
    thread = await tether.start_thread(workspace, mode="agent")
    turn = await tether.run_turn(thread["id"], "go")
    (approval,) = [p for m, p in tether.approvals if m == "approval/commandExecution"]
    assert approval["command"] == "echo hi" and "PreToolUse hook asks" in approval["reason"]
    assert "declined" in model_server.requests[1].tool_outputs()["c1"]
    assert "small" in (workspace / "README.md").read_text()  # the edit ran, then the stop
    assert len(model_server.requests) == 2 and turn["status"] == "completed"
    assert "the build is red" in tether.items(turn, "error")[-1]["message"]


async def test_updated_input_rewrites_an_edit_and_a_patch_not_only_bash(
    tether: Tether, model_server: ModelServer, workspace: Path, home: Path
) -> None:
    code = (
        'import json,sys; i=json.load(sys.stdin)["tool_input"]; '
        'k="content" if "content" in i else "new_string"; '
        'print(json.dumps({"hookSpecificOutput": {"updatedInput": {k: i[k].upper()}}}))'
    )
    upper = f"{shlex.quote(sys.executable)} -c {shlex.quote(code)}"
    write_hooks(home / "hooks.json", {"PreToolUse": [group(upper, "Edit|Write")]})
    patch = "*** Begin Patch\n*** Add File: shout.txt\n+quiet\n*** End Patch"
    edit = {"path": "README.md", "old_string": "tiny", "new_string": "small"}
    model_server.enqueue(
        Reply(
            tool_calls=[
                ToolCall("edit_file", edit, call_id="e"),
                ToolCall("apply_patch", {"patch": patch}, call_id="w"),
            ]
        ),
        Reply(text="ok"),
    )
    thread = await tether.start_thread(workspace, mode="agent")
    turn = await tether.run_turn(thread["id"], "go")
    assert "A SMALL calculator" in (workspace / "README.md").read_text()
    assert (workspace / "shout.txt").read_text() == "QUIET\n"
    assert [c["status"] for c in tether.items(turn, "fileChange")] == ["applied", "applied"]


async def test_interrupting_the_turn_kills_a_running_hook_with_its_children(
    tether: Tether, model_server: ModelServer, workspace: Path, home: Path, tmp_path: Path
) -> None:
    pid_file = tmp_path / "sleeper.pid"
    sleeper = f"sleep 300 & echo $! > {shlex.quote(str(pid_file))}; wait"
    write_hooks(home / "hooks.json", {"PreToolUse": [group(sleeper, "Bash")]})
    model_server.enqueue(
        Reply(tool_calls=[ToolCall("shell", {"command": "touch never"}, call_id="c1")])
    )
    thread = await tether.start_thread(workspace, mode="agent")
    turn = (
        await tether.request(
            "turn/start", {"threadId": thread["id"], "input": [{"type": "text", "text": "go"}]}
        )
    )["turn"]
    await tether.wait_for("hook/started", lambda p: p["run"]["eventName"] == "PreToolUse")

    async def sleeper_started() -> None:
        while not pid_file.exists() or not pid_file.read_text().strip():
            await asyncio.sleep(0.05)

    await asyncio.wait_for(sleeper_started(), 20)
    await tether.request("turn/interrupt", {"threadId": thread["id"], "turnId": turn["id"]})
    done = await tether.wait_for("turn/completed", lambda p: p["turn"]["id"] == turn["id"])
    assert done["turn"]["status"] == "interrupted"
    assert not (workspace / "never").exists()
    status = Path(f"/proc/{int(pid_file.read_text())}/status")
    assert not status.exists() or "zombie" in status.read_text()
