"""kill -9 at random points of turns that edit files and run commands loses nothing: 20 trials,
each killing the real server after a random number of the turn's notifications (plus a random
few milliseconds). After every kill:

- every workspace file equals its content before the turn or after it, never a mix;
- a fresh server lists the thread and rebuilds it from its log: every turn and every completed
  item the dead server had announced is there, with the status it announced, a turn cut off
  shows as `interrupted`, and no item is left `inProgress` or `pending`;
- `thread/resume` works and a new turn on the thread completes, the model seeing a history it
  accepts (every tool call answered, the cut-off turn's request included).

Trials run in CHAINS chains side by side; in each, the fresh server that checks one trial is
the one the next trial kills. The sandboxed commands die with the killed server; a strict xfail
shows that an unsandboxed (fullAccess) one does not.
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.raw import RawServer
from tests.model_server import ModelServer, RecordedRequest, Reply, ToolCall
from tests.robustness.wire import (
    Conversation,
    Message,
    descendants,
    processes_running,
    running,
    turn_messages,
)

TRIALS = 20
CHAINS = 2
KILL_RANGE = 60
"""Notifications a whole crash turn sends, roughly; kill points spread over 1..KILL_RANGE."""
LINES = 3000


def original(name: str) -> str:
    return "".join(f"{name} line {i}\n" for i in range(LINES))


def patched(name: str) -> str:
    text = original(name).replace(f"{name} line 1500\n", f"{name} LINE 1500 CHANGED\n")
    return text + f"{name} appended\n"


def update_patch(name: str) -> str:
    return (
        "*** Begin Patch\n"
        f"*** Update File: {name}\n"
        "@@\n"
        f" {name} line 1499\n"
        f"-{name} line 1500\n"
        f"+{name} LINE 1500 CHANGED\n"
        f" {name} line 1501\n"
        "@@\n"
        f" {name} line {LINES - 1}\n"
        f"+{name} appended\n"
        "*** End Patch"
    )


def added(name: str) -> str:
    return "".join(f"{name} new {i}\n" for i in range(200))


def add_patch(name: str) -> str:
    body = "".join(f"+{line}\n" for line in added(name).splitlines())
    return f"*** Begin Patch\n*** Add File: {name}\n{body}*** End Patch"


@dataclass
class Trial:
    """One crash: its files (name -> (before, after); None is absent) and what was seen."""

    index: int
    kill_after: int
    jitter_s: float
    files: dict[str, tuple[str | None, str]] = field(default_factory=dict)
    turn_id: str = ""
    seen: list[Message] = field(default_factory=list)

    @property
    def prompt(self) -> str:
        return f"trial {self.index}: edit and run"


def scripted_model(request: RecordedRequest) -> Reply:
    """Answers by the trial number in the last user message and the number of that trial's
    tool results so far, so a killed turn never leaves the script out of step."""
    last = request.user_texts()[-1]
    if (match := re.fullmatch(r"trial (\d+): (\w+).*", last)) is None:
        return Reply(text="?")
    k, phase = int(match[1]), match[2]
    if phase == "check":
        return Reply(text=f"Trial {k} checked.", deltas=3)
    # This trial's tool results so far: 0, 1, 2, then 4 (the third step makes two calls).
    done = sum(1 for call_id in request.tool_outputs() if call_id.startswith(f"t{k}-"))
    if done == 0:
        return Reply(
            text=f"Trial {k}: editing the first file.",
            deltas=12,
            delay=0.002,
            tool_calls=[ToolCall("apply_patch", {"patch": update_patch(f"f{k}_a.txt")}, f"t{k}-0")],
        )
    if done == 1:
        command = f"sleep 0.2; printf 'trial {k} ran\\n' > cmd{k}.txt"
        return Reply(tool_calls=[ToolCall("shell", {"command": command}, f"t{k}-1")])
    if done == 2:
        return Reply(
            text="Now the second file and a new one.",
            deltas=6,
            tool_calls=[
                ToolCall("apply_patch", {"patch": update_patch(f"f{k}_b.txt")}, f"t{k}-2a"),
                ToolCall("apply_patch", {"patch": add_patch(f"f{k}_new.txt")}, f"t{k}-2b"),
            ],
        )
    return Reply(text=f"Trial {k} finished.", deltas=12, delay=0.002)


async def crash_during_turn(conv: Conversation, thread_id: str, trial: Trial) -> None:
    """Start the trial's turn, kill -9 the server after `kill_after` of its notifications
    (or once it completed) and `jitter_s`, then read what it had already written."""
    trial.turn_id = await conv.start_turn(thread_id, trial.prompt)
    while True:
        seen = turn_messages(conv.messages, trial.turn_id)
        if len(seen) >= trial.kill_after or any(m["method"] == "turn/completed" for m in seen):
            break
        await conv.read(30)
    await asyncio.sleep(trial.jitter_s)
    children = descendants(conv.server.proc.pid)
    conv.server.proc.send_signal(signal.SIGKILL)
    await conv.server.proc.wait()
    try:
        while True:
            await conv.read(5)
    except (EOFError, asyncio.IncompleteReadError):
        pass  # everything the server wrote before it died has been read
    trial.seen = turn_messages(conv.messages, trial.turn_id)
    # Sandboxed commands die with the server (bwrap --die-with-parent; the cgroup).
    deadline = time.monotonic() + 2
    while running(children) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert running(children) == set(), f"processes outlived the killed server: {children}"


def check_files(workspace: Path, trials: list[Trial]) -> list[str]:
    """Every trial's files hold their before or after content; returns stray temp files."""
    for trial in trials:
        for name, (before, after) in trial.files.items():
            path = workspace / name
            now = path.read_text() if path.exists() else None
            assert now in (before, after), f"trial {trial.index}: {name} is partially written"
    return [p.name for p in workspace.iterdir() if ".tether-" in p.name]


