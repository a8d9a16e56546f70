"""`tether exec --tasks FILE [--jobs N]`: many headless turns at once, one container each.

Each line of FILE that is not blank or a `#` comment is one task's prompt. Up to N tasks run at
a time, each as its own `tether exec` turn: its own server process, its own thread and so, with
`--executor podman|kubernetes`, its own container or Pod. A task's notifications go to
`<out>/task-<n>.jsonl` as they arrive (the raw JSON-RPC notifications, as `--raw-json` prints
them); at the end a table says for each task its status, exit code, time, the commands it ran
and where they ran. The exit code is 0 only when every task completed.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import json
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from server.exec_client import exec_turn


@dataclass(frozen=True)
class TaskResult:
    number: int
    prompt: str
    exit_code: int
    seconds: float
    commands: int
    where: str
    log: Path


def read_tasks(path: Path) -> list[str]:
    """The prompts of a task file: its lines that are neither blank nor a `#` comment."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


async def run_task(ns: argparse.Namespace, number: int, prompt: str, out: Path) -> TaskResult:
    task_ns = copy.copy(ns)
    task_ns.prompt, task_ns.json, task_ns.resume = [prompt], True, None
    task_ns.output_last_message = None
    log = out / f"task-{number}.jsonl"
    started = time.monotonic()
    with log.open("w") as handle:
        code = await exec_turn(task_ns, handle, handle)
    commands, where = 0, "-"
    for line in log.read_text().splitlines():
        try:
            message = json.loads(line)
        except json.JSONDecodeError:
            continue
        item = (message.get("params") or {}).get("item") or {}
        if message.get("method") == "item/completed" and item.get("type") == "commandExecution":
            commands += 1
            where = item.get("image") or item.get("launcher") or item.get("sandbox") or "-"
    return TaskResult(number, prompt, code, time.monotonic() - started, commands, where, log)


async def run_batch(ns: argparse.Namespace, tasks: list[str], jobs: int, out: Path) -> int:
    slots = asyncio.Semaphore(max(1, jobs))

    async def one(number: int, prompt: str) -> TaskResult:
        async with slots:
            return await run_task(ns, number, prompt, out)

    results = await asyncio.gather(*(one(n, p) for n, p in enumerate(tasks, 1)))
    print_table(results, sys.stdout)
    return 0 if all(r.exit_code == 0 for r in results) else 1


def print_table(results: list[TaskResult], stream: TextIO) -> None:
    rows = [("#", "status", "exit", "seconds", "commands", "ran in", "prompt")]
    for r in results:
        status = "completed" if r.exit_code == 0 else "failed"
        prompt = r.prompt if len(r.prompt) <= 40 else r.prompt[:39] + "…"
        rows.append(
            (
                str(r.number),
                status,
                str(r.exit_code),
                f"{r.seconds:.1f}",
                str(r.commands),
                r.where,
                prompt,
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        stream.write("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
        stream.write("\n")
    if results:
        stream.write(f"logs: {results[0].log.parent}\n")


def run_tasks(ns: argparse.Namespace) -> int:
    path = Path(ns.tasks)
    try:
        tasks = read_tasks(path)
    except OSError as exc:
        print(f"tether: cannot read the task file {path}: {exc.strerror}", file=sys.stderr)
        return 2
    except UnicodeDecodeError:
        print(f"tether: {path} is not UTF-8 text; write one prompt a line", file=sys.stderr)
        return 2
    if not tasks:
        print(f"tether: {path} holds no task (one prompt a line)", file=sys.stderr)
        return 2
    out = Path(ns.tasks_out) if ns.tasks_out else Path(tempfile.mkdtemp(prefix="tether-tasks-"))
    out.mkdir(parents=True, exist_ok=True)
    return asyncio.run(run_batch(ns, tasks, ns.jobs, out))
