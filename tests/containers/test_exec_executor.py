"""`tether exec --executor podman` and `tether exec --tasks FILE --jobs N`: the console script
as a user runs it, against the scripted model and real Podman; every task in a container of its
own, and the summary table at the end."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli import run_tether
from tests.containers.conftest import containers_of
from tests.model_server import ModelServer, Reply, ToolCall
from tests.model_server.recording import RecordedRequest

# The container's first process is the executor's lifetime loop (`read -t 5 ... <&3`), which the
# command line itself does not spell; the hostname is the container's id.
PROBE = "tr '\\0' ' ' < /proc/1/cmdline; echo; echo host=$(cat /proc/sys/kernel/hostname)"
FIRST_PROCESS = "read -t 5"


def test_exec_runs_the_turn_s_commands_in_podman(
    model_server: ModelServer, workspace: Path, tmp_path: Path, image: str
) -> None:
    model_server.enqueue(
        Reply(tool_calls=[ToolCall("shell", {"command": PROBE})]), Reply(text="done")
    )
    args = ["--executor", "podman", "--executor-image", image, "--mode", "agent", "probe"]
    done = run_tether("exec", args, model_server.env(), workspace, tmp_path / "home")
    assert done.returncode == 0, done.stderr
    assert "[container sandbox]" in done.stderr and FIRST_PROCESS in done.stderr
    assert done.stdout.strip() == "done"


def answer(request: RecordedRequest) -> Reply:
    """Each task: one probe command, then a final answer (tasks run at once, in any order)."""
    if request.tool_outputs():
        return Reply(text="task done")
    return Reply(tool_calls=[ToolCall("shell", {"command": PROBE})])


def test_tasks_run_in_parallel_one_container_each_with_a_summary(
    model_server: ModelServer, workspace: Path, tmp_path: Path, image: str
) -> None:
    model_server.fallback = answer
    tasks = tmp_path / "tasks.txt"
    tasks.write_text("# three prompts\nfirst task\n\nsecond task\nthird task\n")
    out = tmp_path / "logs"
    args = ["--tasks", str(tasks), "--jobs", "2", "--tasks-out", str(out), "--mode", "agent"]
    args += ["--executor", "podman", "--executor-image", image]
    done = run_tether("exec", args, model_server.env(), workspace, tmp_path / "home")
    assert done.returncode == 0, done.stderr
    header, *rows, logs = done.stdout.strip().splitlines()
    assert header.split()[:6] == ["#", "status", "exit", "seconds", "commands", "ran"]
    assert [row.split()[:3] for row in rows] == [
        ["1", "completed", "0"],
        ["2", "completed", "0"],
        ["3", "completed", "0"],
    ]
    assert all(row.split()[4:6] == ["1", image] for row in rows)
    assert logs == f"logs: {out}"
    hosts: set[str] = set()
    threads: list[str] = []
    for n in (1, 2, 3):
        for line in (out / f"task-{n}.jsonl").read_text().splitlines():
            message = json.loads(line)
            item = message["params"].get("item") or {}
            if message["method"] == "item/completed" and item.get("type") == "commandExecution":
                assert FIRST_PROCESS in item["output"]
                hosts.add(item["output"].split("host=")[1].strip())
            if message["method"] == "thread/started":
                threads.append(message["params"]["thread"]["id"])
    assert len(hosts) == 3  # a container each
    assert all(containers_of(thread) == [] for thread in threads)  # each gone with its server
