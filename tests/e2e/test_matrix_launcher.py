"""In every cell of the sandbox matrix, the server runs the launcher the cell stands for and says
so in `initialize` (tests/conftest.py describes the cells)."""

from __future__ import annotations

import os
from pathlib import Path

from tests.conftest import SandboxCell
from tests.e2e.raw import RawServer


async def test_initialize_names_the_launcher_in_force(
    tmp_path: Path, sandbox_cell: SandboxCell
) -> None:
    forced = os.environ.get("TETHER_SANDBOX_LAUNCHER")
    server = await RawServer.start(
        tmp_path / "home", {"TETHER_SANDBOX_LAUNCHER": forced} if forced else {}
    )
    try:
        server.send(
            {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"capabilities": {}}}
        )
        tether = (await server.response(1, timeout=60))["result"]["capabilities"]["experimental"][
            "tether"
        ]
    finally:
        await server.close()
    info = tether["sandboxLauncher"]
    expected = "landlock" if sandbox_cell.userns_blocked else sandbox_cell.launcher
    if expected == "auto":
        expected = info["name"]  # outside the matrix: whatever is strongest here
    assert (info["name"], tether["sandbox"]) == (expected, expected), info
    assert info["guarantees"], info
    assert info["weakerThanBwrap"] == (expected != "bwrap")
    if expected == "landlock":
        assert any("guarded, not locked" in line for line in info["guarantees"]), info
    if sandbox_cell.userns_blocked:
        # bwrap is installed but cannot make its namespaces: the user is told why and what to do.
        assert any(line.startswith("bwrap: bwrap cannot create") for line in info["passedOver"])


async def test_config_toml_chooses_the_launcher_and_a_bad_value_falls_back(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    for setting, expected in (("none", "none"), ("bubblewrap", None)):
        (home / "config.toml").write_text(f'sandbox_launcher = "{setting}"\n')
        server = await RawServer.start(home)
        try:
            server.send(
                {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"capabilities": {}}}
            )
            caps = (await server.response(1, timeout=60))["result"]["capabilities"]
        finally:
            await server.close()
        info = caps["experimental"]["tether"]["sandboxLauncher"]
        if expected is None:  # "bubblewrap" is no setting: the default (auto) applies
            assert info["setting"] == "auto", info
        else:
            assert (info["name"], info["setting"]) == (expected, setting), info
            assert "not tried, sandbox_launcher is set to none" in info["passedOver"][0]
