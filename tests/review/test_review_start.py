"""`review/start` against the real server and the scripted model: the diff of each target as the
model received it (staged, unstaged and untracked files; a branch with and without upstream; a
commit; a Tether turn that ran a command), the review item built from the schema JSON, findings
outside the diff dropped, a malformed answer corrected once or failing the turn, and a review
turn that has no edit tools and runs only known-safe commands."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

import pytest

from protocol.findings import (
    BaseBranchTarget,
    CommitTarget,
    ReviewTarget,
    TurnTarget,
    UncommittedChangesTarget,
)
from protocol.item import CommandExecutionItem, ReviewItem
from tests.conftest import SandboxCell
from tests.model_server import Fault, ModelServer, RecordedRequest, Reply, ToolCall
from tests.review.conftest import git
from tether_sdk import Tether, TurnResult

BUG = {
    "title": "add() subtracts",
    "body": "`add(2, 1)` now returns 1.",
    "priority": 1,
    "confidence_score": 0.9,
    "path": "src/calc.py",
    "line_start": 2,
    "line_end": 2,
    "suggestion": "    return a + b",
}
OUTSIDE = {**BUG, "title": "README is short", "path": "README.md", "line_start": 1, "line_end": 1}


def answer(*findings: dict[str, Any], correct: bool = False) -> str:
    return json.dumps(
        {
            "findings": list(findings),
            "overall_correctness": "patch is correct" if correct else "patch is incorrect",
            "overall_explanation": "add() is broken." if findings else "Looks right.",
            "overall_confidence_score": 0.8,
        }
    )


def env_for(model_server: ModelServer, home: Path) -> dict[str, str]:
    return {**model_server.env(), "TETHER_HOME": str(home)}


async def review(
    repo: Path, model_server: ModelServer, home: Path, target: ReviewTarget
) -> TurnResult:
    async with Tether(repo, mode="agent", env=env_for(model_server, home)) as t:
        return await (await t.start_thread()).review(target)


def diff_sent(request: RecordedRequest) -> str:
    return request.user_texts()[-1]


def plant_bug(repo: Path) -> None:
    calc = repo / "src" / "calc.py"
    calc.write_text(calc.read_text().replace("a + b", "a - b"))


async def test_uncommitted_changes_staged_unstaged_and_untracked(
    repo: Path, model_server: ModelServer, tmp_path: Path
) -> None:
    plant_bug(repo)  # unstaged
    (repo / "README.md").write_text("# calc\n\nStaged line.\n")
    git(repo, "add", "README.md")
    (repo / "src" / "fresh.py").write_text("UNTRACKED = 1\n")
    (repo / "debug.log").write_text("ignored\n")
    model_server.enqueue(Reply(text=answer(BUG)))
    result = await review(repo, model_server, tmp_path / "home", UncommittedChangesTarget())
    assert result.status == "completed", result.error
    sent = diff_sent(model_server.requests[0])
    assert "-    return a + b\n+    return a - b" in sent
    assert "+Staged line." in sent
    assert "+++ src/fresh.py" in sent and "+UNTRACKED = 1" in sent
    assert "debug.log" not in sent
    item = result.review
    assert isinstance(item, ReviewItem) and item.target == UncommittedChangesTarget()
    (finding,) = item.findings
    assert finding.path == str(repo / "src" / "calc.py")
    assert (finding.range.start, finding.range.end) == (1, 1)  # 0-based
    assert finding.priority == 1 and finding.confidence_score == 0.9
    assert finding.suggestion == "    return a + b"
    assert item.overall_correctness == "patchIsIncorrect"
    assert item.findings[0].id != item.id


async def test_findings_outside_the_diff_are_dropped(
    repo: Path, model_server: ModelServer, tmp_path: Path
) -> None:
    plant_bug(repo)
    far = {**BUG, "title": "mul is fine", "line_start": 6, "line_end": 6}  # unchanged lines
    model_server.enqueue(Reply(text=answer(OUTSIDE, far, BUG)))
    result = await review(repo, model_server, tmp_path / "home", UncommittedChangesTarget())
    assert result.review is not None
    assert [f.title for f in result.review.findings] == ["add() subtracts"]
    assert result.review.dropped_findings == 2


@pytest.mark.sandbox_matrix
async def test_the_review_turn_reads_but_cannot_edit_or_run_other_commands(
    repo: Path, model_server: ModelServer, tmp_path: Path, sandbox_cell: SandboxCell
) -> None:
    plant_bug(repo)
    model_server.enqueue(
        Reply(
            tool_calls=[
                ToolCall("shell", {"command": "git log --oneline"}, call_id="safe"),
                ToolCall("shell", {"command": "touch planted"}, call_id="write"),
            ]
        ),
        Reply(text=answer(BUG)),
    )
    result = await review(repo, model_server, tmp_path / "home", UncommittedChangesTarget())
    first, second = model_server.requests
    assert sorted(first.tools) == ["list_dir", "read_file", "search", "shell"]
    assert first.output_format is not None and first.output_format["strict"] is True
    assert "Report only bugs the change introduces" in first.instructions
    commands = [i for i in result.items if isinstance(i, CommandExecutionItem)]
    assert [(c.command, c.status) for c in commands] == [
        ("git log --oneline", "completed"),
        ("touch planted", "declined"),
    ]
    assert commands[0].sandbox == "readOnly"
    if sandbox_cell.launcher != "auto":
        assert commands[0].launcher == sandbox_cell.launcher
    assert "calc" in second.tool_outputs()["safe"]
    assert "known-safe read-only commands" in second.tool_outputs()["write"]
    assert not (repo / "planted").exists()


async def test_a_malformed_answer_is_corrected_once(
    repo: Path, model_server: ModelServer, tmp_path: Path
) -> None:
    plant_bug(repo)
    model_server.enqueue(Reply(text="Found one bug: add subtracts."), Reply(text=answer(BUG)))
    result = await review(repo, model_server, tmp_path / "home", UncommittedChangesTarget())
    assert result.status == "completed" and result.review is not None
    assert len(result.review.findings) == 1
    assert "the answer is not a JSON value" in model_server.requests[1].user_texts()[-1]


async def test_an_answer_malformed_twice_fails_the_review(
    repo: Path, model_server: ModelServer, tmp_path: Path
) -> None:
    plant_bug(repo)
    model_server.enqueue(Reply(text="not json"), Reply(text='{"findings": []}'))
    result = await review(repo, model_server, tmp_path / "home", UncommittedChangesTarget())
    assert result.status == "failed" and result.review is None
    assert result.error == (
        "The review's answer could not be read: the answer does not match the schema: "
        "$.overall_correctness is missing."
    )


async def test_base_branch_without_upstream_diffs_from_the_merge_base(
    repo: Path, model_server: ModelServer, tmp_path: Path
) -> None:
    git(repo, "checkout", "-q", "-b", "feature")
    plant_bug(repo)
    git(repo, "commit", "-q", "-am", "break add")
    git(repo, "checkout", "-q", "main")
    (repo / "README.md").write_text("# calc\n\nmain moved on\n")
    git(repo, "commit", "-q", "-am", "main moves")
    git(repo, "checkout", "-q", "feature")
    model_server.enqueue(Reply(text=answer(BUG)))
    result = await review(repo, model_server, tmp_path / "home", BaseBranchTarget(branch="main"))
    sent = diff_sent(model_server.requests[0])
    assert "+    return a - b" in sent
    assert "main moved on" not in sent  # main's own later commit is not the feature's change
    assert result.review is not None and len(result.review.findings) == 1


async def test_base_branch_with_upstream_diffs_from_the_upstream(
    repo: Path, model_server: ModelServer, tmp_path: Path
) -> None:
    first = git(repo, "rev-parse", "HEAD")
    plant_bug(repo)
    git(repo, "commit", "-q", "-am", "break add, not pushed")
    git(repo, "remote", "add", "origin", str(tmp_path / "never-fetched.git"))
    git(repo, "update-ref", "refs/remotes/origin/main", first)
    git(repo, "config", "branch.main.remote", "origin")
    git(repo, "config", "branch.main.merge", "refs/heads/main")
    model_server.enqueue(Reply(text=answer()))
    result = await review(repo, model_server, tmp_path / "home", BaseBranchTarget(branch="main"))
    sent = diff_sent(model_server.requests[0])
    assert "Changes against origin/main" in sent and "+    return a - b" in sent
    assert result.review is not None and result.review.findings == []


async def test_a_commit(repo: Path, model_server: ModelServer, tmp_path: Path) -> None:
    plant_bug(repo)
    git(repo, "commit", "-q", "-am", "break add")
    sha = git(repo, "rev-parse", "HEAD")
    (repo / "README.md").write_text("later\n")
    git(repo, "commit", "-q", "-am", "later")
    model_server.enqueue(Reply(text=answer(BUG)))
    result = await review(repo, model_server, tmp_path / "home", CommitTarget(sha=sha[:8]))
    sent = diff_sent(model_server.requests[0])
    assert "break add" in sent and "+    return a - b" in sent and "later" not in sent
    assert result.review is not None
    assert result.review.target == CommitTarget(sha=sha[:8], title="break add")


@pytest.mark.sandbox_matrix
async def test_a_turn_that_ran_a_command(
    repo: Path, model_server: ModelServer, tmp_path: Path
) -> None:
    model_server.enqueue(
        Reply(
            tool_calls=[ToolCall("shell", {"command": "sed -i 's/a \\* b/a ** b/' src/calc.py"})]
        ),
        Reply(text="Changed mul."),
        Reply(text=answer({**BUG, "title": "mul powers", "line_start": 6, "line_end": 6})),
    )
    (repo / "src" / "other.py").write_text("changed by the user, not the turn\n")
    async with Tether(repo, mode="agent", env=env_for(model_server, tmp_path / "home")) as t:
        thread = await t.start_thread()
        turn = await thread.run("make mul a power")
        assert turn.status == "completed", turn.error
        result = await thread.review(TurnTarget(turn_id=turn.turn_id))
    sent = diff_sent(model_server.requests[2])
    assert sent.startswith("Review: Changes of the turn “make mul a power”.")
    assert "-    return a * b\n+    return a ** b" in sent
    assert "other.py" not in sent
    assert result.review is not None
    assert [f.title for f in result.review.findings] == ["mul powers"]


async def test_an_unknown_commit_is_refused(
    repo: Path, model_server: ModelServer, tmp_path: Path
) -> None:
    from tether_sdk import TetherError

    async with Tether(repo, env=env_for(model_server, tmp_path / "home")) as t:
        thread = await t.start_thread()
        try:
            await thread.review(CommitTarget(sha="deadbeef"))
        except TetherError as exc:
            assert exc.code == -32602 and "deadbeef" in str(exc)
        else:
            raise AssertionError("review/start accepted an unknown commit")
        target = {"type": "commit", "sha": "deadbeef"}
        try:
            await t.request(
                "review/start", {"threadId": thread.id, "target": target, "delivery": "detached"}
            )
        except TetherError as exc:
            assert exc.code == -32602
        listed = await t.request("thread/list", {})
    assert [th["id"] for th in listed["threads"]] == [thread.id]  # no detached thread left over
    assert model_server.requests == []


async def test_a_detached_review_runs_on_a_new_readonly_thread(
    repo: Path, model_server: ModelServer, tmp_path: Path
) -> None:
    import asyncio

    plant_bug(repo)
    model_server.enqueue(Reply(text=answer(BUG)))
    async with Tether(repo, mode="agent", env=env_for(model_server, tmp_path / "home")) as t:
        thread = await t.start_thread()
        started = await t.request(
            "review/start",
            {
                "threadId": thread.id,
                "target": {"type": "uncommittedChanges"},
                "delivery": "detached",
            },
        )
        review_thread = started["reviewThreadId"]
        assert review_thread != thread.id and started["turn"]["threadId"] == review_thread
        read = await t.request("thread/read", {"threadId": review_thread})
        for _ in range(200):  # until the turn has ended (thread/read is the record)
            if read["turns"] and read["turns"][-1]["status"] != "inProgress":
                break
            await asyncio.sleep(0.05)
            read = await t.request("thread/read", {"threadId": review_thread})
        original = await t.request("thread/read", {"threadId": thread.id})
    assert read["thread"]["mode"] == "readOnly"
    (turn,) = read["turns"]
    assert turn["status"] == "completed"
    review_item = turn["items"][-1]
    assert review_item["type"] == "review" and review_item["findings"][0]["title"] == BUG["title"]
    assert original["turns"] == [] and original["thread"]["mode"] == "agent"


async def test_the_review_item_survives_a_restart(
    repo: Path, model_server: ModelServer, tmp_path: Path
) -> None:
    plant_bug(repo)
    model_server.enqueue(Reply(text=answer(BUG)))
    env = env_for(model_server, tmp_path / "home")
    async with Tether(repo, env=env) as t:
        thread = await t.start_thread()
        done = await thread.review(UncommittedChangesTarget())
    async with Tether(repo, env=env) as t:
        resumed = await t.resume_thread(thread.id)
    assert resumed.turns[-1].items[-1] == done.review


async def test_a_workspace_inside_the_repository(
    repo: Path, model_server: ModelServer, tmp_path: Path
) -> None:
    """The thread works in repo/src; the model names the file from there: the finding is kept,
    with its absolute path, and one on a file outside the diff is still dropped."""
    plant_bug(repo)
    from_src = {**BUG, "path": "calc.py"}
    model_server.enqueue(Reply(text=answer(from_src, {**OUTSIDE, "path": "../README.md"})))
    result = await review(repo / "src", model_server, tmp_path / "home", UncommittedChangesTarget())
    assert "+++ src/calc.py" in diff_sent(model_server.requests[0])
    assert result.review is not None
    assert [f.path for f in result.review.findings] == [str(repo / "src" / "calc.py")]
    assert result.review.dropped_findings == 1


@pytest.mark.parametrize("wire_api", ["responses", "chat"])
async def test_an_endpoint_without_structured_output_gets_the_schema_in_the_prompt(
    repo: Path, model_server: ModelServer, tmp_path: Path, wire_api: Literal["responses", "chat"]
) -> None:
    """The endpoint refuses `text.format` / `response_format`: the review asks for the JSON in
    its instructions instead, reads it from the text (a fence around it allowed), and a first
    answer that is not JSON still gets its one correction."""
    plant_bug(repo)
    model_server.enqueue(
        Fault.unsupported_output_format(),
        Reply(text="I found one bug."),
        Reply(text=f"```json\n{answer(BUG)}\n```"),
    )
    env = {**model_server.env(wire_api), "TETHER_HOME": str(tmp_path / "home")}
    async with Tether(repo, mode="agent", env=env) as t:
        result = await (await t.start_thread()).review(UncommittedChangesTarget())
    assert result.status == "completed", result.error
    assert result.review is not None and [f.title for f in result.review.findings] == [BUG["title"]]
    refused, plain, corrected = model_server.requests
    assert refused.outcome == "status" and refused.output_format is not None
    for request in (plain, corrected):
        assert request.output_format is None
        assert '"overall_correctness"' in request.instructions
    assert "the answer is not a JSON value" in corrected.user_texts()[-1]
