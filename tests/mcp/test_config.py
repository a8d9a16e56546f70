"""MCP configuration: Codex's keys, .mcp.json with ${VAR:-default}, overlays, trust digests."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from server.mcp.config import ConfigProblem, expand, load_mcp_config, mcp_trust, parse_server
from tests.mcp.setup import write_user_config


def test_codex_keys(tmp_path: Path) -> None:
    write_user_config(
        tmp_path,
        {
            "fs": {
                "command": "npx",
                "args": ["-y", "srv"],
                "env": {"A": "1"},
                "env_vars": ["HOME"],
                "cwd": "/tmp",
                "required": True,
                "startup_timeout_sec": 5,
                "tool_timeout_sec": 7.5,
                "enabled_tools": ["a", "b"],
                "disabled_tools": ["b"],
                "network": True,
                "sandbox": "none",
                "default_tools_approval_mode": "prompt",
                "tools": {"a": {"approval_mode": "approve"}},
            },
            "web": {
                "url": "http://127.0.0.1:1/mcp",
                "bearer_token_env_var": "TOK",
                "http_headers": {"X-A": "b"},
                "env_http_headers": {"X-B": "VAR"},
                "enabled": False,
            },
        },
    )
    config = load_mcp_config(tmp_path, [], {})
    assert config.problems == []
    fs, web = config.servers["fs"], config.servers["web"]
    assert (fs.command, fs.args, dict(fs.env), fs.env_vars) == (
        "npx",
        ("-y", "srv"),
        {"A": "1"},
        ("HOME",),
    )
    assert fs.required and fs.network and not fs.sandboxed and fs.transport == "stdio"
    assert (fs.startup_timeout_s, fs.tool_timeout_s) == (5.0, 7.5)
    assert fs.offers("a") and not fs.offers("b") and not fs.offers("c")
    assert fs.approval_of("a") == "approve" and fs.approval_of("z") == "prompt"
    assert web.transport == "http" and not web.enabled and web.bearer_token_env_var == "TOK"
    assert dict(web.http_headers) == {"X-A": "b"} and not web.project


def test_defaults() -> None:
    d = parse_server("s", {"command": "x"}, "f", False)
    assert (d.startup_timeout_s, d.tool_timeout_s, d.enabled, d.required) == (
        30.0,
        120.0,
        True,
        False,
    )
    assert d.sandboxed and not d.network and d.approval_of("t") == "auto"


@pytest.mark.parametrize(
    ("entry", "words"),
    [
        ({}, "either `command`"),
        ({"command": "x", "url": "http://a"}, "either `command`"),
        ({"command": "x", "bogus": 1}, "unknown key(s) bogus"),
        ({"command": ["x"]}, "`command` must be a non-empty string"),
        ({"command": "x", "args": "a b"}, "`args` must be a list of strings"),
        ({"command": "x", "startup_timeout_sec": 0}, "positive number"),
        ({"command": "x", "enabled": "yes"}, "true or false"),
        ({"url": "ftp://a"}, "must start with http"),
        ({"url": "http://a", "args": []}, "for stdio servers only"),
        ({"command": "x", "bearer_token_env_var": "T"}, "for HTTP servers only"),
        ({"command": "x", "sandbox": "read-only"}, 'only "none"'),
        ({"command": "x", "tools": {"t": {"approval_mode": "never"}}}, "approval_mode"),
        ({"command": "x", "type": "sse"}, "sse is not"),
    ],
)
def test_bad_entries_are_left_out_with_a_reason(
    tmp_path: Path, entry: dict[str, object], words: str
) -> None:
    write_user_config(tmp_path, {"bad": entry, "good": {"command": "ok"}})
    config = load_mcp_config(tmp_path, [], {})
    assert list(config.servers) == ["good"]
    (problem,) = config.problems
    assert "server `bad`" in problem and words in problem and "left out" in problem


def test_bad_names_and_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigProblem):
        parse_server("a b", {"command": "x"}, "f", False)
    (tmp_path / "config.toml").write_text("[mcp_servers\n")
    config = load_mcp_config(tmp_path, [], {})
    assert config.servers == {} and "not read" in config.problems[0]


def test_expansion() -> None:
    env = {"A": "1", "EMPTY": ""}
    assert expand("${A}/${B:-two}/${EMPTY:-d}/$A", env) == "1/two/d/$A"
    assert expand("${B:-}x", env) == "x"
    with pytest.raises(ConfigProblem, match=r"\$\{B\} is not set"):
        expand("${B}", env)


def test_mcp_json_is_a_project_source_and_expands(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    root.mkdir()
    (root / ".mcp.json").write_text(
        json.dumps(
            {
                "mcpServers": {
                    "db": {
                        "command": "${BIN:-dbserver}",
                        "args": ["--dsn", "${DSN}"],
                        "env": {"K": "${K:-v}"},
                    },
                    "api": {"type": "http", "url": "https://${HOST}/mcp", "headers": {"A": "b"}},
                    "broken": {"command": "x", "args": ["${MISSING}"]},
                }
            }
        )
    )
    config = load_mcp_config(tmp_path / "home", [root], {"DSN": "pg://x", "HOST": "h.example"})
    db, api = config.servers["db"], config.servers["api"]
    assert db.project and db.source == str(root / ".mcp.json")
    assert (db.command, db.args, dict(db.env)) == ("dbserver", ("--dsn", "pg://x"), {"K": "v"})
    assert api.url == "https://h.example/mcp" and dict(api.http_headers) == {"A": "b"}
    assert "broken" not in config.servers and "${MISSING}" in config.problems[0]
    # The digest covers the definition as written, not the expanded values.
    again = load_mcp_config(tmp_path / "home", [root], {"DSN": "other", "HOST": "h.example"})
    assert again.servers["db"].digest == db.digest


def test_workspace_toml_overrides_and_user_overlay(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    (root / ".tether").mkdir(parents=True)
    (root / ".mcp.json").write_text(json.dumps({"mcpServers": {"s": {"command": "from-json"}}}))
    (root / ".tether" / "config.toml").write_text('[mcp_servers.s]\ncommand = "from-toml"\n')
    home = tmp_path / "home"
    write_user_config(home, {"s": {"tools": {"t": {"approval_mode": "approve"}}}})
    config = load_mcp_config(home, [root], {})
    s = config.servers["s"]
    assert s.command == "from-toml" and s.project and s.approval_of("t") == "approve"
    assert config.problems == []


def test_trust_by_digest(tmp_path: Path) -> None:
    a = parse_server("s", {"command": "x"}, "/ws/.mcp.json", True)
    changed = parse_server("s", {"command": "x", "args": ["evil"]}, "/ws/.mcp.json", True)
    user = parse_server("s", {"command": "x"}, "/home/config.toml", False)
    trust = mcp_trust(tmp_path)
    assert trust.state(user) == "trusted"  # the user's own file needs no trust
    assert trust.state(a) == "unknown"
    trust.remember(a, True)
    assert trust.state(a) == "trusted"
    assert trust.state(changed) == "unknown"  # any change asks again
    trust.remember(changed, False)
    assert trust.state(changed) == "declined" and trust.state(a) == "unknown"
    assert (tmp_path / "mcp-trust.json").is_file() and not (tmp_path / "hooks-trust.json").exists()
    assert a.digest != changed.digest and len(a.digest) == 64


def test_the_settings_reader_leaves_mcp_servers_alone(tmp_path: Path) -> None:
    from server.config import load_settings

    write_user_config(tmp_path, {"s": {"command": "x"}}, extra='model = "m"\n')
    settings = load_settings({"home": str(tmp_path)}, {})
    assert settings.model == "m" and settings.warnings == ()


def test_what_runs_is_shown_without_secrets() -> None:
    stdio = parse_server(
        "s",
        {
            "command": "srv",
            "args": ["--token", "abc", "--api-key=def", "PASSWORD=ghi", "--port", "1"],
        },
        "f",
        False,
    )
    assert stdio.display() == "srv --token *** --api-key=*** PASSWORD=*** --port 1"
    http = parse_server("h", {"url": "https://u:p@h.example/mcp?api_key=x&team=t"}, "f", False)
    assert http.display() == "https://***@h.example/mcp?api_key=***&team=t"
