"""`review/start`: a read-only turn that reviews a change and ends with a `review` item.

The turn is an ordinary `TurnRunner` with four differences: its tools are the readers and the
shell, behind a gate that runs only what readOnly runs without asking in its read-only sandbox
(known-safe commands; anything else is refused, never asked); the instructions add the review
rules; the user sees the target's title while the model gets the diff; and its final answer,
JSON of `REVIEW_SCHEMA` (the turn's output schema), becomes the `review` item. An answer that
is still not JSON of the schema after the one correction fails the turn, saying why.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

from protocol.base import Mode
from protocol.errors import ErrorCode
from protocol.findings import CustomTarget, ReviewTarget, TurnTarget
from protocol.item import TextInput, UserInput, UserMessageItem
from protocol.review import ReviewStartParams, ReviewStartResult, TurnFile
from protocol.thread import ThreadStartedNotification
from protocol.turn import Turn
from sandbox.approval_policy import CommandDecision
from sandbox.paths import PathDenied, resolve_for_read
from server.agent.gate import Gate
from server.agent.history import UserEntry
from server.agent.ids import new_id
from server.agent.service import Agent, AgentError
from server.agent.stream import TurnStream
from server.agent.tools.files import LIST_DIR, READ_FILE
from server.agent.tools.search import SEARCH
from server.agent.tools.shell import SHELL
from server.agent.turn import ThreadParts, TurnRunner, TurnServices
from server.agent.turn_review import turn_files
from server.output_schema import answer_problem
from server.review.diff import DiffError, ReviewDiff, target_diff
from server.review.findings import REVIEW_RULES, REVIEW_SCHEMA, review_item, review_request

REVIEW_TOOLS = (READ_FILE, LIST_DIR, SEARCH, SHELL)
REFUSED_COMMAND = (
    "A review runs only known-safe read-only commands (ls, cat, rg, git diff/log/show, ...); "
    "read the code instead."
)


class ReviewGate(Gate):
    """readOnly's rules, and no command that would need an approval or write anywhere."""

    @property
    def mode(self) -> Mode:
        return "readOnly"

    def _decide_command(
        self, stream: TurnStream, command: str, *, escalate: bool
    ) -> CommandDecision:
        decision = super()._decide_command(stream, command, escalate=escalate)
        if decision.action == "auto" and decision.sandbox == "readOnly":
            return decision
        return dataclasses.replace(decision, action="refuse", reason=REFUSED_COMMAND)


class ReviewRunner(TurnRunner):
    """One review turn (see the module docstring)."""

    def __init__(
        self,
        services: TurnServices,
        thread: ThreadParts,
        model: str,
        on_finish: Callable[[TurnRunner], None],
        *,
        target: ReviewTarget,
        diff: ReviewDiff,
    ) -> None:
        tools = {t.spec.name: t for t in REVIEW_TOOLS}
        super().__init__(
            dataclasses.replace(services, tools=tools),
            thread,
            model,
            [TextInput(text=f"Review: {diff.title}")],
            on_finish,
            output_schema=REVIEW_SCHEMA,
        )
        self.target = target
        self.diff = diff
        instructions = target.instructions if isinstance(target, CustomTarget) else None
        self._request: str | None = review_request(diff, instructions)

    def _add_user_message(self, content: list[UserInput], note: str | None = None) -> None:
        if self._request is None:  # a steer
            super()._add_user_message(content, note)
            return
        self.stream.add(UserMessageItem(id=new_id("item"), content=content))
        text = f"{self._request}\n\n<context>{note}</context>" if note else self._request
        self.conversation.add_entry(UserEntry(text))
        self._request = None

    def _instructions(self) -> str:
        return f"{super()._instructions()}\n\n{REVIEW_RULES}"

    def _finish(self) -> None:
        if self.turn.status == "completed":
            answer, problem = answer_problem(self._answer, REVIEW_SCHEMA)
            if problem is not None:
                self._fail(f"The review's answer could not be read: {problem}.", "reviewUnreadable")
            else:
                filtered = not isinstance(self.target, CustomTarget)
                self.stream.add(review_item(answer, self.target, self.diff, filtered))
        super()._finish()


def start_review(agent: Agent, p: ReviewStartParams) -> ReviewStartResult:
    """Compute the diff, then start the review turn; a target that cannot be diffed, or no
    model, is refused before anything (a detached thread included) is made."""
    thread, turns = agent.read_thread(p.thread_id)  # THREAD_NOT_FOUND
    model = agent.model_for(thread.id)
    cwd, policy = Path(thread.cwd), agent.file_policy(thread.id)

    def is_secret(path: Path) -> bool:
        try:
            return resolve_for_read(path, cwd=cwd, policy=policy).secret
        except PathDenied:
            return True

    def files_of_turn(turn_id: str) -> list[TurnFile]:
        return turn_files(agent, p.thread_id, turn_id).files

    try:
        roots = [Path(r) for r in thread.roots]
        diff = target_diff(p.target, cwd, is_secret, files_of_turn, roots)
    except DiffError as exc:
        raise AgentError(ErrorCode.INVALID_PARAMS, f"review/start: {exc}") from None
    if isinstance(p.target, TurnTarget) and (words := _first_words(turns, p.target.turn_id)):
        diff.title = f"Changes of the turn “{words}”"
    review_thread = thread.id
    if p.delivery == "detached":
        detached = agent.start_thread(thread.cwd, thread.roots, "readOnly", thread.model or None)
        agent.notifier.notify(ThreadStartedNotification(detached))
        review_thread = detached.id

    def build(services: TurnServices, parts: ThreadParts) -> ReviewRunner:
        return ReviewRunner(
            services,
            dataclasses.replace(parts, gate=parts.gate.variant(ReviewGate)),
            model,
            agent.turn_finished,
            target=p.target,
            diff=diff,
        )

    runner = agent.start_runner(review_thread, build, "wait for it or interrupt it")
    return ReviewStartResult(turn=runner.turn, review_thread_id=review_thread)


def _first_words(turns: list[Turn], turn_id: str) -> str | None:
    """The first line of what the user asked in turn `turn_id`, short, to name the turn."""
    turn = next((t for t in turns if t.id == turn_id), None)
    for item in turn.items if turn else []:
        if isinstance(item, UserMessageItem):
            for part in item.content:
                if isinstance(part, TextInput) and (line := part.text.strip().split("\n")[0]):
                    return line if len(line) <= 60 else f"{line[:59]}…"
    return None
