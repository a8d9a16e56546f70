"""`tether review [--base BRANCH | --commit SHA | --uncommitted] [--json]`: a review, headless.

It runs the server, reviews the target (default: the uncommitted changes) on a new readOnly
thread and prints the findings, or with `--json` the `review` item as the protocol sends it
(for CI). Exit status: 1 when a finding of priority 0 or 1 has a confidence of at least
`BLOCKING_CONFIDENCE` (so it works as a pre-push hook or a CI job), 2 when the review could not
run or its answer could not be read, else 0.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from pathlib import Path
from typing import TextIO

import msgspec

from protocol.findings import (
    BaseBranchTarget,
    CommitTarget,
    CustomTarget,
    ReviewTarget,
    UncommittedChangesTarget,
)
from protocol.item import ReviewItem
from tether_sdk import ServerGone, Tether, TetherError

BLOCKING_CONFIDENCE = 0.8
BLOCKING_PRIORITY = 1


def blocking(item: ReviewItem) -> bool:
    """Whether the review should stop a push: a P0/P1 finding the model is sure of."""
    return any(
        f.priority <= BLOCKING_PRIORITY and f.confidence_score >= BLOCKING_CONFIDENCE
        for f in item.findings
    )


def review_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="tether review", description="Review a change for bugs it introduced."
    )
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--base", metavar="BRANCH", help="the change since the merge-base")
    which.add_argument("--commit", metavar="SHA", help="one commit")
    which.add_argument(
        "--uncommitted", action="store_true", help="staged, unstaged and untracked (default)"
    )
    which.add_argument("--prompt", metavar="TEXT", help="a review you word yourself")
    parser.add_argument("--json", action="store_true", help="print the review item as JSON")
    parser.add_argument("--cd", "-C", default=None, help="repository directory (default: cwd)")
    parser.add_argument("--model", default=None)
    ns = parser.parse_args(argv)
    target: ReviewTarget = UncommittedChangesTarget()
    if ns.base:
        target = BaseBranchTarget(branch=ns.base)
    elif ns.commit:
        target = CommitTarget(sha=ns.commit)
    elif ns.prompt:
        target = CustomTarget(instructions=ns.prompt)
    cwd = Path(ns.cd or os.getcwd())
    return asyncio.run(run_review(cwd, target, ns.model, ns.json, sys.stdout, sys.stderr))


async def run_review(
    cwd: Path, target: ReviewTarget, model: str | None, as_json: bool, out: TextIO, err: TextIO
) -> int:
    try:
        async with Tether(cwd, mode="readOnly", model=model) as tether:
            result = await (await tether.start_thread()).review(target)
    except (TetherError, ServerGone) as error:
        err.write(f"tether review: {error}\n")
        return 2
    item = result.review
    if item is None:
        err.write(f"tether review: {result.error or 'the review ended without a result'}\n")
        return 2
    if as_json:
        out.write(json.dumps(msgspec.to_builtins(item), indent=2) + "\n")
    else:
        out.write(render(item, cwd))
    return 1 if blocking(item) else 0


def render(item: ReviewItem, cwd: Path) -> str:
    lines: list[str] = []
    for f in item.findings:
        path = Path(f.path)
        shown = path.relative_to(cwd) if path.is_relative_to(cwd) else path
        span = f"{f.range.start + 1}" + (
            f"-{f.range.end + 1}" if f.range.end > f.range.start else ""
        )
        lines.append(
            f"[P{f.priority}] {f.title}  {shown}:{span}  (confidence {f.confidence_score:.2f})"
        )
        lines += [f"    {line}" for line in f.body.splitlines()]
        if f.suggestion is not None:
            lines.append("    Suggestion:")
            lines += [f"      {line}" for line in f.suggestion.splitlines()]
        lines.append("")
    if not item.findings:
        lines.append("No findings.")
    verdict = "correct" if item.overall_correctness == "patchIsCorrect" else "incorrect"
    lines.append(
        f"Overall: the change is {verdict} (confidence {item.overall_confidence_score:.2f}). "
        f"{item.overall_explanation}"
    )
    if item.dropped_findings:
        where = "workspace" if isinstance(item.target, CustomTarget) else "diff"
        lines.append(f"({item.dropped_findings} finding(s) outside the {where} left out.)")
    return "\n".join(lines) + "\n"
