"""The agent as the handlers see it: one object per server, one method per protocol request.

Per thread it keeps three parts, each the only owner of its state: the `Conversation` (from
`ThreadManager`), the `Gate` with the session grants, and the `WorkspaceWatcher`; and the map
of running turns (`TurnRunner`), one at most per thread.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from protocol.approval import HunkSelection
from protocol.base import LauncherKind, Mode
from protocol.errors import ErrorCode
from protocol.item import Item, SubagentItem, UserInput
from protocol.model import ModelInfo, ModelListResult
from protocol.subagent import AgentListResult
from protocol.thread import Thread, ThreadListResult, ThreadModeChangedNotification
from protocol.turn import Turn
from sandbox.executors import make_executor
from sandbox.policy import Policy
from server.agent.client import Notifier
from server.agent.conversation import Conversation
from server.agent.errors import AgentError
from server.agent.files import DocumentSource, EditorFiles
from server.agent.gate import Gate
from server.agent.hooks import ThreadHooks
from server.agent.images import ImageRefused, check_images
from server.agent.model import ModelClient
from server.agent.subagents.definitions import load_definitions, stricter
from server.agent.subagents.team import Team
from server.agent.threads import ThreadManager
from server.agent.tools.registry import default_tools
from server.agent.turn import ThreadParts, TurnRunner, TurnServices
from server.agent.undo import revert_change, revert_turn
from server.agent.watcher import WorkspaceWatcher
from server.config import Settings
from server.edits.checkpoints import CheckpointStore
from server.mcp.threads import McpThreads

log = logging.getLogger(__name__)
R = TypeVar("R", bound=TurnRunner)


@dataclass
class _ClientKey:
    base_url: str | None
    api_key: str | None
    wire_api: str


class Agent:
    def __init__(
        self,
        settings: Settings,
        notifier: Notifier,
        read_buffer: Callable[[Path], str | None],
        launcher: LauncherKind,
        documents: DocumentSource | None = None,
    ) -> None:
        """`documents`: the client's buffers, when it keeps them to itself (`tether acp`)."""
        self.settings = settings
        self.notifier = notifier
        self.read_buffer = read_buffer
        self.documents = documents
        self.launcher: LauncherKind = launcher
        self.threads = ThreadManager(settings.home)
        self.checkpoints = CheckpointStore(settings.home / "checkpoints")
        self.tools = default_tools()
        self._parts: dict[str, ThreadParts] = {}
        self._running: dict[str, TurnRunner] = {}
        """The running turn of each thread that has one."""
        self._client: ModelClient | None = None
        self._client_key: _ClientKey | None = None
        self._client_lock = asyncio.Lock()
        self._write_locks: dict[str, asyncio.Lock] = {}
        """Per workspace root: sub-agents that write there run one at a time."""
        self.mcp = McpThreads(settings.home, notifier, launcher)
        """Each open thread's MCP servers, started in the background (`server.mcp`)."""

    def update_settings(self, settings: Settings) -> None:
        if settings.home != self.settings.home:
            self.threads = ThreadManager(settings.home)
            self._parts = {}
            self.checkpoints = CheckpointStore(settings.home / "checkpoints")
        self.settings = settings

    # threads

    def _thread(self, thread_id: str) -> ThreadParts:
        """The thread's parts; the first time, its gate, and its watcher started."""
        if (parts := self._parts.get(thread_id)) is not None:
            return parts
        conversation = self.threads.get(thread_id)
        if conversation is None:
            raise AgentError(ErrorCode.THREAD_NOT_FOUND, f"thread not found: {thread_id}")
        gate = Gate(conversation, self.launcher, self.settings.home)
        executor = make_executor(self.settings.executor, thread_id)
        if executor.image is not None:
            gate.container = (executor.kind, executor.image)
        parts = ThreadParts(
            conversation,
            gate,
            self._watch(conversation),
            ThreadHooks(conversation, self.notifier),
            executor,
        )
        self._parts[thread_id] = parts
        self._open_mcp(conversation)  # a resumed thread's servers; started ones stay as they are
        return parts

    def _open_mcp(self, conversation: Conversation) -> None:
        """Start the thread's MCP servers in the background; nothing waits for them here. The
        sandbox policy is asked for when a stdio server starts (the thread's gate)."""
        thread_id = conversation.id
        self.mcp.open(
            thread_id,
            conversation.cwd,
            conversation.roots,
            lambda network: self._thread(thread_id).gate.mcp_server_policy(network),
            conversation.thread.parent_thread_id,  # a sub-agent shares its parent's servers
        )

    def parts(self, thread_id: str) -> ThreadParts:
        """A thread's parts, for the sub-agent team (`server.agent.subagents.team`)."""
        return self._thread(thread_id)

    def child_parts(self, thread_id: str, parent: Gate) -> ThreadParts:
        """A sub-agent thread's parts; its gate shares the parent's session grants."""
        parts = self._thread(thread_id)
        parts.gate.share_grants(parent)
        return parts

    def start_child(self, runner: TurnRunner) -> None:
        """Run a sub-agent's turn like any turn (so `turn/interrupt` stops it)."""
        self._refuse_if_running(runner.conversation.id, "wait for it to end")
        self._start(runner)

    def write_lock(self, root: Path) -> asyncio.Lock:
        return self._write_locks.setdefault(str(root), asyncio.Lock())

    def list_agents(self, cwd: str) -> AgentListResult:
        """The sub-agent definitions a thread of `cwd` can spawn (`agent/list`)."""
        roots = [Path(cwd)] if Path(cwd).is_absolute() else []
        found, problems = load_definitions(self.settings.home, roots)
        return AgentListResult([d.info() for d in found.values()], problems)

    def _watch(self, conversation: Conversation) -> WorkspaceWatcher:
        """Watch the thread's roots, and take their first snapshot in the background: it reads
        every file once, which the first command of a turn should not wait for."""
        watcher = WorkspaceWatcher(conversation.roots)
        watcher.start()
        loop = asyncio.get_running_loop()
        for root in conversation.roots:
            loop.run_in_executor(None, self.checkpoints.snapshot, root)
        return watcher

    def start_thread(
        self, cwd: str, roots: list[str] | None, mode: Mode | None, model: str | None
    ) -> Thread:
        path = Path(cwd)
        if not path.is_absolute() or not path.is_dir():
            raise AgentError(
                ErrorCode.INVALID_PARAMS,
                f"invalid params for thread/start: cwd {cwd!r} must be an absolute "
                "path to an existing directory",
            )
        extra = [Path(r) for r in roots or []]
        for r in extra:
            if not r.is_absolute() or not r.is_dir():
                raise AgentError(
                    ErrorCode.INVALID_PARAMS,
                    f"invalid params for thread/start: "
                    f"root {str(r)!r} must be an absolute path to a directory",
                )
        all_roots = list(dict.fromkeys(p.resolve() for p in [path, *extra]))
        chosen = model or self.settings.effective_model or ""
        state = self.threads.create(
            path.resolve(), all_roots, mode or self.settings.default_mode, chosen
        )
        self._open_mcp(state)
        return state.thread

    def list_threads(
        self,
        cursor: str | None,
        limit: int | None,
        cwd: str | None = None,
        parent_thread_id: str | None = None,
        include_subagents: bool = False,
    ) -> ThreadListResult:
        """Newest first; sub-agent threads only when asked for (under their parent)."""
        threads = sorted(
            self.threads.all_threads(), key=lambda t: (t.updated_at, t.id), reverse=True
        )
        if cwd is not None:
            threads = [t for t in threads if t.cwd == cwd]
        if parent_thread_id is not None:
            threads = [t for t in threads if t.parent_thread_id == parent_thread_id]
        elif not include_subagents:
            threads = [t for t in threads if t.parent_thread_id is None]
        if cursor:
            try:
                at, _, tid = base64.urlsafe_b64decode(cursor.encode()).decode().partition(":")
                key = (int(at), tid)
            except (ValueError, UnicodeDecodeError):
                raise AgentError(
                    ErrorCode.INVALID_PARAMS, "invalid params for thread/list: unknown cursor"
                ) from None
            threads = [t for t in threads if (t.updated_at, t.id) < key]
        size = min(max(limit or 50, 1), 500)
        page = threads[:size]
        next_cursor = None
        if len(threads) > size:
            last = page[-1]
            next_cursor = base64.urlsafe_b64encode(f"{last.updated_at}:{last.id}".encode()).decode()
        return ThreadListResult(threads=page, next_cursor=next_cursor)

    def read_thread(self, thread_id: str) -> tuple[Thread, list[Turn]]:
        conversation = self._thread(thread_id).conversation
        return conversation.thread, conversation.turns

    async def close_thread(self, thread_id: str) -> None:
        """End what the thread holds while loaded (its container, its watcher); the thread
        stays on disk, and `thread/resume` or a new turn loads it again."""
        self._thread(thread_id)
        self._refuse_if_running(thread_id)
        parts = self._parts.pop(thread_id)
        await parts.watcher.stop()
        await parts.executor.close()

    def set_mode(self, thread_id: str, mode: Mode) -> Thread:
        conversation = self._thread(thread_id).conversation
        if conversation.mode != mode:
            conversation.set_mode(mode)
            self.notifier.notify(ThreadModeChangedNotification(thread_id=thread_id, mode=mode))
        for parts in list(self._parts.values()):  # its sub-agents never run looser than it
            child = parts.conversation
            if (
                child.thread.parent_thread_id == thread_id
                and stricter(mode, child.mode) != child.mode
            ):
                self.set_mode(child.id, mode)
        return conversation.thread

    # turns

    def start_turn(
        self,
        thread_id: str,
        user_input: list[UserInput],
        model: str | None,
        gate: type[Gate] = Gate,
        output_schema: dict[str, Any] | None = None,
    ) -> Turn:
        """`gate`: the rules the turn's tools pass (`server.agent.inline` proposes only);
        `output_schema`: what the final message must be JSON of (`server.agent.structured`)."""
        parts = self._thread(thread_id)
        self._refuse_if_running(thread_id)
        if not user_input:
            raise AgentError(
                ErrorCode.INVALID_PARAMS, "invalid params for turn/start: `input` is empty"
            )
        _check_images("turn/start", user_input)
        chosen = self._model_for(parts.conversation, model)
        parts.conversation.name_after(user_input)
        turn_parts = ThreadParts(
            parts.conversation, parts.gate.variant(gate), parts.watcher, parts.hooks, parts.executor
        )
        runner = TurnRunner(
            self._services(),
            turn_parts,
            chosen,
            user_input,
            self.turn_finished,
            output_schema=output_schema,
        )
        return self._start(runner).turn

    def start_runner(
        self, thread_id: str, build: Callable[[TurnServices, ThreadParts], R], hint: str
    ) -> R:
        """Start a turn of another kind (`server.agent.propose`): `build` makes its runner from
        the services and the thread's parts, with `on_finish=agent.turn_finished`; `hint` ends
        the error message when a turn is already running."""
        parts = self._thread(thread_id)
        self._refuse_if_running(thread_id, hint)
        return self._start(build(self._services(), parts))

    def file_policy(self, thread_id: str) -> Policy:
        """The policy the thread's file tools check paths against (secrets, roots)."""
        return self._thread(thread_id).gate.file_policy()

    def model_for(self, thread_id: str) -> str:
        """The model a new turn of the thread uses; raises MODEL_UNAVAILABLE without one."""
        return self._model_for(self._thread(thread_id).conversation, None)

    def _model_for(self, conversation: Conversation, model: str | None) -> str:
        chosen = model or conversation.thread.model or self.settings.effective_model
        if (problem := self.settings.endpoint_problem()) is not None or not chosen:
            raise AgentError(ErrorCode.MODEL_UNAVAILABLE, problem or "No model is configured.")
        return chosen

    def _refuse_if_running(self, thread_id: str, hint: str = "interrupt it or steer it") -> None:
        if (running := self._running.get(thread_id)) is not None:
            raise AgentError(
                ErrorCode.TURN_ALREADY_RUNNING,
                f"a turn is already running on thread {thread_id}: {running.turn.id}; {hint}",
            )

    def _start(self, runner: R) -> R:
        self._running[runner.conversation.id] = runner
        runner.start()
        return runner

    def turn_finished(self, runner: TurnRunner) -> None:
        """A runner's `on_finish`: the thread has no running turn from now on."""
        if self._running.get(runner.conversation.id) is runner:
            del self._running[runner.conversation.id]

    def compact(self, thread_id: str) -> None:
        """Compact now (a turn of its own), or at the running turn's next model call."""
        parts = self._thread(thread_id)
        if (running := self._running.get(thread_id)) is not None:
            running.request_compaction()
            return
        model = self._model_for(parts.conversation, None)
        self._start(
            TurnRunner(self._services(), parts, model, [], self.turn_finished, compact_only=True)
        )

    def _running_turn(self, thread_id: str, turn_id: str) -> TurnRunner:
        self._thread(thread_id)
        runner = self._running.get(thread_id)
        if runner is None or runner.turn.id != turn_id:
            raise AgentError(
                ErrorCode.TURN_NOT_RUNNING, f"turn {turn_id} is not running on thread {thread_id}"
            )
        return runner

    def steer(self, thread_id: str, turn_id: str, user_input: list[UserInput]) -> None:
        runner = self._running_turn(thread_id, turn_id)
        _check_images("turn/steer", user_input)
        runner.steer(user_input)

    async def interrupt(self, thread_id: str, turn_id: str) -> None:
        runner = self._running_turn(thread_id, turn_id)
        runner.interrupt()
        if runner.task is not None:
            await asyncio.wait({runner.task}, timeout=2.0)

    async def revert_change(
        self, thread_id: str, item_id: str, hunks: list[HunkSelection] | None
    ) -> Item:
        parts = self._thread(thread_id)
        return await revert_change(
            parts.conversation,
            parts.gate,
            EditorFiles(self.read_buffer, self.notifier),
            self.checkpoints,
            self.notifier,
            item_id,
            hunks,
        )

    def revert_turn(self, thread_id: str, turn_id: str, force: bool) -> tuple[list[str], list[str]]:
        parts = self._thread(thread_id)
        running = self._running.get(thread_id)
        if running is not None and running.turn.id == turn_id:
            raise AgentError(
                ErrorCode.TURN_ALREADY_RUNNING,
                f"turn {turn_id} is still running; interrupt it first",
            )
        restored, conflicts = self._revert_with_children(parts, turn_id, force)
        return list(dict.fromkeys(restored)), list(dict.fromkeys(conflicts))

    def _revert_with_children(
        self, parts: ThreadParts, turn_id: str, force: bool
    ) -> tuple[list[str], list[str]]:
        """Revert the turns of the sub-agents the turn spawned (theirs first, deepest first),
        then the turn itself."""
        restored: list[str] = []
        conflicts: list[str] = []
        for child_id, child_turns in self._children_of(parts.conversation, turn_id):
            child = self._thread(child_id)
            self._refuse_if_running(child_id, "interrupt the sub-agent first")
            for child_turn in reversed(child_turns):
                r, c = self._revert_with_children(child, child_turn, force)
                restored += r
                conflicts += c
        r, c = revert_turn(
            parts.conversation, parts.gate, self.checkpoints, self.notifier, turn_id, force
        )
        return restored + r, conflicts + c

    def _children_of(self, conversation: Conversation, turn_id: str) -> list[tuple[str, list[str]]]:
        """The sub-agents a turn spawned in its own workspace, latest first, with their turns
        (a worktree child's changes came back as the parent's own fileChange)."""
        turn = conversation.turn(turn_id)
        items = [] if turn is None else turn.items
        return [
            (i.agent_thread_id, i.agent_turn_ids)
            for i in reversed(items)
            if isinstance(i, SubagentItem)
            and i.isolation is None
            and self.threads.get(i.agent_thread_id) is not None
        ]

    async def list_models(self) -> ModelListResult:
        ids: list[str] = []
        if self.settings.endpoint_problem() is None:
            ids = await (await self.model_client()).list_models()
        configured = [m for m in (self.settings.effective_model, *self.settings.models) if m]
        merged = list(dict.fromkeys([*configured, *ids]))
        return ModelListResult(
            models=[ModelInfo(id=m) for m in merged], default=self.settings.effective_model
        )

    async def model_client(self) -> ModelClient:
        """The client for the configured endpoint. Built in a worker thread: it imports the
        openai package (about a second), which must not stall the event loop and with it
        every request, `turn/start`'s own answer included."""
        s = self.settings
        key = _ClientKey(s.base_url, s.api_key, s.wire_api)
        async with self._client_lock:
            if self._client is None or key != self._client_key:
                self._client = await asyncio.to_thread(
                    ModelClient,
                    base_url=s.base_url,
                    api_key=s.api_key,
                    wire_api=s.wire_api,
                    timeout_s=s.request_timeout_s,
                )
                self._client_key = key
            return self._client

    def _services(self) -> TurnServices:
        return TurnServices(
            settings=self.settings,
            notifier=self.notifier,
            model_client=self.model_client,
            tools=self.tools,
            read_buffer=self.read_buffer,
            checkpoints=self.checkpoints,
            documents=self.documents,
            mcp=self.mcp.manager,
            subagents=lambda runner: Team(self, runner),
        )

    def services(self) -> TurnServices:
        """What a turn borrows, for a sub-agent's turn (`server.agent.subagents.team`)."""
        return self._services()

    async def shutdown(self) -> None:
        """Interrupt every running turn (killing its processes) and wait for them to end."""
        tasks = []
        for runner in list(self._running.values()):
            runner.interrupt()
            if runner.task is not None:
                tasks.append(runner.task)
        if tasks:
            await asyncio.wait(tasks, timeout=2.0)
        await self.mcp.close()
        for parts in self._parts.values():
            await parts.watcher.stop()
            await parts.executor.close()
            if parts.hooks.session_started:
                await parts.hooks.run(self.settings, "SessionEnd", {"reason": "other"})


def _check_images(method: str, user_input: list[UserInput]) -> None:
    try:
        check_images(user_input)
    except ImageRefused as exc:
        raise AgentError(ErrorCode.INVALID_PARAMS, f"invalid params for {method}: {exc}") from None


__all__ = ["Agent", "AgentError"]
