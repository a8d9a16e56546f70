"""The diff a review looks at, computed by the server for each target (`protocol.findings`).

Git runs at the top of the thread's repository with no pager, colour, external diff or path
prefixes, so the text does not depend on the user's git config. Untracked files come in as
additions (from `git ls-files -o --exclude-standard`: ignored files stay out). A file the
caller calls secret is left out, as the file tools leave it out. `changed_lines` maps each file
of the diff to the new-side lines its hunks cover: a finding elsewhere is not about this change.
"""

from __future__ import annotations

import difflib
import os
import re
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from protocol.findings import (
    BaseBranchTarget,
    CommitTarget,
    CustomTarget,
    ReviewTarget,
    TurnTarget,
    UncommittedChangesTarget,
)
from protocol.review import TurnFile
from sandbox.env import scrub_env

DIFF_CAP_CHARS = 400_000
"""A longer diff is cut at a file's end (and the model told so): review it in parts."""

WHOLE_FILE = range(0, 1 << 31)
"""The lines of a deleted file: any line of it is about the change."""

GIT_TIMEOUT_S = 120.0
"""A git that takes longer is stuck (a lock, a network filesystem): the review is refused."""

_GIT = ["git", "-c", "core.quotePath=false", "--no-pager"]
_DIFF_FLAGS = ["--no-color", "--no-ext-diff", "--no-prefix", "-M"]
_HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@")


class DiffError(Exception):
    """The target cannot be diffed: not a git repository, an unknown branch or commit."""


@dataclass
class ReviewDiff:
    """What a review is about: a line for the user, the unified diff, and per absolute path
    the new-side lines (0-based ranges) its hunks cover."""

    title: str
    text: str
    base: Path
    """Where the diff's file names start: the repository's top, or the thread's cwd."""
    changed_lines: dict[str, list[range]] = field(default_factory=dict[str, list[range]])
    notes: list[str] = field(default_factory=list[str])
    """Told to the model with the diff: files left out, a cut."""
    anchors: list[Path] = field(default_factory=list[Path])
    """Where else a relative name in the model's answer may start: the thread's cwd and roots
    (after `base`)."""


def target_diff(
    target: ReviewTarget,
    cwd: Path,
    is_secret: Callable[[Path], bool],
    turn_files: Callable[[str], list[TurnFile]],
    roots: Sequence[Path] = (),
) -> ReviewDiff:
    """The diff of `target` for a thread working in `cwd` (with its other `roots`). Raises
    DiffError."""
    anchors = list(dict.fromkeys([cwd, *roots]))
    if isinstance(target, CustomTarget):
        return ReviewDiff("Custom review", "", cwd, anchors=anchors)
    if isinstance(target, TurnTarget):
        blocks = _turn_blocks(turn_files(target.turn_id), cwd)
        diff = _assemble(f"Changes of turn {target.turn_id}", blocks, cwd, is_secret)
    else:
        top = _top(cwd)
        if isinstance(target, UncommittedChangesTarget):
            title, text = "Uncommitted changes", _uncommitted(top)
        elif isinstance(target, BaseBranchTarget):
            title, text = _base_branch(top, target.branch)
        else:
            title, text = _commit(top, target)
        diff = _assemble(title, _split_files(text, top), top, is_secret)
    diff.anchors = anchors
    return diff


def _top(cwd: Path) -> Path:
    """The repository's top, spelled from `cwd` (`cwd/../..`) when that is the same directory,
    so findings name files as the editor's workspace does even when git's own answer (symlinks
    resolved) spells it otherwise."""
    top = Path(git(cwd, "rev-parse", "--show-toplevel").strip())
    cdup = git(cwd, "rev-parse", "--show-cdup").strip()
    spelled = Path(os.path.normpath(cwd / cdup)) if cdup else cwd
    try:
        return spelled if os.path.samefile(spelled, top) else top
    except OSError:
        return top


