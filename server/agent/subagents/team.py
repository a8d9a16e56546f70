"""The children of one parent turn: spawn, wait, steer, close, and their end with the turn.

Each child is a thread of its own (`Thread.parentThreadId`), run by the `Agent` like any turn
(so `turn/interrupt` and `thread/read` work on it), under the parent's rules: its mode is the
parent's or stricter, its gate shares the parent's session grants, its hooks are the
workspace's. At most `max_subagents` children of a turn run at once; a child that can write
waits for the workspace's other writing children (`Agent.write_lock`), unless it has a git
worktree of its own.

The parent turn shows each child as a `subagent` item, updated when the child starts, calls a
tool, changes files and ends. A child's turn checkpoints go with the parent turn's: its changes
are part of the parent's diff (`TurnFiles.also`), and `turn/revert` of the parent reverts them
(`Agent.revert_turn`). When the parent turn ends, children still running are interrupted.
A worktree child's changes come back as a `fileChange` item of the parent turn, reviewed by the
user like a proposal, when the parent waits for it, closes it or ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from protocol.base import Notification
from protocol.events import ItemStartedNotification
from protocol.item import (
    CommandExecutionItem,
    FileChangeItem,
    Item,
    SubagentItem,
    SubagentStatus,
    TextInput,
    ToolCallItem,
)
from protocol.thread import ThreadStartedNotification
from protocol.turn import TurnDiffUpdatedNotification
from server.agent.changes import review_and_apply
from server.agent.conversation import Conversation, title_of
from server.agent.errors import ToolFailed
from server.agent.gate import Gate
from server.agent.history import AssistantEntry, UserEntry
from server.agent.ids import new_id
from server.agent.subagents.child import ChildNotifier, ChildTurnRunner, final_message
from server.agent.subagents.definitions import (
    WRITE_TOOLS,
    AgentDefinition,
    load_definitions,
    stricter,
)
from server.agent.subagents.worktree import Worktree, changes, create_worktree, remove_worktree
from server.agent.tools.base import ToolContext
from server.agent.turn import ThreadParts, TurnRunner
from server.edits.patch import FileEdit

if TYPE_CHECKING:
    from server.agent.subagents.host import Host

SUMMARY_CHARS = 2_000
"""Of a child's final message, what its item shows (the parent model gets all of it)."""
CONTEXT_CHARS = 8_000
"""Of the parent's conversation, what `context: "summary"` hands the child (the latest)."""
TURN_CHILDREN_PER_SLOT = 4
"""A turn spawns at most this many children per `max_subagents` slot: a model that spawns in
a loop is told to stop, instead of filling TETHER_HOME with waiting threads."""


class _WorktreeReview(Gate):
    """The parent's gate, except that a worktree child's changes are always put to the user."""

    def edit_approval_reason(self, paths: list[Any]) -> str | None:
        return super().edit_approval_reason(paths) or "Review a sub-agent's changes."


@dataclass
class Child:
    definition: AgentDefinition
    conversation: Conversation
    parts: ThreadParts
    item: SubagentItem
    writes: bool
    context: str | None
    worktree: Worktree | None = None
    runner: ChildTurnRunner | None = None
    lifecycle: asyncio.Task[None] | None = None
    ended: asyncio.Event = field(default_factory=asyncio.Event)
    queued: list[str] = field(default_factory=lambda: [])
    answer: str = ""
    closed: bool = False
    offered: bool = False

    @property
    def running(self) -> bool:
        return (
            self.runner is not None and self.runner.task is not None and not self.runner.task.done()
        )


