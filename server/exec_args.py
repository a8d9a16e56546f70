"""The `tether exec` flags borrowed from `codex exec`, and where the prompt comes from.

OpenAI's Codex SDK runs `<binary> exec --experimental-json [--config k=v]... [--model M]
[--sandbox S] [--cd DIR] [--add-dir DIR]... [--skip-git-repo-check] [--output-schema FILE]
[resume ID] [--image FILE]...` with the prompt on stdin; `tether exec` takes the same line, so
the SDK's `codexPathOverride` can point at `tether`. `--image` and `--output-schema` work with
and without `--json`. Kept apart from `server.cli` so the console script's own imports stay
light.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any, cast

MODE_OF_SANDBOX = {
    "read-only": "readOnly",
    "workspace-write": "agent",
    "danger-full-access": "fullAccess",
}
"""Codex's `--sandbox` values and the Tether mode each means."""


def add_codex_exec_arguments(ex: argparse.ArgumentParser) -> None:
    """Codex's exec flags, on the `tether exec` parser."""
    ex.add_argument(
        "--json",
        "--experimental-json",
        dest="jsonl",
        action="store_true",
        help="print the turn as Codex's JSONL events (codex exec --json)",
    )
    ex.add_argument(
        "--sandbox",
        "-s",
        choices=tuple(MODE_OF_SANDBOX),
        help="Codex's name for the mode: read-only=readOnly, workspace-write=agent, "
        "danger-full-access=fullAccess",
    )
    ex.add_argument(
        "--full-auto", action="store_true", help="Codex's shorthand for --sandbox workspace-write"
    )
    ex.add_argument(
        "--dangerously-bypass-approvals-and-sandbox",
        "--yolo",
        dest="bypass",
        action="store_true",
        help="fullAccess and every approval accepted (Codex's flag)",
    )
    ex.add_argument("--add-dir", action="append", help="another workspace root (repeatable)")
    ex.add_argument(
        "--skip-git-repo-check",
        action="store_true",
        help="accepted for Codex's sake: Tether needs no git repository",
    )
    ex.add_argument(
        "--output-schema", metavar="FILE", help="JSON Schema the final message must match"
    )
    ex.add_argument(
        "--output-last-message", "-o", metavar="FILE", help="write the final message to FILE"
    )
    ex.add_argument(
        "--color", choices=("always", "never", "auto"), default="auto", help="accepted; no color"
    )
    ex.add_argument(
        "--config",
        "-c",
        action="append",
        metavar="KEY=VALUE",
        help="Codex config override; openai_base_url and model are honoured, others ignored",
    )
    ex.add_argument(
        "--image",
        "-i",
        action="append",
        metavar="FILE",
        help="attach an image (PNG, JPEG, GIF, WebP) to the prompt (repeatable)",
    )


def image_inputs(images: list[str] | None) -> list[dict[str, str]]:
    """`--image FILE`s as turn/start image inputs; a relative FILE is relative to the directory
    `tether exec` was started in (not `--cd`), as in a shell. The server checks each one."""
    return [{"type": "image", "path": os.path.abspath(image)} for image in images or ()]


def read_output_schema(path: str | None) -> dict[str, Any] | None:
    """`--output-schema FILE`'s JSON Schema; ValueError saying why it cannot be used."""
    if not path:
        return None
    try:
        schema = json.loads(Path(path).read_text())
    except (OSError, ValueError) as error:
        raise ValueError(f"cannot read --output-schema: {error}") from None
    if not isinstance(schema, dict):
        raise ValueError("cannot read --output-schema: the schema must be a JSON object")
    return cast(dict[str, Any], schema)


def codex_exec_prompt(ns: argparse.Namespace, ex: argparse.ArgumentParser) -> str:
    """The prompt (from the arguments, else stdin), with `resume ID` taken off into
    `ns.resume` and `--sandbox`, `--full-auto` and `--dangerously-bypass-...` folded into
    `ns.mode` (and `ns.yes`)."""
    words: list[str] = list(ns.prompt)
    ns.resume = None
    if words[:1] == ["resume"]:
        if len(words) < 2:
            ex.error("resume needs a thread id: tether exec resume ID [PROMPT]")
        ns.resume, words = words[1], words[2:]
    if ns.sandbox:
        ns.mode = MODE_OF_SANDBOX[ns.sandbox]
    if ns.full_auto:
        ns.mode = "agent"
    if ns.bypass:
        ns.mode, ns.yes = "fullAccess", True
    if words in ([], ["-"]):
        if sys.stdin.isatty():
            ex.error("no prompt: give one, or pipe it on stdin")
        words = [sys.stdin.read()]
    prompt = " ".join(words).strip()
    if not prompt:
        ex.error("the prompt is empty")
    return prompt
