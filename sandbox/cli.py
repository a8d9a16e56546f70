"""`tether sandbox [--mode readOnly|agent] [--cwd DIR] [--network] -- CMD...`: try the sandbox.

Runs one command under the policy a mode gives it (readOnly: the read-only sandbox; agent: the
workspace-write sandbox with DIR as the only root), streams its output, and exits with its code.
`tether sandbox --check` says which launcher commands run under, why stronger ones are not used
(and how to make them work), and what the chosen one guarantees.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shlex
import sys
from pathlib import Path

from protocol.base import Mode
from sandbox.cgroup import CommandCgroup
from sandbox.errors import SandboxError
from sandbox.launchers import LAUNCHER_SETTINGS, LauncherChoice, LauncherSetting, choose_launcher
from sandbox.output import Stream
from sandbox.policy import Policy, PolicyKind
from sandbox.run import containment_of, run_command, shield_this_process

_MODES: dict[Mode, PolicyKind] = {"readOnly": "readOnly", "agent": "workspaceWrite"}
"""The policy each mode gives a command it runs by itself (readOnly: a known-safe reader)."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tether sandbox", description="Run a command in Tether's command sandbox."
    )
    parser.add_argument("--mode", choices=sorted(_MODES), default="agent")
    parser.add_argument("--cwd", type=Path, default=None, help="workspace root (default: .)")
    parser.add_argument("--network", action="store_true", help="agent mode: allow the network")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds (default 600)")
    parser.add_argument(
        "--launcher",
        choices=LAUNCHER_SETTINGS,
        default=None,
        help="the sandbox to use (default: sandbox_launcher from config.toml, else auto)",
    )
    parser.add_argument(
        "--check", action="store_true", help="say which sandbox runs commands and what it ensures"
    )
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- CMD [ARGS...]")
    return parser


def check_report(choice: LauncherChoice) -> str:
    """What `tether sandbox --check` prints."""
    lines = [f"launcher: {choice.name} (sandbox_launcher = {choice.setting!r})"]
    if choice.passed_over:
        lines.append("not used:")
        lines += [f"  - {reason}" for reason in choice.passed_over]
    probe = CommandCgroup.create(1)
    if probe is not None:
        probe.remove()
    containment = containment_of(choice.name, probe)
    lines.append(f"process tree contained by: {containment or 'its process group only'}")
    lines.append("guaranteed for every sandboxed command:")
    lines += [f"  - {line}" for line in choice.guarantees]
    return "\n".join(lines)


def sandbox_main(argv: list[str], configured: LauncherSetting = "auto") -> int:
    """`configured` is the user's sandbox_launcher setting (the server's config decides it)."""
    args = _parser().parse_args(argv)
    choice = choose_launcher(args.launcher or configured)
    if args.check:
        print(check_report(choice))
        return 0 if choice.name != "none" else 1
    command: list[str] = list(args.command)
    if command and command[0] == "--":
        command = command[1:]
    if not command:
        print(
            "tether sandbox: give a command after --, e.g. `tether sandbox -- ls`", file=sys.stderr
        )
        return 2
    cwd = (args.cwd or Path.cwd()).resolve()
    if not cwd.is_dir():
        print(f"tether sandbox: --cwd {cwd} is not a directory", file=sys.stderr)
        return 2
    policy = Policy(kind=_MODES[args.mode], roots=(cwd,), network=bool(args.network))

    def echo(stream: Stream, chunk: str) -> None:
        (sys.stdout if stream == "stdout" else sys.stderr).write(chunk)

    print(f"tether sandbox: {args.mode} via {choice.name} in {cwd}", file=sys.stderr)
    shield_this_process()
    try:
        result = asyncio.run(
            run_command(
                shlex.join(command),
                cwd=cwd,
                policy=policy,
                env=dict(os.environ),
                timeout_s=float(args.timeout),
                output_cap_bytes=10 * 1024 * 1024,
                on_output=echo,
                launcher=choice.name,
            )
        )
    except SandboxError as error:
        print(f"tether sandbox: {error}", file=sys.stderr)
        return 126
    sys.stdout.flush()
    if result.timed_out:
        print(f"tether sandbox: timed out after {args.timeout:g}s", file=sys.stderr)
    for line in result.guard.lines if result.guard is not None else []:
        print(f"tether sandbox: {line}", file=sys.stderr)
    if result.over_quota:
        print(f"tether sandbox: killed: {result.over_quota}", file=sys.stderr)
    if result.denial is not None:
        print(f"tether sandbox: looks like a {result.denial.kind} denial", file=sys.stderr)
    return result.exit_code if result.exit_code >= 0 else 128 - result.exit_code
