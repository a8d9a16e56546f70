"""The agent as the handlers see it: one object per server, one method per protocol request."""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from protocol.approval import HunkSelection
from protocol.base import LauncherKind, Mode
from protocol.errors import ErrorCode
from protocol.item import Item, UserInput
from protocol.model import ModelInfo, ModelListResult
from protocol.thread import Thread, ThreadListResult, ThreadModeChangedNotification
from protocol.turn import Turn
from server.agent.files import EditorFiles
from server.agent.gate import Gate
from server.agent.model import ModelClient
from server.agent.stream import Notifier, TurnStream
from server.agent.threads import ThreadManager, ThreadState
from server.agent.tools.registry import default_tools
from server.agent.turn import TurnRunner, TurnServices
from server.agent.undo import UndoError, revert_change, revert_turn
from server.agent.watcher import WorkspaceWatcher
from server.config import Settings
from server.edits.checkpoints import CheckpointStore

log = logging.getLogger(__name__)


class AgentError(Exception):
    """A request the agent cannot serve; the handlers turn it into a JSON-RPC error."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


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
    ) -> None:
        self.settings = settings
        self.notifier = notifier
        self.read_buffer = read_buffer
        self.launcher: LauncherKind = launcher
        self.threads = ThreadManager(settings.home)
        self.checkpoints = CheckpointStore(settings.home / "checkpoints")
        self.tools = default_tools()
        self._client: ModelClient | None = None
        self._client_key: _ClientKey | None = None
        self._client_lock = asyncio.Lock()

    def update_settings(self, settings: Settings) -> None:
        if settings.home != self.settings.home:
            self.threads = ThreadManager(settings.home)
            self.checkpoints = CheckpointStore(settings.home / "checkpoints")
        self.settings = settings

    # threads

    def _thread(self, thread_id: str) -> ThreadState:
        state = self.threads.get(thread_id)
        if state is None:
            raise AgentError(ErrorCode.THREAD_NOT_FOUND, f"thread not found: {thread_id}")
        self._watch(state)
        return state

    def _watch(self, state: ThreadState) -> None:
        """Watch the thread's roots, and take their first snapshot in the background: it reads
        every file once, which the first command of a turn should not wait for."""
        if state.watcher is None:
            state.watcher = WorkspaceWatcher(state.roots)
            state.watcher.start()
            loop = asyncio.get_running_loop()
            for root in state.roots:
                loop.run_in_executor(None, self.checkpoints.snapshot, root)

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
        return state.thread

    def list_threads(
        self, cursor: str | None, limit: int | None, cwd: str | None = None
    ) -> ThreadListResult:
        threads = sorted(
            self.threads.all_threads(), key=lambda t: (t.updated_at, t.id), reverse=True
        )
        if cwd is not None:
            threads = [t for t in threads if t.cwd == cwd]
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
        state = self._thread(thread_id)
        return state.thread, state.turns

    def set_mode(self, thread_id: str, mode: Mode) -> Thread:
        state = self._thread(thread_id)
        if state.thread.mode != mode:
            state.set_mode(mode)
            self.notifier.notify(ThreadModeChangedNotification(thread_id=thread_id, mode=mode))
        return state.thread

    # turns

    def start_turn(
        self,
        thread_id: str,
        user_input: list[UserInput],
        model: str | None,
        gate: type[Gate] = Gate,
    ) -> Turn:
        """`gate`: the rules the turn's tools pass (`server.agent.inline` proposes only)."""
        state = self._thread(thread_id)
        if state.running is not None:
            raise AgentError(
                ErrorCode.TURN_ALREADY_RUNNING,
                f"a turn is already running on thread {thread_id}: "
                f"{state.running.turn.id}; interrupt it or steer it",
            )
        if not user_input:
            raise AgentError(
                ErrorCode.INVALID_PARAMS, "invalid params for turn/start: `input` is empty"
            )
        chosen = model or state.thread.model or self.settings.effective_model
        if (problem := self.settings.endpoint_problem()) is not None or not chosen:
            raise AgentError(ErrorCode.MODEL_UNAVAILABLE, problem or "No model is configured.")
        state.name_after(user_input)
        runner = TurnRunner(self._services(gate), state, chosen, user_input)
        runner.start()
        return runner.turn

    def compact(self, thread_id: str) -> None:
        """Compact now (a turn of its own), or at the running turn's next model call."""
        state = self._thread(thread_id)
        if state.running is not None:
            state.running.request_compaction()
            return
        model = state.thread.model or self.settings.effective_model
        if (problem := self.settings.endpoint_problem()) is not None or not model:
            raise AgentError(ErrorCode.MODEL_UNAVAILABLE, problem or "No model is configured.")
        TurnRunner(self._services(), state, model, [], compact_only=True).start()

    def _running(self, thread_id: str, turn_id: str) -> TurnRunner:
        state = self._thread(thread_id)
        runner = state.running
        if runner is None or runner.turn.id != turn_id:
            raise AgentError(
                ErrorCode.TURN_NOT_RUNNING, f"turn {turn_id} is not running on thread {thread_id}"
            )
        return runner

    def steer(self, thread_id: str, turn_id: str, user_input: list[UserInput]) -> None:
        self._running(thread_id, turn_id).steer(user_input)

    async def interrupt(self, thread_id: str, turn_id: str) -> None:
        runner = self._running(thread_id, turn_id)
        runner.interrupt()
        if runner.task is not None:
            await asyncio.wait({runner.task}, timeout=2.0)

    async def revert_change(
        self, thread_id: str, item_id: str, hunks: list[HunkSelection] | None
    ) -> Item:
        state = self._thread(thread_id)
        try:
            return await revert_change(
                state,
                EditorFiles(self.read_buffer, self.notifier),
                self.checkpoints,
                self.notifier,
                item_id,
                hunks,
            )
        except UndoError as exc:
            raise AgentError(exc.code, exc.message) from None

    def revert_turn(self, thread_id: str, turn_id: str, force: bool) -> tuple[list[str], list[str]]:
        state = self._thread(thread_id)
        try:
            return revert_turn(state, self.checkpoints, self.notifier, turn_id, force)
        except UndoError as exc:
            raise AgentError(exc.code, exc.message) from None

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

    def _services(self, gate: type[Gate] = Gate) -> TurnServices:
        return TurnServices(
            settings=self.settings,
            notifier=self.notifier,
            model_client=self.model_client,
            tools=self.tools,
            gate_for=lambda state, stream: gate(state, stream, self.launcher, self.settings),
            read_buffer=self.read_buffer,
            checkpoints=self.checkpoints,
        )

    async def shutdown(self) -> None:
        """Interrupt every running turn (killing its processes) and wait for them to end."""
        tasks = []
        for state in self.threads.live():
            if state.running is not None and state.running.task is not None:
                state.running.interrupt()
                tasks.append(state.running.task)
        if tasks:
            await asyncio.wait(tasks, timeout=2.0)
        for state in self.threads.live():
            if state.watcher is not None:
                await state.watcher.stop()


__all__ = ["Agent", "AgentError", "TurnStream"]
