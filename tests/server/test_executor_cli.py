"""`tether executor manifest` refuses what would make a Pod that cannot start (no image, a root
that is not a directory), saying what to pass; no engine needed."""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.cli import run_tether


def test_a_missing_root_or_image_is_refused(tmp_path: Path) -> None:
    home = tmp_path / "home"
    gone = tmp_path / "gone"
    missing = run_tether(
        "executor", ["manifest", "--cd", str(gone), "--image", "i:1"], {}, tmp_path, home
    )
    assert missing.returncode == 2 and missing.stdout == ""
    assert f"not a directory: {gone}; pass --cd/--add-dir an existing one" in missing.stderr
    no_image = run_tether("executor", ["manifest"], {}, tmp_path, home)
    assert no_image.returncode == 2 and "pass --image" in no_image.stderr
    made = run_tether("executor", ["manifest", "--image", "i:1"], {}, tmp_path, home)
    assert made.returncode == 0, made.stderr
    volumes = yaml.safe_load(made.stdout)["spec"]["volumes"]
    assert {"path": str(tmp_path.resolve()), "type": "Directory"} in [
        v.get("hostPath") for v in volumes
    ]
