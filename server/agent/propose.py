"""`change/propose`: a code block from a reply, proposed as an edit the user reviews per hunk.

The chat's "Apply" sends the block's text and the file it is for. `merge_block` places the block
in the file without a model (see `ChangeProposeParams` for the rule); the result runs as a turn
of its own, with no model call, through the same path as the agent's edits
(`changes.review_and_apply`): a `fileChange` item, an `approval/fileChange` request in every
mode (the user asked to see it first), the accepted hunks written and kept for `change/revert`.
The model learns what was applied at its next turn.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable
from pathlib import Path

from protocol.errors import ErrorCode
from protocol.turn import Turn
from server.agent.changes import review_and_apply
from server.agent.errors import AgentError, ToolFailed, TurnCancelled
from server.agent.gate import Gate
from server.agent.history import UserEntry
from server.agent.service import Agent
from server.agent.tools.base import ToolContext
from server.agent.turn import ThreadParts, TurnRunner, TurnServices
from server.edits.patch import FileEdit

log = logging.getLogger(__name__)

APPLY_REASON = "You asked to apply a code block from the chat: review it change by change."

_DECLARATION = re.compile(
    r"^\s*(?:export\s+|pub(?:\([^)]*\))?\s+|async\s+|default\s+|static\s+)*"
    r"(def|class|function|fn|func|struct|enum|interface|type|impl|trait)\s+([A-Za-z_$][\w$]*)"
)
_ASSIGNMENT = re.compile(r"^\s*(?:const\s+|let\s+|var\s+)?([A-Za-z_$][\w$.]*)\s*(?::[^=]*)?=(?!=)")
_CONTINUES = re.compile(r"^\s*(?:[}\])]|end\b|else\b|elif\b|except\b|finally\b|catch\b)")
"""A line at a unit's own indentation that still belongs to it (a closing bracket, `else:`)."""


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _key(line: str) -> str | None:
    """What a unit's first line declares (`def add`, `x =`), to find it when its text changed."""
    if m := _DECLARATION.match(line):
        return f"{m[1]} {m[2]}"
    if m := _ASSIGNMENT.match(line):
        return f"{m[1]} ="
    return None


def _units(lines: list[str]) -> list[tuple[int, int]]:
    """The block's top-level units as (start, end) line ranges; each runs to the next one, so
    blank lines between units stay with the unit above. A decorator joins what it decorates."""
    body = [ln for ln in lines if ln.strip()]
    if not body:
        return []
    base = min(_indent(ln) for ln in body)
    starts: list[int] = []
    for i, ln in enumerate(lines):
        if not ln.strip() or _indent(ln) != base or _CONTINUES.match(ln):
            continue
        if starts and all(
            not ln.strip() or ln.lstrip().startswith("@") for ln in lines[starts[-1] : i]
        ):
            continue  # what a decorator decorates
        starts.append(i)
    if not starts:
        return []
    starts[0] = 0  # leading lines deeper than the base belong to the first unit
    return [(s, e) for s, e in zip(starts, [*starts[1:], len(lines)], strict=True)]


def _extent(lines: list[str], start: int) -> int:
    """End (exclusive) of the file's unit that starts at `start`, trailing blank lines left out."""
    base = _indent(lines[start])
    end = start + 1
    i = start + 1
    while i < len(lines):
        ln = lines[i]
        if (
            ln.strip()
            and _indent(ln) <= base
            and not (_indent(ln) == base and _CONTINUES.match(ln))
        ):
            break
        i += 1
        if ln.strip():
            end = i
    return end


def _find(lines: list[str], header: str, cursor: int, taken: list[tuple[int, int]]) -> int | None:
    """Where the unit starting with `header` is in the file: the same line, else the same
    declaration; the first at or after `cursor` wins, then any that no earlier unit took."""
    free = [i for i in range(len(lines)) if not any(s <= i < e for s, e in taken)]
    order = [i for i in free if i >= cursor] + [i for i in free if i < cursor]
    for i in order:
        if lines[i].strip() == header.strip():
            return i
    key = _key(header)
    if key is None:
        return None
    for i in order:
        if _key(lines[i]) == key and lines[i].strip():
            return i
    return None


def _reindent(lines: list[str], delta: int) -> list[str]:
    if delta > 0:
        return [" " * delta + ln if ln.strip() else ln for ln in lines]
    if delta < 0:
        return [ln[min(-delta, _indent(ln)) :] for ln in lines]
    return lines


