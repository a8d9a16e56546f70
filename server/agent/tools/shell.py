"""shell: run a command in the workspace, under the OS sandbox the mode calls for.

The gate decides (run, ask, refuse) and which sandbox, and opens the command's item;
the thread's executor (`sandbox.executor`) does the running: on this host `sandbox.run.run_command`
(own process group, private /tmp), or in the thread's container; either way no secrets in the
environment, output capped, the whole tree killed on timeout or interrupt. Output streams to the
client as it arrives.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sandbox.executor import CommandRequest
from sandbox.run import Quotas, SandboxError
from server.agent.errors import ToolFailed
from server.agent.gate import Declined, Refused
from server.agent.model import ToolSpec
from server.agent.tools.base import Tool, ToolContext, cap_for_model

ITEM_OUTPUT_CAP = 64_000
"""Characters of output kept on the item (the head and tail stream live anyway)."""


async def shell(args: dict[str, Any], ctx: ToolContext, _call_id: str) -> str:
    command: str = args["command"]
    settings = ctx.settings
    escalate = bool(args.get("escalate"))
    clearance = await ctx.gate.clear_command(
        ctx.stream,
        command,
        workdir=args.get("workdir"),
        escalate=escalate,
        justification=args.get("justification"),
    )
    if isinstance(clearance, Refused):
        return f"Refused without running: {clearance.reason}"
    if isinstance(clearance, Declined):
        return (
            "The user declined to run this command. Continue without it, or ask the "
            "user how to proceed."
        )
    item, policy = clearance.item, clearance.policy
    timeout = float(args.get("timeout_s") or settings.command_timeout_s)

    def on_output(stream: Any, chunk: str) -> None:
        ctx.stream.output_delta(item.id, stream, chunk)

    # A read-only sandbox cannot change the workspace: no snapshots needed around it.
    tracked = policy.kind != "readOnly"
    if tracked:
        await ctx.turn_files.before_command(ctx.stream)
    try:
        result = await ctx.executor.run(
            CommandRequest(
                command,
                cwd=Path(item.cwd),
                policy=policy,
                env=os.environ,
                timeout_s=min(timeout, settings.command_timeout_s * 4),
                output_cap_bytes=settings.command_output_cap,
                on_output=on_output,
                launcher=None if item.sandbox == "container" else item.launcher,  # type: ignore[arg-type]
                quotas=Quotas(settings.workspace_growth_cap, settings.tmp_cap),
            )
        )
    except SandboxError as exc:
        item.status, item.reason = "failed", str(exc)
        ctx.stream.completed(item)
        raise ToolFailed(f"The sandbox could not start: {exc}") from None
    finally:
        if tracked:
            item.tracking_note = await ctx.turn_files.after_command(ctx.stream)
    item.exit_code, item.duration_ms = result.exit_code, result.duration_ms
    item.timed_out = result.timed_out or None
    item.truncated = result.truncated or None
    if item.sandbox != "container":
        item.launcher = result.launcher
    item.containment = result.containment
    undone = result.guard.lines if result.guard is not None else []
    item.restored = undone or None
    item.output = result.output[-ITEM_OUTPUT_CAP:]
    item.status = "completed" if result.exit_code == 0 else "failed"
    ctx.stream.completed(item)
    return _observation(result, escalate)


def _observation(result: Any, escalated: bool) -> str:
    head = f"Exit code: {result.exit_code}" + (" (timed out, killed)" if result.timed_out else "")
    text = f"{head}\nWall time: {result.duration_ms / 1000:.1f} s\nOutput:\n"
    text += cap_for_model(result.output) or "(no output)"
    if result.over_quota:
        text += f"\n\nKilled: {result.over_quota}"
    if result.guard is not None and result.guard.lines:
        text += "\n\nThe sandbox undid changes to protected paths (they stay as they were):\n"
        text += "\n".join(f"- {line}" for line in result.guard.lines)
    denial = result.denial
    if denial is not None and not escalated:
        what = "network access" if denial.kind == "network" else "writing outside the workspace"
        text += (
            f"\n\nThe sandbox probably blocked {what} ({denial.evidence!r}). If the task "
            "really needs it, call shell again with escalate=true and a justification; "
            "the user will be asked."
        )
    return text


SHELL = Tool(
    ToolSpec(
        "shell",
        "Run a bash command in the workspace and return its exit code and output. Commands run in "
        "an OS sandbox: writes only inside the workspace and a private /tmp, no network. Prefer "
        "the dedicated tools for reading, searching and editing files.",
        {
            "type": "object",
            "properties": {
                "command": {"type": "string", "description": "The bash command line."},
                "workdir": {
                    "type": "string",
                    "description": "Directory to run in; default the cwd.",
                },
                "timeout_s": {"type": "number", "description": "Kill the command after this long."},
                "escalate": {
                    "type": "boolean",
                    "description": "Ask the user to run it with network "
                    "access and without the write limits (only when the sandbox blocked a "
                    "step the task needs).",
                },
                "justification": {
                    "type": "string",
                    "description": "Why, shown to the user when asking.",
                },
            },
            "required": ["command"],
        },
    ),
    shell,
)