def git(cwd: Path, *args: str, ok: tuple[int, ...] = (0,)) -> str:
    """Git's output; the model's key and other secret-looking variables stay out of its
    environment (`sandbox.env`), as for every process Tether starts."""
    env = {**scrub_env(os.environ), "GIT_OPTIONAL_LOCKS": "0", "LC_ALL": "C", "GIT_PAGER": "cat"}
    try:
        done = subprocess.run(
            [*_GIT, *args],
            cwd=cwd,
            capture_output=True,
            text=True,
            errors="replace",
            env=env,
            stdin=subprocess.DEVNULL,
            timeout=GIT_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise DiffError(
            f"git {' '.join(args)} did not finish in {GIT_TIMEOUT_S:.0f} s; "
            "check the repository with `git status` there, or review a smaller target."
        ) from None
    if done.returncode not in ok:
        why = done.stderr.strip().splitlines()
        raise DiffError(f"git {' '.join(args)} failed: {why[-1] if why else done.returncode}")
    return done.stdout


def _uncommitted(top: Path) -> str:
    has_head = git(top, "rev-parse", "--verify", "-q", "HEAD", ok=(0, 1)).strip() != ""
    if has_head:
        tracked = git(top, "diff", *_DIFF_FLAGS, "HEAD")
    else:  # no commit yet: what is staged, then what changed since staging
        tracked = git(top, "diff", *_DIFF_FLAGS, "--cached") + git(top, "diff", *_DIFF_FLAGS)
    untracked = git(top, "ls-files", "-o", "--exclude-standard", "-z").split("\0")
    return tracked + "".join(_untracked_block(top, name) for name in untracked if name)


def _untracked_block(top: Path, name: str) -> str:
    """An untracked file as an addition. One larger than the whole diff may be is named, not
    read: its diff would be cut anyway, and reading it would hold it all in memory."""
    try:
        size = (top / name).lstat().st_size
    except OSError:
        size = 0
    if size > DIFF_CAP_CHARS:
        return (
            f"diff --git {name} {name}\n# created, not shown: {size} bytes, too large to review\n"
        )
    return git(top, "diff", *_DIFF_FLAGS, "--no-index", "--", "/dev/null", name, ok=(0, 1))


def _base_branch(top: Path, branch: str) -> tuple[str, str]:
    ref = f"{branch}@{{upstream}}"
    upstream = git(top, "rev-parse", "--abbrev-ref", "--symbolic-full-name", ref, ok=(0, 128))
    upstream = upstream.strip()
    base = upstream or branch
    git(top, "rev-parse", "--verify", "-q", f"{base}^{{commit}}")
    merge_base = git(top, "merge-base", "HEAD", base).strip()
    title = f"Changes against {base} (merge-base {merge_base[:12]})"
    return title, git(top, "diff", *_DIFF_FLAGS, merge_base)


def _commit(top: Path, target: CommitTarget) -> tuple[str, str]:
    sha = git(top, "rev-parse", "--verify", "-q", f"{target.sha}^{{commit}}").strip()
    target.title = git(top, "log", "-1", "--format=%s", sha).strip()
    text = git(top, "diff-tree", "-p", "--root", "--no-commit-id", *_DIFF_FLAGS, sha)
    return f"Commit {sha[:12]}: {target.title}", text


def _split_files(text: str, top: Path) -> list[tuple[Path, str]]:
    """Each file's part of a git diff, with the file's absolute path."""
    blocks: list[tuple[Path, str]] = []
    for block in re.split(r"(?m)^(?=diff --git )", text):
        if not block.startswith("diff --git "):
            continue
        old = new = renamed = None
        for line in block.splitlines():
            if line.startswith("rename to "):
                renamed = line[len("rename to ") :]
            elif line.startswith("--- "):
                old = line[4:]
            elif line.startswith("+++ "):
                new = line[4:]
                break
        if new is None:  # a pure rename, binary, a mode change: no +++ line
            new = renamed or _header_name(block.splitlines()[0][len("diff --git ") :])
        name = old if new == "/dev/null" and old else new
        blocks.append((top / name, block))
    return blocks


def _header_name(header: str) -> str:
    """The file of `diff --git NAME NAME` (both names the same: no rename)."""
    half = len(header) // 2
    if len(header) % 2 == 1 and header[:half] == header[half + 1 :]:
        return header[:half]
    return header.rsplit(" ", 1)[-1]


def _turn_blocks(files: list[TurnFile], cwd: Path) -> list[tuple[Path, str]]:
    blocks: list[tuple[Path, str]] = []
    for f in files:
        path = Path(f.path)
        name = os.path.relpath(path, cwd) if path.is_relative_to(cwd) else f.path
        if f.note is not None:
            blocks.append((path, f"diff --git {name} {name}\n# {f.kind}, not shown: {f.note}\n"))
            continue
        before = (f.before or "").splitlines(keepends=True)
        after = (f.after or "").splitlines(keepends=True)
        old = "/dev/null" if f.kind == "created" else name
        new = "/dev/null" if f.kind == "deleted" else name
        hunks = "".join(
            line if line.endswith("\n") else line + "\n\\ No newline at end of file\n"
            for line in difflib.unified_diff(before, after, old, new)
        )
        blocks.append((path, f"diff --git {name} {name}\n{hunks}"))
    return blocks


def _assemble(
    title: str, blocks: list[tuple[Path, str]], base: Path, is_secret: Callable[[Path], bool]
) -> ReviewDiff:
    diff = ReviewDiff(title, "", base)
    parts: list[str] = []
    size, cut, secret = 0, 0, 0
    for path, block in blocks:
        if is_secret(path):
            secret += 1
            continue
        if size + len(block) > DIFF_CAP_CHARS:
            cut += 1
            continue
        size += len(block)
        parts.append(block)
        diff.changed_lines[str(path)] = _new_side_lines(block)
    diff.text = "".join(parts)
    if secret:
        diff.notes.append(f"{secret} file(s) under secret paths were left out of the diff.")
    if cut:
        diff.notes.append(
            f"The diff was cut: {cut} file(s) past {DIFF_CAP_CHARS} characters are not shown."
        )
    return diff


def _new_side_lines(block: str) -> list[range]:
    if "\n+++ /dev/null" in block:
        return [WHOLE_FILE]
    lines: list[range] = []
    for line in block.splitlines():
        if m := _HUNK.match(line):
            start, count = int(m.group(1)), int(m.group(2) or "1")
            # `+start,0` is a deletion after line `start`: the lines around it are the change.
            lines.append(
                range(start - 1, start - 1 + count) if count else range(start - 1, start + 1)
            )
    return lines
