"""`tether hooks list`."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from server.hooks.cli import hooks_main
from server.hooks.config import TrustStore, load_hooks


def test_list_shows_sources_commands_and_trust(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home, root = tmp_path / "home", tmp_path / "ws"
    (root / ".tether").mkdir(parents=True)
    home.mkdir()
    group = [{"matcher": "Bash", "hooks": [{"type": "command", "command": "echo hi"}]}]
    (home / "hooks.json").write_text(json.dumps({"hooks": {"PreToolUse": group}}))
    (root / ".tether" / "hooks.json").write_text(json.dumps({"hooks": {"Stop": group}}))
    monkeypatch.setenv("TETHER_HOME", str(home))

    out = io.StringIO()
    assert hooks_main(["list", "--cd", str(root)], out) == 0
    text = out.getvalue()
    assert f"{home / 'hooks.json'} (user): runs" in text
    assert "PreToolUse [Bash]: echo hi (timeout 60 s)" in text
    assert "(project): off until you trust it" in text

    project = load_hooks(home, [root]).sources[1]
    TrustStore(home).remember(project, trusted=True)
    out = io.StringIO()
    hooks_main(["list", "--cd", str(root), "--json"], out)
    listed = json.loads(out.getvalue())
    assert [(s["scope"], s["trust"]) for s in listed["sources"]] == [
        ("user", "trusted"),
        ("project", "trusted"),
    ]
