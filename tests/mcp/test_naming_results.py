"""Tool names for the model, result conversion and its cap, the approval table, tool search,
and acceptAlways's edit of config.toml."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import mcp_types as types
import pytest

from sandbox.approval_policy import decide_mcp_tool
from server.mcp.approvals import remember_approve
from server.mcp.naming import model_tool_name, unique_names
from server.mcp.results import MODEL_TOKEN_CAP, cap_tokens, observe


def test_names_are_clean_and_short() -> None:
    assert model_tool_name("github", "create_issue") == "mcp__github__create_issue"
    assert model_tool_name("my server", "a.b/c") == "mcp__my_server__a_b_c"
    long = model_tool_name("s" * 40, "t" * 40)
    assert len(long) == 64 and re.fullmatch(r"[a-zA-Z0-9_-]+", long)
    assert long != model_tool_name("s" * 40, "t" * 41)  # the hash keeps them apart
    assert long == model_tool_name("s" * 40, "t" * 40)  # and stable
    names = unique_names("s", ["a.b", "a_b"])
    assert len(names) == 2 and set(names.values()) == {"a.b", "a_b"}
    assert all(len(n) <= 64 for n in names)


def test_results() -> None:
    result = types.CallToolResult(
        content=[
            types.TextContent(type="text", text="hello"),
            types.ImageContent(type="image", data="aGVsbG8=", mime_type="image/png"),
        ],
        structured_content={"a": 1},
    )
    seen = observe(result)
    assert seen.text.startswith("hello\n[image image/png, 6 bytes]")
    assert '{"a": 1}' in seen.text
    assert seen.images == (("image/png", "aGVsbG8="),)
    assert seen.result.content[1] == {"type": "image", "mimeType": "image/png"}  # no data
    assert not seen.result.is_error and not seen.result.truncated
    # structured content a text block already carries is not repeated
    same = observe(
        types.CallToolResult(
            content=[types.TextContent(type="text", text='{"a": 1}')], structured_content={"a": 1}
        )
    )
    assert same.text == '{"a": 1}'
    err = observe(
        types.CallToolResult(content=[types.TextContent(type="text", text="no")], is_error=True)
    )
    assert err.result.is_error and err.text == "The tool reported an error: no"


def test_cap() -> None:
    text = "x" * (MODEL_TOKEN_CAP * 4 + 1000)
    capped, truncated = cap_tokens(text)
    assert truncated and len(capped) < MODEL_TOKEN_CAP * 4 + 300
    assert "MCP results are capped at 25000 tokens" in capped
    assert cap_tokens("short") == ("short", False)


@pytest.mark.parametrize(
    ("mode", "read_only", "open_world", "approval", "expected"),
    [
        ("readOnly", True, False, "auto", "auto"),
        ("agent", True, False, "auto", "auto"),
        ("readOnly", True, True, "auto", "prompt"),
        ("agent", False, False, "auto", "prompt"),
        ("fullAccess", False, True, "auto", "auto"),
        ("readOnly", False, True, "approve", "auto"),
        ("fullAccess", True, False, "prompt", "prompt"),
    ],
)
def test_approval_table(
    mode: str, read_only: bool, open_world: bool, approval: str, expected: str
) -> None:
    action, reason = decide_mcp_tool(
        mode,  # type: ignore[arg-type]
        read_only_hint=read_only,
        open_world_hint=open_world,
        approval_mode=approval,  # type: ignore[arg-type]
    )
    assert action == expected and (reason is None) == (expected == "auto")


def test_accept_always_edits_config(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('# mine\nmodel = "m"\n\n[mcp_servers.s]\ncommand = "x"\n')
    remember_approve(tmp_path, "s", "do.it")
    remember_approve(tmp_path, "s", "do.it")  # again: no second table
    text = config.read_text()
    assert text.startswith('# mine\nmodel = "m"\n')
    data = tomllib.loads(text)
    assert data["mcp_servers"]["s"]["tools"]["do.it"] == {"approval_mode": "approve"}
    config.write_text('[mcp_servers.s.tools.t]\napproval_mode = "prompt"\n# keep\n')
    remember_approve(tmp_path, "s", "t")
    assert (
        tomllib.loads(config.read_text())["mcp_servers"]["s"]["tools"]["t"]["approval_mode"]
        == "approve"
    )
    assert "# keep" in config.read_text()
    config.write_text('mcp_servers = { s = { tools = { t = { approval_mode = "prompt" } } } }\n')
    before = config.read_text()
    with pytest.raises(ValueError, match="by hand"):
        remember_approve(tmp_path, "s", "t")
    assert config.read_text() == before  # nothing clobbered
    config.write_text("[broken\n")
    with pytest.raises(ValueError):
        remember_approve(tmp_path, "s", "t")
    assert config.read_text() == "[broken\n"


def test_available_tools_in_an_error_stay_short() -> None:
    from server.mcp.naming import available_tools

    names = ["read_file", "shell", *(f"mcp__s__t{i}" for i in range(300))]
    text = available_tools(names)
    assert text.startswith("read_file, shell, mcp__s__t0")
    assert text.endswith("mcp__s__t19 and 280 more MCP tools")
