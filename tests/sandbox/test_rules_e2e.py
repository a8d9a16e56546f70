"""A forbid rule in fullAccess, through the real server and a scripted model (issue 12, point 7).

fullAccess has no sandbox, so `forbid rm` is the only thing between the model and the file.
Piping the command into bash must not walk around it: the user is asked, and when they decline
the file stays. The control: plain `rm -f x` is refused outright, without asking.
"""

from __future__ import annotations

from pathlib import Path

from tests.e2e.harness import start_tether, stop_tether
from tests.model_server import ModelServer, Reply, ToolCall


async def test_forbid_rule_holds_against_a_piped_shell_in_full_access(
    model_server: ModelServer, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "rules.toml").write_text('[[rules]]\nprefix = ["rm"]\ndecision = "forbid"\n')
    workspace = tmp_path / "ws"
    workspace.mkdir()
    (workspace / "x").write_text("keep me\n")
    tether = await start_tether(model_server.env(), home)  # the default approver declines
    try:
        thread = await tether.start_thread(workspace, mode="fullAccess")
        outputs: dict[str, str] = {}
        asked: dict[str, list[str]] = {}
        for call_id, command in (("piped", "echo 'rm -f x' | bash"), ("plain", "rm -f x")):
            tether.approvals.clear()
            call = ToolCall("shell", {"command": command}, call_id=call_id)
            model_server.enqueue(Reply(tool_calls=[call]), Reply(text="ok"))
            await tether.run_turn(thread["id"], command)
            outputs[call_id] = model_server.requests[-1].tool_outputs()[call_id]
            asked[call_id] = [str(params.get("command")) for _, params in tether.approvals]

        assert asked["piped"] == ["echo 'rm -f x' | bash"], outputs["piped"]
        assert "declined" in outputs["piped"]
        assert asked["plain"] == [], outputs["plain"]
        assert "forbidden" in outputs["plain"]
        assert (workspace / "x").read_text() == "keep me\n"
    finally:
        await stop_tether(tether)
