"""What a review asks the model and how its answer becomes a `review` item.

The model answers JSON of `REVIEW_SCHEMA` (the turn's output schema: structured output where
the endpoint has it, `server.agent.structured`). Lines in the answer are the file's 1-based
line numbers, as the model reads them in the diff and the file; the item carries 0-based ones
(PROTOCOL.md). A finding on a file or lines the diff does not touch is dropped, and counted.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from protocol.findings import Finding, LineRange, ReviewTarget
from protocol.item import ReviewItem
from server.agent.ids import new_id
from server.review.diff import ReviewDiff

REVIEW_RULES = """You are reviewing a code change, not writing one. You cannot edit files; you \
may read files and run known-safe read-only commands (ls, cat, rg, git log/show/diff, ...) to \
understand the code around the change.

Report only bugs the change introduces: code that now computes the wrong result, crashes, \
loses or corrupts data, leaks a secret, opens a security hole, breaks a caller or a documented \
contract, races, or leaks a resource. Do not report style, naming, formatting, missing \
comments or tests, or problems the change did not create. Each finding must be something the \
author would want to fix before merging, on lines the diff changes, with the concrete input or \
situation that goes wrong. Report nothing rather than guess; an empty list is a fine answer.

priority: 0 = must fix now (breaks the build, data loss, security), 1 = a real bug to fix \
before merging, 2 = a bug in a rare case, 3 = minor. confidence_score: 0..1, how sure you are \
that this is a real bug. path: the file's path as the diff names it. line_start, line_end: the \
file's 1-based line numbers after the change, as short a span as shows the problem. \
suggestion: the replacement text for exactly those lines when the fix is that local, else \
null. overall_correctness: whether the change is correct as a whole (no finding of priority \
0 or 1)."""

REVIEW_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "findings": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "title": {"type": "string"},
                    "body": {"type": "string"},
                    "priority": {"type": "integer", "enum": [0, 1, 2, 3]},
                    "confidence_score": {"type": "number"},
                    "path": {"type": "string"},
                    "line_start": {"type": "integer"},
                    "line_end": {"type": "integer"},
                    "suggestion": {"type": ["string", "null"]},
                },
                "required": [
                    "title",
                    "body",
                    "priority",
                    "confidence_score",
                    "path",
                    "line_start",
                    "line_end",
                    "suggestion",
                ],
                "additionalProperties": False,
            },
        },
        "overall_correctness": {
            "type": "string",
            "enum": ["patch is correct", "patch is incorrect"],
        },
        "overall_explanation": {"type": "string"},
        "overall_confidence_score": {"type": "number"},
    },
    "required": [
        "findings",
        "overall_correctness",
        "overall_explanation",
        "overall_confidence_score",
    ],
    "additionalProperties": False,
}


def review_request(diff: ReviewDiff, instructions: str | None) -> str:
    """The user message of the review turn (the model's copy; the user sees `diff.title`)."""
    parts = [f"Review: {diff.title}."]
    if instructions:
        parts.append(instructions)
    if diff.text:
        fence = "`" * max(3, _longest_backtick_run(diff.text) + 1)
        parts.append(f"The change, as a unified diff:\n\n{fence}diff\n{diff.text}{fence}")
    elif not instructions:
        parts.append("The diff is empty: there is nothing to review; say so.")
    parts += diff.notes
    return "\n\n".join(parts)


def review_item(
    answer: dict[str, Any], target: ReviewTarget, diff: ReviewDiff, filtered: bool
) -> ReviewItem:
    """The item of a valid answer (checked against REVIEW_SCHEMA). With `filtered`, findings
    outside the diff's changed lines are dropped; without (a custom review, no diff), those on a
    file outside the thread's roots (the editor would open it); paths are made absolute against
    the diff's base (where its file names start)."""
    kept: list[Finding] = []
    dropped = 0
    for raw in answer["findings"]:
        path = _diff_path(diff, raw["path"])
        start = max(int(raw["line_start"]) - 1, 0)
        end = max(int(raw["line_end"]) - 1, start)
        about_change = _touches(diff, str(path), start, end) if filtered else _inside(diff, path)
        if not about_change:
            dropped += 1
            continue
        kept.append(
            Finding(
                id=new_id("finding"),
                title=raw["title"],
                body=raw["body"],
                priority=int(raw["priority"]),
                confidence_score=_unit(raw["confidence_score"]),
                path=str(path),
                range=LineRange(start, end),
                suggestion=raw["suggestion"],
            )
        )
    kept.sort(key=lambda f: (f.priority, -f.confidence_score, f.path, f.range.start))
    return ReviewItem(
        id=new_id("item"),
        target=target,
        findings=kept,
        overall_correctness=(
            "patchIsCorrect"
            if answer["overall_correctness"] == "patch is correct"
            else "patchIsIncorrect"
        ),
        overall_explanation=answer["overall_explanation"],
        overall_confidence_score=_unit(answer["overall_confidence_score"]),
        dropped_findings=dropped,
    )


def _diff_path(diff: ReviewDiff, named: str) -> Path:
    """The absolute path a finding names. The first of these that is a file of the diff wins:
    the name as given when absolute; against the diff's base, then the thread's cwd and roots
    (the workspace may be a folder inside the repository); the same without git's `a/` or `b/`
    prefix; the one file of the diff whose path ends with the name (the model named it from a
    subfolder). Else the first of those candidates that is a file on disk (a custom review has
    no diff), else the name against the base: outside the diff, so dropped when filtered."""
    starts = [diff.base, *diff.anchors]
    names = [named]
    prefix, _, rest = named.partition("/")
    if prefix in ("a", "b") and rest:
        names.append(rest)
    candidates = [
        Path(os.path.normpath(start / name))  # absolute `name` stays as it is
        for name in names
        for start in starts
    ]
    for path in candidates:
        if str(path) in diff.changed_lines:
            return path
    tail = Path(os.path.normpath(named)).parts
    if tail and ".." not in tail and not Path(named).is_absolute():
        ending = [p for p in diff.changed_lines if Path(p).parts[-len(tail) :] == tail]
        if len(ending) == 1:
            return Path(ending[0])
    return next((p for p in candidates if p.is_file()), candidates[0])


def _longest_backtick_run(text: str) -> int:
    return max((len(run) for run in re.findall(r"`+", text)), default=0)


def _touches(diff: ReviewDiff, path: str, start: int, end: int) -> bool:
    spans = diff.changed_lines.get(path)
    return spans is not None and any(s.start <= end and start < s.stop for s in spans)


def _inside(diff: ReviewDiff, path: Path) -> bool:
    return any(path.is_relative_to(start) for start in [diff.base, *diff.anchors])


def _unit(score: float) -> float:
    return min(max(float(score), 0.0), 1.0)
