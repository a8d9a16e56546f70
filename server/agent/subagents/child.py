"""A sub-agent's turn: the turn loop of any thread, with the child's instructions, its turn
budget (`maxTurns`), and its hooks as Claude Code runs a sub-agent's (SubagentStop in place of
Stop; no SessionStart or UserPromptSubmit of its own).

`ChildNotifier` sits between the child's turn and the client: everything passes through, and
the team (`team.Team`) hears each notification, to keep the parent's `subagent` item live; each
approval request gets `parentThreadId` and `agentType`, so the user sees who asks.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from protocol.base import Notification, ServerRequest
from protocol.item import AgentMessageItem, ErrorItem, UserInput
from server.agent.client import Notifier
from server.agent.hooks import ThreadHooks, TurnHooks
from server.agent.ids import new_id
from server.agent.model import ToolCallReady
from server.agent.stream import TurnStream
from server.agent.subagents.definitions import AgentDefinition
from server.agent.turn import ThreadParts, TurnRunner, TurnServices
from server.agent.turn_files import TurnFiles
from server.config import Settings

T = TypeVar("T")


class ChildNotifier:
    def __init__(
        self,
        inner: Notifier,
        parent_thread_id: str,
        agent_type: str,
        heard: Callable[[Notification], None],
    ) -> None:
        self._inner = inner
        self._parent_thread_id = parent_thread_id
        self._agent_type = agent_type
        self._heard = heard

    def notify(self, note: Notification) -> None:
        self._inner.notify(note)
        self._heard(note)

    async def request(self, params: ServerRequest[T]) -> T:
        if hasattr(params, "parent_thread_id"):  # the approval/* requests
            params.parent_thread_id = self._parent_thread_id  # type: ignore[attr-defined]
            params.agent_type = self._agent_type  # type: ignore[attr-defined]
        return await self._inner.request(params)


class ChildTurnHooks(TurnHooks):
    def __init__(
        self,
        thread: ThreadHooks,
        settings: Settings,
        stream: TurnStream,
        turn_files: TurnFiles,
        agent_type: str,
        transcript: Path,
    ) -> None:
        super().__init__(thread, settings, stream, turn_files)
        self.stop_event = "SubagentStop"
        self.stop_subject = agent_type
        self.stop_fields = {
            "agent_id": stream.turn.thread_id,
            "agent_type": agent_type,
            "agent_transcript_path": str(transcript),
        }

    async def session_start(self) -> str:
        return ""

    async def prompt_submit(self, prompt: str) -> tuple[str | None, str]:
        return None, ""


class ChildTurnRunner(TurnRunner):
    def __init__(
        self,
        services: TurnServices,
        thread: ThreadParts,
        model: str,
        user_input: list[UserInput],
        on_finish: Callable[[TurnRunner], None],
        definition: AgentDefinition,
        context: str | None = None,
    ) -> None:
        super().__init__(services, thread, model, user_input, on_finish)
        self.definition = definition
        self.hooks = ChildTurnHooks(
            thread.hooks,
            services.settings,
            self.stream,
            self.turn_files,
            definition.name,
            thread.conversation.journal_path,
        )
        self._context = context
        self._calls_left = definition.max_turns

    def _instructions(self) -> str:
        own = (
            f"You are the sub-agent `{self.definition.name}`: another agent gave you the task "
            "in the user message and reads only your final message.\n\n"
            f"{self.definition.instructions}"
        )
        if self._context:
            own += f"\n\n{self._context}"
        return f"{super()._instructions()}\n\n{own}"

    async def _call_model(self) -> list[ToolCallReady]:
        if self._calls_left is not None:
            if self._calls_left == 0:
                self.stream.add(
                    ErrorItem(
                        id=new_id("item"),
                        message=f"{self.definition.name} used its {self.definition.max_turns} "
                        "model calls (maxTurns) and stops here.",
                    )
                )
                self._steering.clear()
                return []
            self._calls_left -= 1
        return await super()._call_model()


def final_message(runner: TurnRunner) -> str:
    """The child's answer: its turn's last agent message, or why there is none."""
    turn = runner.turn
    texts = [i.text for i in turn.items if isinstance(i, AgentMessageItem)]
    last = next((t for t in reversed(texts) if t.strip()), "")
    if last:
        return last
    if turn.error is not None:
        return f"The sub-agent failed: {turn.error.message}"
    errors = [i.message for i in turn.items if isinstance(i, ErrorItem)]
    return errors[-1] if errors else f"The sub-agent ended ({turn.status}) without an answer."
