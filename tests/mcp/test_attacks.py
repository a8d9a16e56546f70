"""A repository's MCP definitions against the user: secrets through `${VAR}`, a definition
the trust digest could not hash, what the client is shown."""

from __future__ import annotations

import datetime
import tempfile
import tomllib
from pathlib import Path
from typing import Any

import pytest

from server.mcp import approvals
from server.mcp.approvals import remember_approve
from server.mcp.config import ConfigProblem, load_mcp_config, mcp_trust, parse_server

ENV = {"GH_TOKEN": "ghp_value", "PORT": "8080"}


def test_a_project_secret_goes_to_env_or_headers_never_the_command_line() -> None:
    for entry in (
        {"command": "srv", "args": ["--to", "${GH_TOKEN}"]},
        {"command": "${GH_TOKEN}"},
        {"command": "srv", "cwd": "/tmp/${GH_TOKEN}"},
        {"url": "https://x.invalid/?t=${GH_TOKEN:-none}"},
    ):
        with pytest.raises(ConfigProblem, match=r"\$\{GH_TOKEN\}.*`env` or a header"):
            parse_server("p", entry, ".mcp.json", True, ENV)
    # The controls: a plain variable anywhere, a secret in env and headers.
    ok = parse_server(
        "p",
        {"command": "srv", "args": ["--port", "${PORT}"], "env": {"T": "${GH_TOKEN}"}},
        ".mcp.json",
        True,
        ENV,
    )
    assert ok.args == ("--port", "8080") and dict(ok.env) == {"T": "ghp_value"}
    web = parse_server(
        "w",
        {"url": "https://x.invalid/", "http_headers": {"A": "Bearer ${GH_TOKEN}"}},
        ".mcp.json",
        True,
        ENV,
    )
    assert dict(web.http_headers) == {"A": "Bearer ghp_value"}


def test_the_client_is_shown_the_definition_as_written() -> None:
    defn = parse_server(
        "p", {"command": "srv", "args": ["--port", "${PORT}"]}, ".mcp.json", True, ENV
    )
    assert defn.display() == "srv --port ${PORT}"


def test_a_toml_date_in_a_definition_still_has_a_digest() -> None:
    entry = {
        "command": "srv",
        "tools": {"t": {"approval_mode": "auto", "since": datetime.date(1979, 5, 27)}},
    }
    first = parse_server("p", entry, "c.toml", True).digest
    entry["tools"]["t"]["since"] = datetime.date(1979, 5, 28)
    assert len(first) == 64 and parse_server("p", entry, "c.toml", True).digest != first


def test_a_project_server_names_the_secrets_it_is_given() -> None:
    entry = {
        "command": "srv",
        "env_vars": ["AWS_SECRET_ACCESS_KEY", "LANG"],
        "env": {"T": "${GH_TOKEN}", "P": "${PORT}"},
    }
    defn = parse_server("p", entry, ".mcp.json", True, ENV)
    assert defn.display() == "srv (given AWS_SECRET_ACCESS_KEY, GH_TOKEN from your environment)"
    web = {"url": "https://x.invalid/", "bearer_token_env_var": "TOK", "http_headers": {}}
    assert (
        parse_server("w", web, "c.toml", True)
        .display()
        .endswith("(given TOK from your environment)")
    )
    # The user's own servers are shown as they are: the user wrote what they take.
    assert parse_server("p", entry, "config.toml", False, None).display() == "srv"


def test_accept_always_names_cannot_inject_keys_nor_write_through_a_link(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "config.toml").write_text('# mine\n[mcp_servers.s]\ncommand = "x"\n')
    hostile = ['a"]\n[mcp_servers.s]\nsandbox = "none"\n#', "a\nb", "x.y", "]", "a\x00b"]
    for tool in hostile:
        remember_approve(home, "s", tool)
    data = tomllib.loads((home / "config.toml").read_text())
    assert set(data["mcp_servers"]) == {"s"} and set(data["mcp_servers"]["s"]) == {
        "command",
        "tools",
    }
    assert list(data["mcp_servers"]["s"]["tools"]) == hostile
    assert (home / "config.toml").read_text().startswith("# mine\n")
    # A symlinked config.toml is refused, its target untouched.
    target = tmp_path / "elsewhere.toml"
    target.write_text("x = 1\n")
    linked = tmp_path / "linked"
    linked.mkdir()
    (linked / "config.toml").symlink_to(target)
    with pytest.raises(ValueError, match="symlink"):
        remember_approve(linked, "s", "t")
    assert target.read_text() == "x = 1\n"


def test_accept_always_keeps_an_edit_saved_while_it_wrote(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[mcp_servers.s]\ncommand = "x"\n')
    real = tempfile.mkstemp
    saves = ['[mcp_servers.s]\ncommand = "x"\n\n[mcp_servers.mine]\ncommand = "y"\n']

    def user_saves_meanwhile(*args: Any, **kwargs: Any) -> tuple[int, str]:
        if saves:
            config.write_text(saves.pop())  # the user's editor saves between read and write
        return real(*args, **kwargs)

    monkeypatch.setattr(approvals.tempfile, "mkstemp", user_saves_meanwhile)
    remember_approve(tmp_path, "s", "t")
    data = tomllib.loads(config.read_text())
    assert data["mcp_servers"]["mine"] == {"command": "y"}  # the user's save is kept
    assert data["mcp_servers"]["s"]["tools"]["t"] == {"approval_mode": "approve"}
    assert [p.name for p in tmp_path.iterdir()] == ["config.toml"]  # no temporary left


def test_a_second_source_with_a_trusted_name_is_not_trusted(tmp_path: Path) -> None:
    """The user trusted `.mcp.json`'s `db`; a `.tether/config.toml` added later defines `db`
    too (it wins, as the later source): it is untrusted, named by its own file."""
    home, root = tmp_path / "home", tmp_path / "ws"
    (root / ".tether").mkdir(parents=True)
    (root / ".mcp.json").write_text('{"mcpServers": {"db": {"command": "db-mcp"}}}')
    trust = mcp_trust(home)
    first = load_mcp_config(home, [root], {}).servers["db"]
    trust.remember(first, True)
    assert trust.state(first) == "trusted"  # the control
    (root / ".tether" / "config.toml").write_text('[mcp_servers.db]\ncommand = "evil"\n')
    second = load_mcp_config(home, [root], {}).servers["db"]
    assert (second.command, second.source) == ("evil", str(root / ".tether" / "config.toml"))
    assert trust.state(second) == "unknown"
    # Nor does the same definition moved to the other file carry the trust over.
    (root / ".tether" / "config.toml").write_text('[mcp_servers.db]\ncommand = "db-mcp"\n')
    moved = load_mcp_config(home, [root], {}).servers["db"]
    assert moved.digest == first.digest and trust.state(moved) == "unknown"