async def check_log(
    conv: Conversation, thread_id: str, trial: Trial, earlier: list[str]
) -> dict[str, Any]:
    """The fresh server's view of the thread matches what the dead one announced; `earlier`
    are the ids of the thread's turns before this trial's, in order."""
    listed = (await conv.result("thread/list", {}))["threads"]
    assert thread_id in [t["id"] for t in listed]
    read = await conv.result("thread/read", {"threadId": thread_id})
    turns = {t["id"]: t for t in read["turns"]}
    assert read["thread"]["status"] == "idle"
    assert [t["id"] for t in read["turns"]] == [*earlier, trial.turn_id], (
        f"trial {trial.index}: the log does not hold the thread's turns up to the crash"
    )
    turn = turns[trial.turn_id]
    finished = [m for m in trial.seen if m["method"] == "turn/completed"]
    if finished:
        assert turn["status"] == finished[0]["params"]["turn"]["status"]
    else:
        assert turn["status"] in ("interrupted", "completed"), turn["status"]
    logged = {i["id"]: i for i in turn["items"]}
    for m in trial.seen:
        if m["method"] == "item/completed":
            item = m["params"]["item"]
            assert item["id"] in logged, f"trial {trial.index}: completed {item['type']} lost"
            assert logged[item["id"]].get("status") == item.get("status")
    for t in read["turns"]:
        stuck = [i for i in t["items"] if i.get("status") in ("inProgress", "pending")]
        assert stuck == [], f"trial {trial.index}: items left running after a crash: {stuck}"
    resumed = await conv.result("thread/resume", {"threadId": thread_id})
    assert [t["id"] for t in resumed["turns"]] == [t["id"] for t in read["turns"]]
    return turn


