"""`tether review` as a process, as a pre-push hook or CI job runs it: the findings printed or as
JSON, and the exit status (1 for a sure P0/P1 finding, 0 otherwise, 2 when the review failed)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.cli import run_tether
from tests.model_server import ModelServer, Reply
from tests.review.conftest import git
from tests.review.test_review_start import BUG, answer, plant_bug


def tether_review(
    args: list[str], model_server: ModelServer, cwd: Path, home: Path
) -> subprocess.CompletedProcess[str]:
    return run_tether("review", args, model_server.env(), cwd, home)


def test_a_sure_p1_finding_exits_1_and_prints_json(
    repo: Path, model_server: ModelServer, tmp_path: Path
) -> None:
    plant_bug(repo)
    model_server.enqueue(Reply(text=answer(BUG)))
    done = tether_review(["--json"], model_server, repo, tmp_path / "home")
    assert done.returncode == 1, done.stderr
    item = json.loads(done.stdout)
    assert item["type"] == "review" and item["target"] == {"type": "uncommittedChanges"}
    (finding,) = item["findings"]
    assert finding["path"] == str(repo / "src" / "calc.py")
    assert finding["range"] == {"start": 1, "end": 1}
    assert finding["confidenceScore"] == 0.9 and finding["priority"] == 1


def test_unsure_or_minor_findings_exit_0_and_print_text(
    repo: Path, model_server: ModelServer, tmp_path: Path
) -> None:
    plant_bug(repo)
    git(repo, "commit", "-q", "-am", "break add")
    unsure = {**BUG, "confidence_score": 0.5}
    minor = {**BUG, "title": "minor", "priority": 2, "confidence_score": 1.0}
    model_server.enqueue(Reply(text=answer(unsure, minor)))
    done = tether_review(["--commit", "HEAD"], model_server, repo, tmp_path / "home")
    assert done.returncode == 0, done.stderr
    assert "[P1] add() subtracts  src/calc.py:2  (confidence 0.50)" in done.stdout
    assert "[P2] minor  src/calc.py:2  (confidence 1.00)" in done.stdout
    assert "Overall: the change is incorrect (confidence 0.80). add() is broken." in done.stdout
    assert "+    return a - b" in model_server.requests[0].user_texts()[-1]


def test_a_review_that_cannot_run_exits_2(
    repo: Path, model_server: ModelServer, tmp_path: Path
) -> None:
    done = tether_review(["--base", "no-such-branch"], model_server, repo, tmp_path / "home")
    assert done.returncode == 2
    assert "no-such-branch" in done.stderr and done.stdout == ""


def test_a_custom_review_leaves_out_findings_outside_the_workspace(
    repo: Path, model_server: ModelServer, tmp_path: Path
) -> None:
    outside = {**BUG, "title": "elsewhere", "path": str(tmp_path / "elsewhere.py")}
    (tmp_path / "elsewhere.py").write_text("x = 1\n")
    model_server.enqueue(Reply(text=answer({**BUG, "line_start": 6, "line_end": 6}, outside)))
    done = tether_review(["--prompt", "look at mul"], model_server, repo, tmp_path / "home")
    assert done.returncode == 1, done.stderr  # the kept P1 at 0.9
    assert "[P1] add() subtracts  src/calc.py:6" in done.stdout and "elsewhere" not in done.stdout
    assert "(1 finding(s) outside the workspace left out.)" in done.stdout
    assert "look at mul" in model_server.requests[0].user_texts()[-1]