def _strip_trailing_blank(lines: list[str]) -> list[str]:
    end = len(lines)
    while end and not lines[end - 1].strip():
        end -= 1
    return lines[:end]


def merge_block(current: str | None, block: str) -> str:
    """The file's new text once `block` is placed in `current` (see `ChangeProposeParams`)."""
    whole = block if block.endswith("\n") or not block else block + "\n"
    if current is None or not current.strip():
        return whole
    newline = "\r\n" if "\r\n" in current else "\n"
    lines = current.splitlines()
    code = block.splitlines()
    edits: list[tuple[int, int, list[str]]] = []
    orphans: list[str] = []
    cursor = 0
    for start, end in _units(code):
        unit = code[start:end]
        header = next(
            (ln for ln in unit if ln.strip() and not ln.lstrip().startswith("@")), unit[0]
        )
        found = _find(lines, header, cursor, [(s, e) for s, e, _ in edits])
        if found is None:
            if edits:
                s, e, new = edits[-1]
                edits[-1] = (s, e, new + _reindent(unit, _indent(lines[s]) - _indent(new[0])))
            else:
                orphans += unit
            continue
        delta = _indent(lines[found]) - _indent(header)
        extent = _extent(lines, found)
        while found and lines[found - 1].lstrip().startswith("@"):
            found -= 1  # its decorators go with it
        edits.append((found, extent, _reindent(orphans + unit, delta)))
        orphans = []
        cursor = extent
    if not edits:
        return whole
    out = list(lines)
    for s, e, new in sorted(edits, reverse=True):
        out[s:e] = _strip_trailing_blank(new)
    trailing = newline if current.endswith(("\n", "\r")) else ""
    return newline.join(out) + trailing


class _ReviewGate(Gate):
    """The thread's gate, except that every edit is put to the user: the proposal is the point."""

    def edit_approval_reason(self, paths: list[Path]) -> str | None:
        return super().edit_approval_reason(paths) or APPLY_REASON


class ProposalRun(TurnRunner):
    """A turn that proposes one edit and ends when the user has reviewed it."""

    def __init__(
        self,
        services: TurnServices,
        thread: ThreadParts,
        path: str,
        content: str,
        on_finish: Callable[[TurnRunner], None],
    ) -> None:
        super().__init__(services, thread, thread.conversation.thread.model or "", [], on_finish)
        try:
            target = self.gate.clear_write(path)
            current = self.files.read(target)
        except ToolFailed as exc:
            raise AgentError(ErrorCode.INVALID_PARAMS, f"change/propose: {exc}") from None
        except OSError as exc:
            raise AgentError(ErrorCode.INVALID_PARAMS, f"change/propose: {exc}") from None
        self._edit = FileEdit(str(target), current, merge_block(current, content))

    def steer(self, user_input: object) -> None:
        raise AgentError(
            ErrorCode.INVALID_PARAMS,
            "A proposed edit is waiting for review; accept or reject it, then send the message.",
        )

    async def _run(self) -> None:
        try:
            ctx = ToolContext(
                self.conversation,
                self.stream,
                self.gate,
                self.files,
                self.turn_files,
                self.services.settings,
            )
            outcome = await review_and_apply(ctx, [self._edit])
            self.conversation.add_entry(
                UserEntry(f"<context>The user applied a code block of yours: {outcome}</context>")
            )
            self.turn.status = "completed"
        except (asyncio.CancelledError, TurnCancelled):
            self.turn.status = "interrupted"
        except Exception as exc:  # a bug must not leave the thread stuck "running"
            log.exception("proposal %s crashed", self.turn.id)
            self._fail(f"Tether could not propose the edit: {exc!r}.", "internalError")
        finally:
            self._finish()


def propose(agent: Agent, thread_id: str, path: str, content: str) -> Turn:
    """Start the proposal turn of `change/propose`; it streams like any turn."""

    def build(services: TurnServices, thread: ThreadParts) -> ProposalRun:
        review = ThreadParts(
            thread.conversation, thread.gate.variant(_ReviewGate), thread.watcher, thread.hooks
        )
        return ProposalRun(services, review, path, content, agent.turn_finished)

    return agent.start_runner(thread_id, build, "apply the code block when it has ended").turn