async def run_chain(
    trials: list[Trial], home: Path, env: dict[str, str], workspace: Path, model_server: ModelServer
) -> list[str]:
    """Run `trials` one after another on one thread; returns the status each cut-off turn had
    in the next server's eyes."""
    statuses: list[str] = []
    server = await RawServer.start(home, env)
    try:
        conv = Conversation(server)
        await conv.initialize()
        params = {"cwd": str(workspace), "mode": "agent"}
        thread_id = (await conv.result("thread/start", params))["thread"]["id"]
        turn_ids: list[str] = []
        for trial in trials:
            await crash_during_turn(conv, thread_id, trial)
            check_files(workspace, trials)

            server = await RawServer.start(home, env)
            conv = Conversation(server)
            await conv.initialize()
            statuses.append((await check_log(conv, thread_id, trial, turn_ids))["status"])
            before = {r.index for r in model_server.requests}
            check = await conv.run_turn(thread_id, f"trial {trial.index}: check")
            assert check["status"] == "completed", check
            turn_ids += [trial.turn_id, check["id"]]
            # The check's text may carry the note of files changed since the last turn: what the
            # killed server wrote after its last record is news to the next one.
            (request,) = [
                r
                for r in model_server.requests
                if r.index not in before
                and r.user_texts()[-1].startswith(f"trial {trial.index}: check")
            ]
            answered = set(request.tool_outputs())
            assert all(c.call_id in answered for c in request.tool_calls()), "a dangling call"
            assert trial.prompt in request.user_texts()
    finally:
        await server.close()
    return statuses


# 21 server starts at ~3 s of CPU each (imports, first model call): a loaded machine needs
# more than the suite's default 180 s limit.
@pytest.mark.timeout(420)
async def test_kill_9_at_random_points_loses_nothing(
    tmp_path: Path, model_server: ModelServer, workspace: Path
) -> None:
    # pytest-randomly seeds `random` from the suite's seed, so TETHER_TEST_SEED repeats this too.
    seed = int(os.environ.get("TETHER_CRASH_SEED", random.randrange(1_000_000)))
    rng = random.Random(seed)
    print(f"crash trials: seed {seed} (set TETHER_CRASH_SEED to replay)")
    model_server.fallback = scripted_model
    trials: list[Trial] = []
    for k in range(TRIALS):
        # Kill points spread evenly over the turn, each at a random place in its stretch.
        trial = Trial(k, 1 + int((k + rng.random()) * KILL_RANGE / TRIALS), rng.uniform(0, 0.03))
        for name in (f"f{k}_a.txt", f"f{k}_b.txt"):
            (workspace / name).write_text(original(name))
            trial.files[name] = (original(name), patched(name))
        trial.files[f"f{k}_new.txt"] = (None, added(f"f{k}_new.txt"))
        trial.files[f"cmd{k}.txt"] = (None, f"trial {k} ran\n")
        trials.append(trial)

    # Chains of servers side by side (one thread each) use the time a server waits.
    chains = [trials[i::CHAINS] for i in range(CHAINS)]
    home, env = tmp_path / "home", model_server.env()
    statuses = [
        s
        for chain in await asyncio.gather(
            *(run_chain(c, home, env, workspace, model_server) for c in chains)
        )
        for s in chain
    ]
    strays = check_files(workspace, trials)
    print(
        f"crash trials: kill points {[t.kill_after for t in trials]}; the next server saw "
        f"{statuses.count('interrupted')} turns interrupted, {statuses.count('completed')} "
        f"completed; stray temp files left in the workspace: {strays}"
    )
    assert len(statuses) == TRIALS and "interrupted" in statuses


async def test_kill_9_during_an_unsandboxed_command_leaves_no_orphan(
    tmp_path: Path, model_server: ModelServer, workspace: Path
) -> None:
    argv = ["sleep", f"60.{random.randrange(10**6):06d}"]
    model_server.enqueue(Reply(tool_calls=[ToolCall("shell", {"command": " ".join(argv)})]))
    server = await RawServer.start(tmp_path / "home", model_server.env())
    try:
        conv = Conversation(server)
        await conv.initialize()
        params = {"cwd": str(workspace), "mode": "fullAccess"}
        thread_id = (await conv.result("thread/start", params))["thread"]["id"]
        await conv.start_turn(thread_id, "wait")
        for _ in range(200):
            if processes_running(argv):
                break
            await asyncio.sleep(0.05)
        assert processes_running(argv), "the command never started"
        server.proc.send_signal(signal.SIGKILL)
        await server.proc.wait()
        await asyncio.sleep(2)
        assert processes_running(argv) == set(), "the command outlived the killed server"
    finally:
        for pid in processes_running(argv):
            os.kill(pid, signal.SIGKILL)
        await server.close()
