"""The `tether` console script.

tether serve --stdio                   the backend (same as `python -m server --stdio`)
tether exec [--mode M] [--yes] PROMPT  a headless client: one turn, streamed to the terminal
tether exec --json ...                 the same turn as Codex's `codex exec --json` JSONL
tether sandbox [--mode M] -- CMD...    run a command under the sandbox to try it
tether review [--base B | --commit SHA | --uncommitted] [--json]   review a change for bugs
tether acp                             the backend as an Agent Client Protocol agent (Zed, ...)
tether hooks list [--cd DIR] [--json]  the configured hooks, where they come from, their trust
tether exec --executor podman ...      the turn's commands in a container (or a Pod: kubernetes)
tether exec --tasks FILE [--jobs N]    one turn per line of FILE, N at once, then a summary table
tether executor manifest [--job]       the Pod a thread's commands run in, as YAML
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import get_args

from protocol.base import Mode
from server.exec_args import add_codex_exec_arguments, codex_exec_prompt


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(prog="tether", description="Tether coding agent backend")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the backend over JSON-RPC")
    serve.add_argument(
        "--stdio",
        action="store_true",
        required=True,
        help="speak LSP-framed JSON-RPC on stdin/stdout",
    )
    ex = sub.add_parser("exec", help="run one turn headlessly and stream it to the terminal")
    ex.add_argument(
        "prompt", nargs="*", help="what to ask the agent (none or `-`: read stdin); `resume ID`"
    )
    ex.add_argument("--mode", choices=get_args(Mode), default=None)
    add_codex_exec_arguments(ex)
    ex.add_argument("--cd", "-C", default=None, help="workspace directory (default: cwd)")
    ex.add_argument("--model", default=None)
    ex.add_argument(
        "--yes",
        "-y",
        action="store_true",
        help="approve every request (default without a TTY: decline them)",
    )
    ex.add_argument(
        "--raw-json", dest="json", action="store_true", help="print the raw notifications"
    )
    ex.add_argument(
        "--executor",
        choices=("local", "podman", "kubernetes"),
        default=None,
        help="where commands run (default: [executor] kind in config.toml, else local)",
    )
    ex.add_argument("--executor-image", default=None, help="the container image to run them in")
    ex.add_argument("--tasks", metavar="FILE", default=None, help="one prompt a line, run them all")
    ex.add_argument("--jobs", "-j", type=int, default=2, help="tasks at once (with --tasks)")
    ex.add_argument("--tasks-out", metavar="DIR", default=None, help="where task logs go")
    sub.add_parser("sandbox", help="run a command under a sandbox policy", add_help=False)
    sub.add_parser("review", help="review a change for bugs it introduced", add_help=False)
    sub.add_parser("acp", help="speak the Agent Client Protocol on stdin/stdout (Zed, ...)")
    sub.add_parser("hooks", help="list the configured hooks and their trust", add_help=False)
    sub.add_parser("executor", help="the Pod manifest of the container executor", add_help=False)

    if args and args[0] == "sandbox":
        from sandbox.cli import sandbox_main
        from server.config import load_settings

        return sandbox_main(args[1:], load_settings().sandbox_launcher)
    if args and args[0] == "hooks":
        from server.hooks.cli import hooks_main

        return hooks_main(args[1:])
    if args and args[0] == "executor":
        from server.executor_cli import executor_main

        return executor_main(args[1:])
    if args and args[0] == "review":
        from server.review.cli import review_main

        return review_main(args[1:])
    ns = parser.parse_args(args)
    if ns.command == "serve":
        from server.app import main_stdio

        return main_stdio()
    if ns.command == "acp":
        from server.acp import main_acp

        return main_acp()
    _choose_executor(ns)
    if ns.tasks:
        from server.exec_batch import run_tasks

        ns.resume = None
        if ns.executor == "kubernetes":
            os.environ["TETHER_EXECUTOR_WORKLOAD"] = "job"
        return run_tasks(ns)
    prompt = codex_exec_prompt(ns, ex)
    if ns.jsonl:
        from server.exec_jsonl import run_exec_jsonl

        return run_exec_jsonl(ns, prompt)
    from server.exec_client import run_exec

    ns.prompt = [prompt]
    return run_exec(ns)


def _choose_executor(ns: argparse.Namespace) -> None:
    """`--executor` and `--executor-image` reach the server it starts through its environment
    (TETHER_EXECUTOR, TETHER_EXECUTOR_IMAGE: `server.config`)."""
    if ns.executor:
        os.environ["TETHER_EXECUTOR"] = ns.executor
    if ns.executor_image:
        os.environ["TETHER_EXECUTOR_IMAGE"] = ns.executor_image


if __name__ == "__main__":
    sys.exit(main())
