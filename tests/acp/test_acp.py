"""`tether acp` against the `agent-client-protocol` package's client side and the scripted
model: streaming, tool calls with diffs, permissions, cancel, modes, and every message
checked against the ACP schema models."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from acp import RequestError
from acp import schema as s

from tests.acp.client import Recorder, pick, tether_acp, validate_transcript
from tests.conftest import SandboxCell
from tests.model_server import ModelServer, Reply, ToolCall

SWAP = {"path": "src/calc.py", "old_string": "return a + b", "new_string": "return b + a"}
ORIGINAL = "def add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n    return a - b\n"
SWAPPED = ORIGINAL.replace("a + b", "b + a")


async def test_a_prompt_streams_the_answer_and_the_thoughts(
    recorder: Recorder, env: dict[str, str], model_server: ModelServer, workspace: Path
) -> None:
    model_server.enqueue(Reply(reasoning="Adding is easy.", text="It returns a + b.", chunk_size=4))
    async with tether_acp(recorder, env) as conn:
        session = await conn.new_session(cwd=str(workspace))
        assert session.modes is not None and session.modes.current_mode_id == "readOnly"
        assert [m.id for m in session.modes.available_modes] == ["readOnly", "agent", "fullAccess"]
        done = await conn.prompt(
            session_id=session.session_id, prompt=[s.TextContentBlock(type="text", text="add?")]
        )
    assert done.stop_reason == "end_turn"
    assert done.usage is not None and done.usage.output_tokens > 0
    sid = session.session_id
    assert recorder.text(sid) == "It returns a + b."
    assert len(recorder.of(sid, "agent_message_chunk")) > 1  # streamed, not sent whole
    assert recorder.text(sid, "agent_thought_chunk") == "Adding is easy."
    (usage, *_) = recorder.of(sid, "usage_update")
    assert usage.used > 0
    # The answer came after every update of its turn.
    prompt_answer = next(
        i
        for i, (d, m) in enumerate(recorder.wire)
        if d == "in" and "stopReason" in m.get("result", {})
    )
    assert all(m.get("method") != "session/update" for _d, m in recorder.wire[prompt_answer + 1 :])
    assert validate_transcript(recorder.wire) >= 8


async def test_initialize_offers_load_list_resume_close_and_the_key_when_missing(
    recorder: Recorder, env: dict[str, str], workspace: Path
) -> None:
    no_key = {k: v for k, v in env.items() if not k.startswith("OPENAI_")}
    async with tether_acp(recorder, no_key) as conn:
        session = await conn.new_session(cwd=str(workspace))
        with pytest.raises(RequestError) as refused:
            await conn.prompt(
                session_id=session.session_id, prompt=[s.TextContentBlock(type="text", text="hi")]
            )
        assert refused.value.code == -32000 and "OPENAI_API_KEY" in str(refused.value)
    (answer,) = [
        m["result"]
        for d, m in recorder.wire
        if d == "in" and "protocolVersion" in m.get("result", {})
    ]
    result = s.InitializeResponse.model_validate(answer)
    caps = result.agent_capabilities
    assert result.protocol_version == 1 and caps is not None and caps.load_session
    assert caps.session_capabilities is not None
    sessions = caps.session_capabilities
    assert sessions.list is not None and sessions.resume is not None and sessions.close is not None
    assert caps.prompt_capabilities is not None and caps.prompt_capabilities.embedded_context
    assert result.auth_methods and "OPENAI_API_KEY" in str(answer["authMethods"])


@pytest.mark.sandbox_matrix
async def test_an_edit_is_a_tool_call_with_the_whole_file_diff(
    recorder: Recorder, env: dict[str, str], model_server: ModelServer, workspace: Path
) -> None:
    model_server.enqueue(Reply(tool_calls=[ToolCall("edit_file", SWAP)]), Reply(text="swapped"))
    calc = workspace / "src" / "calc.py"
    async with tether_acp(recorder, env) as conn:
        session = await conn.new_session(cwd=str(workspace))
        await conn.set_session_mode(session_id=session.session_id, mode_id="agent")
        (mode,) = recorder.of(session.session_id, "current_mode_update")
        assert mode.current_mode_id == "agent"
        done = await conn.prompt(
            session_id=session.session_id, prompt=[s.TextContentBlock(type="text", text="swap")]
        )
        assert done.stop_reason == "end_turn"
        (start,) = recorder.of(session.session_id, "tool_call")
        assert start.kind == "edit" and start.title == f"Edit {calc}"
        assert [loc.path for loc in start.locations] == [str(calc)]
        assert start.locations[0].line == 2
        (diff,) = start.content
        assert diff.type == "diff" and diff.path == str(calc)
        assert diff.old_text == ORIGINAL and diff.new_text == SWAPPED
        assert start.raw_input["changes"][0]["path"] == str(calc)
        final = recorder.tool_updates(session.session_id, start.tool_call_id)[-1]
        assert final.status == "completed"
        assert calc.read_text() == SWAPPED
        # Per-hunk undo through the extension method.
        reverted = await conn.ext_method(
            "tether/change/revert",
            {"sessionId": session.session_id, "itemId": start.tool_call_id},
        )
        assert reverted["item"]["status"] == "reverted"
        assert calc.read_text() == ORIGINAL
    validate_transcript(recorder.wire)


@pytest.mark.sandbox_matrix
@pytest.mark.parametrize("choice", ["allow_once", "allow_always", "reject_once"])
async def test_a_command_asks_permission_in_read_only_mode(
    choice: str,
    env: dict[str, str],
    model_server: ModelServer,
    workspace: Path,
    sandbox_cell: SandboxCell,
) -> None:
    recorder = Recorder(chooser=pick(choice))
    command = "touch made.txt"
    model_server.enqueue(
        Reply(tool_calls=[ToolCall("shell", {"command": command})]),
        Reply(text="first"),
        Reply(tool_calls=[ToolCall("shell", {"command": command})]),
        Reply(text="second"),
    )
    async with tether_acp(recorder, env) as conn:
        session = await conn.new_session(cwd=str(workspace))
        sid = session.session_id  # readOnly, the default mode
        for _ in range(2):
            await conn.prompt(session_id=sid, prompt=[s.TextContentBlock(type="text", text="go")])
            if choice == "allow_once":
                (workspace / "made.txt").unlink()
    first = recorder.permissions[0]
    assert [o.kind for o in first.options] == ["allow_once", "allow_always", "reject_once"]
    always = first.options[1]
    assert always.name.startswith("Always allow `touch") and always.name.endswith("`")
    assert first.tool_call.kind == "execute" and first.tool_call.raw_input["command"] == command
    starts = recorder.of(sid, "tool_call")
    assert [t.kind for t in starts] == ["execute", "execute"]
    assert starts[0].title == command
    final = recorder.tool_updates(sid, starts[0].tool_call_id)[-1]
    if choice == "reject_once":
        assert final.status == "failed" and not (workspace / "made.txt").exists()
        assert len(recorder.permissions) == 2
    else:
        # It ran in the workspace-write sandbox, under the cell's launcher.
        assert final.raw_output["sandbox"] == "workspaceWrite"
        launchers = (
            ("bwrap", "landlock") if sandbox_cell.launcher == "auto" else (sandbox_cell.launcher,)
        )
        assert final.raw_output["launcher"] in launchers
    if choice == "allow_always":
        assert final.status == "completed" and (workspace / "made.txt").exists()
        assert len(recorder.permissions) == 1  # the rule covered the second run
    elif choice == "allow_once":
        assert final.status == "completed" and len(recorder.permissions) == 2
    validate_transcript(recorder.wire)


@pytest.mark.sandbox_matrix
@pytest.mark.parametrize("choice", ["allow_once", "reject_once"])
async def test_a_file_change_is_approved_whole_in_read_only_mode(
    choice: str, env: dict[str, str], model_server: ModelServer, workspace: Path
) -> None:
    recorder = Recorder(chooser=pick(choice))
    model_server.enqueue(Reply(tool_calls=[ToolCall("edit_file", SWAP)]), Reply(text="done"))
    calc = workspace / "src" / "calc.py"
    async with tether_acp(recorder, env) as conn:
        session = await conn.new_session(cwd=str(workspace))
        await conn.prompt(
            session_id=session.session_id, prompt=[s.TextContentBlock(type="text", text="swap")]
        )
    (asked,) = recorder.permissions
    (diff,) = asked.tool_call.content
    assert diff.old_text == ORIGINAL and diff.new_text == SWAPPED
    assert [o.option_id for o in asked.options] == ["allow_once", "allow_always", "reject_once"]
    assert calc.read_text() == (SWAPPED if choice == "allow_once" else ORIGINAL)
    validate_transcript(recorder.wire)


async def test_cancel_stops_a_streaming_turn(
    recorder: Recorder, env: dict[str, str], model_server: ModelServer, workspace: Path
) -> None:
    model_server.enqueue(Reply(text="x" * 400, chunk_size=4, hold_after=10), Reply(text="again"))
    async with tether_acp(recorder, env) as conn:
        session = await conn.new_session(cwd=str(workspace))
        sid = session.session_id
        prompt = asyncio.create_task(
            conn.prompt(session_id=sid, prompt=[s.TextContentBlock(type="text", text="talk")])
        )
        await model_server.wait_held_async()
        await recorder.wait_until(lambda: bool(recorder.of(sid, "agent_message_chunk")))
        await conn.cancel(session_id=sid)
        done = await asyncio.wait_for(prompt, 10)
        assert done.stop_reason == "cancelled"
        again = await conn.prompt(
            session_id=sid, prompt=[s.TextContentBlock(type="text", text="more")]
        )
        assert again.stop_reason == "end_turn"
    validate_transcript(recorder.wire)


async def test_a_cancelled_permission_stops_the_turn(
    env: dict[str, str], model_server: ModelServer, workspace: Path
) -> None:
    recorder = Recorder(chooser=lambda _r: None)
    model_server.enqueue(Reply(tool_calls=[ToolCall("shell", {"command": "touch x"})]))
    async with tether_acp(recorder, env) as conn:
        session = await conn.new_session(cwd=str(workspace))
        done = await conn.prompt(
            session_id=session.session_id, prompt=[s.TextContentBlock(type="text", text="go")]
        )
    assert done.stop_reason == "cancelled" and not (workspace / "x").exists()


async def test_a_plan_is_a_plan_update(
    recorder: Recorder, env: dict[str, str], model_server: ModelServer, workspace: Path
) -> None:
    steps = [{"text": "read", "status": "completed"}, {"text": "edit", "status": "inProgress"}]
    model_server.enqueue(
        Reply(tool_calls=[ToolCall("update_plan", {"steps": steps})]), Reply(text="ok")
    )
    async with tether_acp(recorder, env) as conn:
        session = await conn.new_session(cwd=str(workspace))
        await conn.prompt(
            session_id=session.session_id, prompt=[s.TextContentBlock(type="text", text="plan")]
        )
    (plan,) = recorder.of(session.session_id, "plan")
    assert [(e.content, e.status) for e in plan.entries] == [
        ("read", "completed"),
        ("edit", "in_progress"),
    ]
    validate_transcript(recorder.wire)


async def test_load_and_resume_after_a_restart(
    env: dict[str, str], model_server: ModelServer, workspace: Path
) -> None:
    model_server.enqueue(
        Reply(tool_calls=[ToolCall("read_file", {"path": "src/calc.py"})]),
        Reply(text="It adds."),
        Reply(text="Still adds."),
        Reply(text="Resumed."),
    )
    first = Recorder()
    async with tether_acp(first, env) as conn:
        session = await conn.new_session(cwd=str(workspace))
        sid = session.session_id
        await conn.prompt(session_id=sid, prompt=[s.TextContentBlock(type="text", text="what?")])
    again = Recorder()
    async with tether_acp(again, env) as conn:
        listed = await conn.list_sessions(cwd=str(workspace))
        assert [i.session_id for i in listed.sessions] == [sid]
        assert listed.sessions[0].title == "what?"
        await conn.load_session(cwd=str(workspace), session_id=sid)
        assert again.text(sid, "user_message_chunk") == "what?"
        assert again.text(sid) == "It adds."
        (read,) = again.of(sid, "tool_call")
        assert read.kind == "read" and read.status == "completed"
        done = await conn.prompt(
            session_id=sid, prompt=[s.TextContentBlock(type="text", text="and?")]
        )
        assert done.stop_reason == "end_turn" and again.text(sid).endswith("Still adds.")
    third = Recorder()
    async with tether_acp(third, env) as conn:
        resumed = await conn.resume_session(cwd=str(workspace), session_id=sid)
        assert resumed.modes is not None
        assert third.updates == []  # resume does not replay
        await conn.prompt(session_id=sid, prompt=[s.TextContentBlock(type="text", text="more")])
        assert third.text(sid) == "Resumed."
        await conn.close_session(session_id=sid)
    # The model saw the whole history after the restarts.
    assert "It adds." in str(model_server.requests[-1].body)
    for r in (first, again, third):
        validate_transcript(r.wire)


async def test_the_model_is_a_config_option(
    recorder: Recorder, env: dict[str, str], model_server: ModelServer, workspace: Path
) -> None:
    model_server.enqueue(Reply(text="ok"))
    async with tether_acp(recorder, env) as conn:
        session = await conn.new_session(cwd=str(workspace))
        (option,) = session.config_options
        assert option.root.id == "model" if hasattr(option, "root") else option.id == "model"
        answer = await conn.set_config_option(
            config_id="model", session_id=session.session_id, value="other-model"
        )
        assert answer.config_options[0].current_value == "other-model"
        await conn.prompt(
            session_id=session.session_id, prompt=[s.TextContentBlock(type="text", text="hi")]
        )
    assert model_server.requests[-1].body["model"] == "other-model"
    validate_transcript(recorder.wire)


@pytest.mark.parametrize("offered", [True, False])
async def test_an_attached_file_is_read_through_the_client_when_it_offers(
    offered: bool, env: dict[str, str], model_server: ModelServer, workspace: Path
) -> None:
    calc = workspace / "src" / "calc.py"
    recorder = Recorder()
    recorder.buffers[str(calc)] = "def add(a, b):\n    return 'unsaved'\n"
    model_server.enqueue(Reply(text="seen"))
    capabilities = s.ClientCapabilities(
        fs=s.FileSystemCapabilities(read_text_file=offered, write_text_file=offered)
    )
    async with tether_acp(recorder, env, capabilities) as conn:
        session = await conn.new_session(cwd=str(workspace))
        link = s.ResourceContentBlock(type="resource_link", name="calc.py", uri=calc.as_uri())
        await conn.prompt(
            session_id=session.session_id,
            prompt=[s.TextContentBlock(type="text", text="look"), link],
        )
    sent = str(model_server.requests[-1].body)
    assert recorder.reads == ([str(calc)] if offered else [])
    assert ("return 'unsaved'" in sent) == offered and ("return a + b" in sent) != offered
    assert not any(
        m.get("method", "").startswith(("fs/write", "terminal/")) for _d, m in recorder.wire
    )
    validate_transcript(recorder.wire)


@pytest.mark.parametrize("offered", [True, False])
async def test_read_file_reads_the_client_buffer_inside_the_roots_when_it_offers(
    offered: bool, env: dict[str, str], model_server: ModelServer, workspace: Path
) -> None:
    calc = workspace / "src" / "calc.py"
    outside = workspace.parent / "notes.txt"
    outside.write_text("notes on disk\n")
    recorder = Recorder()
    recorder.buffers[str(calc)] = "def add(a, b):\n    return 'unsaved'\n"
    recorder.buffers[str(outside)] = "notes in the buffer\n"
    model_server.enqueue(
        Reply(tool_calls=[ToolCall("read_file", {"path": "src/calc.py"})]),
        Reply(tool_calls=[ToolCall("read_file", {"path": str(outside)})]),
        Reply(text="seen"),
    )
    capabilities = s.ClientCapabilities(
        fs=s.FileSystemCapabilities(read_text_file=offered, write_text_file=False)
    )
    async with tether_acp(recorder, env, capabilities) as conn:
        session = await conn.new_session(cwd=str(workspace))
        # Full access reads outside the roots without asking: only the roots reach the client.
        await conn.set_session_mode(session_id=session.session_id, mode_id="fullAccess")
        await conn.prompt(
            session_id=session.session_id, prompt=[s.TextContentBlock(type="text", text="read")]
        )
    inside_result, outside_result = model_server.requests[-1].tool_outputs().values()
    assert recorder.reads == ([str(calc)] if offered else [])
    assert ("return 'unsaved'" in inside_result) == offered
    assert ("return a + b" in inside_result) != offered
    assert "notes on disk" in outside_result and "in the buffer" not in outside_result
    validate_transcript(recorder.wire)


async def test_embedded_context_is_the_editor_text_of_the_file(
    recorder: Recorder, env: dict[str, str], model_server: ModelServer, workspace: Path
) -> None:
    calc = workspace / "src" / "calc.py"
    model_server.enqueue(Reply(text="seen"))
    async with tether_acp(recorder, env) as conn:
        session = await conn.new_session(cwd=str(workspace))
        embedded = s.EmbeddedResourceContentBlock(
            type="resource",
            resource=s.TextResourceContents(uri=calc.as_uri(), text="x = 'from the buffer'\n"),
        )
        await conn.prompt(
            session_id=session.session_id,
            prompt=[s.TextContentBlock(type="text", text="look"), embedded],
        )
    sent = str(model_server.requests[-1].body)
    assert "from the buffer" in sent and "return a + b" not in sent


@pytest.mark.sandbox_matrix
async def test_command_output_streams_as_terminal_output_when_the_client_asks(
    recorder: Recorder, env: dict[str, str], model_server: ModelServer, workspace: Path
) -> None:
    model_server.enqueue(
        Reply(tool_calls=[ToolCall("shell", {"command": "echo one; echo two"})]),
        Reply(text="ok"),
    )
    capabilities = s.ClientCapabilities(field_meta={"terminal_output": True})
    async with tether_acp(recorder, env, capabilities) as conn:
        session = await conn.new_session(cwd=str(workspace))
        await conn.set_session_mode(session_id=session.session_id, mode_id="agent")
        await conn.prompt(
            session_id=session.session_id, prompt=[s.TextContentBlock(type="text", text="echo")]
        )
    (start,) = recorder.of(session.session_id, "tool_call")
    assert [c.type for c in start.content] == ["terminal"]
    assert start.content[0].terminal_id == start.tool_call_id
    assert start.field_meta["terminal_info"]["cwd"] == str(workspace)
    chunks = recorder.tool_updates(session.session_id, start.tool_call_id)
    streamed = "".join(
        u.field_meta["terminal_output"]["data"]
        for u in chunks
        if u.field_meta and "terminal_output" in u.field_meta
    )
    assert streamed == "one\ntwo\n"
    assert chunks[-1].field_meta["terminal_exit"]["exit_code"] == 0
    validate_transcript(recorder.wire)


async def test_terminal_output_needs_the_capability_to_be_json_true(
    recorder: Recorder, env: dict[str, str], model_server: ModelServer, workspace: Path
) -> None:
    """As codex-acp reads `clientCapabilities._meta.terminal_output`: only `true` turns it on."""
    model_server.enqueue(
        Reply(tool_calls=[ToolCall("shell", {"command": "echo one"})]), Reply(text="ok")
    )
    capabilities = s.ClientCapabilities(field_meta={"terminal_output": "yes"})
    async with tether_acp(recorder, env, capabilities) as conn:
        session = await conn.new_session(cwd=str(workspace))
        await conn.set_session_mode(session_id=session.session_id, mode_id="agent")
        await conn.prompt(
            session_id=session.session_id, prompt=[s.TextContentBlock(type="text", text="echo")]
        )
    (start,) = recorder.of(session.session_id, "tool_call")
    assert start.field_meta is None and "terminal" not in [c.type for c in start.content or []]
    updates = recorder.tool_updates(session.session_id, start.tool_call_id)
    assert not any(u.field_meta for u in updates)
    assert "one" in str(updates[-1].content)


async def test_hook_trust_is_asked_about_a_tool_call_announced_first(
    recorder: Recorder, env: dict[str, str], model_server: ModelServer, workspace: Path
) -> None:
    marker = workspace / "hook-ran"
    hooks = {
        "UserPromptSubmit": [
            {"matcher": "", "hooks": [{"type": "command", "command": f"touch {marker}"}]}
        ]
    }
    (workspace / ".tether").mkdir()
    (workspace / ".tether" / "hooks.json").write_text(json.dumps({"hooks": hooks}))
    recorder.chooser = pick("allow_always")
    model_server.enqueue(Reply(text="ok"))
    async with tether_acp(recorder, env) as conn:
        session = await conn.new_session(cwd=str(workspace))
        await conn.set_session_mode(session_id=session.session_id, mode_id="agent")
        await conn.prompt(
            session_id=session.session_id, prompt=[s.TextContentBlock(type="text", text="hi")]
        )
    (asked,) = recorder.permissions
    call_id = asked.tool_call.tool_call_id
    (announced,) = [u for u in recorder.of(session.session_id, "tool_call")]
    assert announced.tool_call_id == call_id and announced.kind == "other"
    assert announced.title == "Trust this project's hooks?"
    assert announced.raw_input["commands"][0]["command"] == f"touch {marker}"
    announced_at = next(
        i
        for i, (_d, m) in enumerate(recorder.wire)
        if m.get("method") == "session/update"
        and m["params"]["update"].get("toolCallId") == call_id
    )
    asked_at = next(
        i
        for i, (_d, m) in enumerate(recorder.wire)
        if m.get("method") == "session/request_permission"
    )
    assert announced_at < asked_at
    assert recorder.tool_updates(session.session_id, call_id)[-1].status == "completed"
    assert marker.exists()
    validate_transcript(recorder.wire)


async def test_authenticate_succeeds_only_when_an_endpoint_is_configured(
    recorder: Recorder, env: dict[str, str]
) -> None:
    async with tether_acp(recorder, env) as conn:
        await conn.authenticate(method_id="openai-api-key")
    no_key = {k: v for k, v in env.items() if not k.startswith("OPENAI_")}
    async with tether_acp(Recorder(), no_key) as conn:
        with pytest.raises(RequestError) as refused:
            await conn.authenticate(method_id="openai-api-key")
    assert refused.value.code == -32000


PNG_B64 = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk"
    "+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


async def test_image_prompts_reach_the_model_and_a_bad_one_is_refused(
    recorder: Recorder, env: dict[str, str], model_server: ModelServer, workspace: Path
) -> None:
    model_server.enqueue(Reply(text="A white pixel."))
    async with tether_acp(recorder, env) as conn:
        init = await conn.initialize(protocol_version=1, client_capabilities=s.ClientCapabilities())
        assert init.agent_capabilities is not None
        prompt_caps = init.agent_capabilities.prompt_capabilities
        assert prompt_caps is not None and prompt_caps.image and prompt_caps.embedded_context
        session = await conn.new_session(cwd=str(workspace))
        image = s.ImageContentBlock(type="image", data=PNG_B64, mime_type="image/png")
        embedded = s.EmbeddedResourceContentBlock(
            type="resource",
            resource=s.BlobResourceContents(
                uri="file:///tmp/shot.png", blob=PNG_B64, mime_type="image/png"
            ),
        )
        done = await conn.prompt(
            session_id=session.session_id,
            prompt=[s.TextContentBlock(type="text", text="what is it"), image, embedded],
        )
        assert done.stop_reason == "end_turn"
        with pytest.raises(RequestError) as refused:
            bad = s.ImageContentBlock(type="image", data="bm90IGFuIGltYWdl", mime_type="image/png")
            await conn.prompt(session_id=session.session_id, prompt=[bad])
        assert "is not a PNG, JPEG, GIF or WebP image" in str(refused.value)
    url = f"data:image/png;base64,{PNG_B64}"
    assert model_server.requests[0].user_images()[-1] == [url, url]
    assert len(model_server.requests) == 1


async def test_edits_apply_to_the_client_buffer_and_write_on_disk(
    env: dict[str, str], model_server: ModelServer, workspace: Path
) -> None:
    """The buffer has an unsaved line the disk lacks: edit_file and apply_patch read it
    through fs/read_text_file, the result is written here (never fs/write_text_file), and a
    second edit of the same file in the turn builds on the disk, not on the stale buffer."""
    calc = workspace / "src" / "calc.py"
    unsaved = ORIGINAL + "\n\ndef mul(a, b):\n    return a * b\n"
    recorder = Recorder()
    recorder.buffers[str(calc)] = unsaved
    patch = (
        "*** Begin Patch\n*** Update File: src/calc.py\n@@ def mul(a, b):\n"
        "-    return a * b\n+    return b * a\n*** End Patch"
    )
    model_server.enqueue(
        Reply(tool_calls=[ToolCall("edit_file", SWAP, call_id="e")]),
        Reply(tool_calls=[ToolCall("apply_patch", {"patch": patch}, call_id="p")]),
        Reply(text="done"),
    )
    capabilities = s.ClientCapabilities(
        fs=s.FileSystemCapabilities(read_text_file=True, write_text_file=True)
    )
    async with tether_acp(recorder, env, capabilities) as conn:
        session = await conn.new_session(cwd=str(workspace))
        await conn.set_session_mode(session_id=session.session_id, mode_id="agent")
        await conn.prompt(
            session_id=session.session_id, prompt=[s.TextContentBlock(type="text", text="edit")]
        )
    assert recorder.reads == [str(calc)]  # once: after the write the disk is newer
    assert calc.read_text() == unsaved.replace("a + b", "b + a").replace("a * b", "b * a")
    assert not any(m.get("method", "").startswith("fs/write") for _d, m in recorder.wire)


async def test_search_reads_the_client_buffer_of_the_files_it_matched(
    env: dict[str, str], model_server: ModelServer, workspace: Path
) -> None:
    """rg finds `return` on disk in calc.py; the client's buffer of it has one more (unsaved)
    function, so its matches come from the buffer, with the buffer's line numbers."""
    calc = workspace / "src" / "calc.py"
    recorder = Recorder()
    recorder.buffers[str(calc)] = (
        "# unsaved header\n" + ORIGINAL + "\n\ndef mul(a, b):\n    return a * b\n"
    )
    model_server.enqueue(
        Reply(tool_calls=[ToolCall("search", {"pattern": "return", "glob": "*.py"}, call_id="s")]),
        Reply(text="found"),
    )
    capabilities = s.ClientCapabilities(
        fs=s.FileSystemCapabilities(read_text_file=True, write_text_file=False)
    )
    async with tether_acp(recorder, env, capabilities) as conn:
        session = await conn.new_session(cwd=str(workspace))
        await conn.prompt(
            session_id=session.session_id, prompt=[s.TextContentBlock(type="text", text="find")]
        )
    output = model_server.requests[-1].tool_outputs()["s"]
    assert output.splitlines() == [
        "src/calc.py:3:    return a + b",
        "src/calc.py:7:    return a - b",
        "src/calc.py:11:    return a * b",
    ]
    assert recorder.reads == [str(calc)]