class Team:
    def __init__(
        self,
        agent: Host,
        parent: TurnRunner,
        depth: int = 1,
        locks: dict[str, asyncio.Lock] | None = None,
    ) -> None:
        """`depth`: the children's (1: the thread the user talks to spawns them). `locks`: the
        write locks of a nested team whose parent holds the workspace's (its writing children
        take turns among themselves); None: the workspace's own (`Agent.write_lock`)."""
        self._agent = agent
        self._parent = parent
        self._depth = depth
        self._locks = locks
        self._children: dict[str, Child] = {}
        self._slots = asyncio.Semaphore(max(1, agent.settings.max_subagents))

    @property
    def children(self) -> list[Child]:
        return list(self._children.values())

    # the tools

    async def spawn(self, agent_type: str | None, prompt: str, context: str) -> str:
        child = await self._spawn(agent_type, prompt, context)
        return (
            f"Started {child.definition.name} as agent {child.conversation.id} "
            f"(mode {child.conversation.mode}). It works in parallel; call wait_agents with "
            "its id for its answer."
        )

    async def _spawn(self, agent_type: str | None, prompt: str, context: str) -> Child:
        parent = self._parent
        settings = self._agent.settings
        definitions, _problems = load_definitions(settings.home, parent.conversation.roots)
        name = agent_type or "general"
        definition = definitions.get(name)
        if definition is None:
            raise ToolFailed(f"There is no agent named {name!r}. Agents: {', '.join(definitions)}.")
        if not prompt.strip():
            raise ToolFailed("spawn_agent needs a `prompt`: the task, in full.")
        cap = TURN_CHILDREN_PER_SLOT * settings.max_subagents
        if len(self._children) >= cap:
            raise ToolFailed(
                f"This turn has spawned {cap} sub-agents, the most it may; wait for them "
                "(wait_agents) and give one of them more work (send_agent) instead."
            )
        mode = stricter(parent.gate.mode, definition.mode)
        tools = definition.tool_names(list(parent.services.tools), self._nested)
        item_id = new_id("item")
        worktree = None
        if definition.isolation == "worktree":
            base = settings.home.parent / f"{settings.home.name}-worktrees"
            worktree = await create_worktree(parent.conversation.cwd, base, item_id)
        cwd, roots = (
            (worktree.cwd, [worktree.path])
            if worktree
            else (parent.conversation.cwd, parent.conversation.roots)
        )
        conversation = self._agent.threads.create(
            cwd, roots, mode, definition.model or parent.model
        )
        thread = conversation.thread
        thread.parent_thread_id, thread.parent_item_id = parent.conversation.id, item_id
        thread.agent_type, thread.title = name, title_of([TextInput(prompt)])
        conversation.touch()
        self._agent.notifier.notify(ThreadStartedNotification(thread))
        item = SubagentItem(
            id=item_id,
            agent_thread_id=thread.id,
            agent_type=name,
            prompt=prompt,
            status="pending",
            isolation=definition.isolation,
        )
        parent.stream.started(item)
        parts = self._agent.child_parts(thread.id, parent.gate)
        started = await self._agent.parts(parent.conversation.id).hooks.run(
            settings,
            "SubagentStart",
            {"agent_id": thread.id, "agent_type": name},
            subject=name,
            stream=parent.stream,
            turn_files=parent.turn_files,
        )
        notes = [started.additional_context] if started and started.additional_context else []
        if context == "summary":
            notes.insert(0, self._parent_summary())
        child = Child(
            definition,
            conversation,
            parts,
            item,
            writes=worktree is None and mode != "readOnly" and bool(WRITE_TOOLS & set(tools)),
            context="\n\n".join(notes) or None,
            worktree=worktree,
        )
        self._children[thread.id] = child
        self._launch(child, prompt)
        return child

    async def wait(self, ids: list[str], timeout_ms: int) -> str:
        children = [self._child(i) for i in ids] if ids else self.children
        waits = [asyncio.ensure_future(c.ended.wait()) for c in children if not c.ended.is_set()]
        if waits:
            _, pending = await asyncio.wait(waits, timeout=max(timeout_ms, 0) / 1000)
            for w in pending:
                w.cancel()
        for c in children:
            if c.ended.is_set() and c.worktree is not None and not c.offered:
                await self._offer(c)
        return json.dumps([self._report(c) for c in children], indent=1)

    def send(self, child_id: str, message: str) -> str:
        child = self._child(child_id)
        if child.closed:
            raise ToolFailed(f"Agent {child_id} is closed; spawn another one.")
        if child.running and child.runner is not None:
            child.runner.steer([TextInput(message)])
            return f"Sent to {child_id}: it reads it at its next step."
        if not child.ended.is_set():
            child.queued.append(message)
            return f"{child_id} has not started yet; it gets the message after its task."
        if child.offered:
            raise ToolFailed(f"Agent {child_id}'s worktree is gone; spawn another one.")
        self._launch(child, message)
        return f"{child_id} works on your message now; wait_agents for its answer."

    async def close(self, child_id: str) -> str:
        child = self._child(child_id)
        if not child.closed:
            child.closed = True
            await self._stop(child)
            if child.worktree is not None and not child.offered and child.answer:
                await self._offer(child)
            self._set_status(child, "closed")
        return json.dumps(self._report(child))

    async def end(self, parent_status: str) -> None:
        """The parent turn ends: interrupt what still runs, propose what worktree children left
        (when the parent completed; else their worktree stays, and the item says where), and
        complete every child's item (`item/completed`, its final state)."""
        for child in self.children:
            if not child.ended.is_set():
                await self._stop(child)
        for child in self.children:
            if child.worktree is None or child.offered:
                continue
            if parent_status == "completed" and child.answer:
                with contextlib.suppress(Exception):  # a failed proposal must not end the turn
                    await self._offer(child)
            else:
                child.item.summary = (
                    f"{child.item.summary or ''}\n\nIts worktree is kept at {child.worktree.path}."
                ).strip()
        for child in self.children:  # final now: nothing updates it after the turn
            if child.item.status in ("pending", "inProgress"):
                child.item.status = "interrupted"
            self._parent.stream.completed(child.item)

    # a child's life

    def _launch(self, child: Child, message: str) -> None:
        child.ended.clear()
        self._set_status(child, "pending")
        child.lifecycle = asyncio.get_running_loop().create_task(
            self._live(child, message), name=f"subagent {child.conversation.id}"
        )

    async def _live(self, child: Child, message: str) -> None:
        try:
            async with self._slots:
                lock = self._write_lock(child) if child.writes else contextlib.nullcontext()
                async with lock:
                    await self._turn(child, message)
                    while child.queued and not child.closed:
                        text = "\n\n".join(child.queued)
                        child.queued.clear()
                        await self._turn(child, text)
        except asyncio.CancelledError:
            self._set_status(child, "closed" if child.closed else "interrupted")
        except Exception as exc:  # a child's failure is the parent model's observation
            child.answer = f"The sub-agent could not run: {exc}"
            child.item.summary = child.answer
            self._set_status(child, "failed")
        finally:
            child.ended.set()

    async def _turn(self, child: Child, message: str) -> None:
        parent = self._parent
        services = dataclasses.replace(
            self._agent.services(),
            notifier=ChildNotifier(
                self._agent.notifier,
                parent.conversation.id,
                child.definition.name,
                lambda note: self._heard(child, note),
            ),
            tools={
                n: parent.services.tools[n]
                for n in child.definition.tool_names(list(parent.services.tools), self._nested)
            },
            subagents=(lambda r: self._nested_team(child, r)) if self._nested else None,
        )
        runner = ChildTurnRunner(
            services,
            child.parts,
            child.conversation.thread.model or parent.model,
            [TextInput(message)],
            self._agent.turn_finished,
            child.definition,
            child.context,
        )
        child.context = None  # the first turn's only
        child.runner = runner
        child.item.agent_turn_ids.append(runner.turn.id)
        if child.worktree is None:
            parent.turn_files.also.append(runner.turn_files)
        self._set_status(child, "inProgress")
        self._agent.start_child(runner)
        assert runner.task is not None
        await asyncio.wait({runner.task})
        child.answer = final_message(runner)
        child.item.summary = _cut(child.answer, SUMMARY_CHARS)
        child.item.activity = None
        status = runner.turn.status
        self._set_status(
            child,
            "closed"
            if child.closed
            else "completed"
            if status == "completed"
            else "interrupted"
            if status == "interrupted"
            else "failed",
        )

    async def _stop(self, child: Child) -> None:
        if child.running and child.runner is not None:
            child.runner.interrupt()
        elif child.lifecycle is not None and not child.lifecycle.done():
            child.lifecycle.cancel()
        if child.lifecycle is not None:
            await asyncio.wait({child.lifecycle}, timeout=5.0)

    def _heard(self, child: Child, note: Notification) -> None:
        """A notification of the child's turn: what the parent's item shows of it."""
        if isinstance(note, ItemStartedNotification):
            activity = _activity(note.item)
            if activity is not None:
                child.item.activity = activity
                self._update(child)
        elif isinstance(note, TurnDiffUpdatedNotification) and child.worktree is None:
            changed = set(child.item.changed_files)
            if child.runner is not None:
                changed |= set(child.runner.turn_files.checkpoint.changes())
            child.item.changed_files = sorted(changed)
            self._update(child)
            self._parent.stream.diff_updated(self._parent.turn_files.diff())

    async def _offer(self, child: Child) -> None:
        """Propose what a worktree child changed, as a fileChange of the parent turn, then
        remove the worktree."""
        child.offered = True
        tree = child.worktree
        assert tree is not None
        parent = self._parent
        found, notes = await changes(tree)
        edits = [
            FileEdit(str(path), old, new)
            for path, new in found
            if (old := parent.files.read(path)) != new
        ]
        outcome = "It changed nothing."
        if edits:
            ctx = ToolContext(
                parent.conversation,
                parent.stream,
                parent.gate.variant(_WorktreeReview),
                parent.files,
                parent.turn_files,
                parent.services.settings,
            )
            outcome = await review_and_apply(ctx, edits)
            child.item.changed_files = sorted(e.path for e in edits)
        await remove_worktree(tree)
        child.answer += f"\n\n[Its worktree changes were proposed to the user: {outcome}]"
        if notes:
            child.answer += "\n" + "\n".join(notes)
        self._update(child)

    # helpers

    def _write_lock(self, child: Child) -> asyncio.Lock:
        root = child.conversation.roots[0]
        if self._locks is None:
            return self._agent.write_lock(root)
        return self._locks.setdefault(str(root), asyncio.Lock())

    def _nested_team(self, child: Child, runner: TurnRunner) -> Team:
        """A child's own team: a writing child holds the workspace's lock while it waits for
        its children, so they take turns under it instead of waiting for it (a deadlock)."""
        locks = {} if child.writes else self._locks
        return Team(self._agent, runner, self._depth + 1, locks)

    @property
    def _nested(self) -> bool:
        """Whether the children may spawn children of their own (`max_subagent_depth`)."""
        return self._depth < self._agent.settings.max_subagent_depth

    def _child(self, child_id: str) -> Child:
        child = self._children.get(child_id)
        if child is None:
            raise ToolFailed(
                f"No agent {child_id!r} in this turn. "
                f"Agents: {', '.join(self._children) or 'none'}."
            )
        return child

    def _report(self, child: Child) -> dict[str, Any]:
        report: dict[str, Any] = {
            "id": child.conversation.id,
            "agent_type": child.definition.name,
            "status": child.item.status,
        }
        if child.ended.is_set():
            report["message"] = child.answer
        elif child.item.activity:
            report["activity"] = child.item.activity
        return report

    def _set_status(self, child: Child, status: SubagentStatus) -> None:
        child.item.status = status
        self._update(child)

    def _update(self, child: Child) -> None:
        self._parent.stream.updated(child.item)

    def _parent_summary(self) -> str:
        """The latest of the parent's conversation, for a child spawned with `context:
        "summary"`: its user messages and answers (tool traffic left out)."""
        lines: list[str] = []
        for entry in self._parent.conversation.entries:
            if isinstance(entry, UserEntry):
                lines.append(f"User: {entry.text}")
            elif isinstance(entry, AssistantEntry):
                lines.append(f"Parent agent: {entry.text}")
        text = "\n\n".join(lines)[-CONTEXT_CHARS:]
        return f"<parent_context>\n{text}\n</parent_context>"


def _activity(item: Item) -> str | None:
    if isinstance(item, CommandExecutionItem):
        return f"$ {_cut(item.command, 120)}"
    if isinstance(item, ToolCallItem):
        args = item.arguments if isinstance(item.arguments, str) else json.dumps(item.arguments)
        return f"{item.tool} {_cut(args, 120)}"
    if isinstance(item, FileChangeItem):
        return "editing " + ", ".join(c.path.rsplit("/", 1)[-1] for c in item.changes)
    return None


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
