"""Fakes of what the agent core talks to, for unit tests of the gate, the turn loop, changes and
undo. Only the outside is faked: the client (answers are scripted per request method) and the
model (scripted events per call). The conversation, the gate, the stream and the files are the
real ones, over a temporary TETHER_HOME and workspace."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar, cast

import msgspec

from protocol.base import LauncherKind, Mode, Notification, ServerRequest
from protocol.item import TextInput
from protocol.turn import Turn
from server.agent.conversation import Conversation
from server.agent.errors import ModelError
from server.agent.files import EditorFiles
from server.agent.gate import Gate
from server.agent.hooks import ThreadHooks
from server.agent.ids import new_id, now_ms
from server.agent.model import ModelClient, ModelEvent
from server.agent.stream import TurnStream
from server.agent.threads import ThreadManager
from server.agent.tools.base import Tool, ToolContext
from server.agent.turn import ThreadParts, TurnRunner, TurnServices
from server.agent.turn_files import TurnFiles
from server.agent.watcher import WorkspaceWatcher
from server.config import Settings
from server.edits.checkpoints import CheckpointStore

T = TypeVar("T")


class FakeClient:
    """The editor: records what it is told; answers requests from `answers[method]`, in order."""

    def __init__(self, **answers: list[Any]) -> None:
        self.sent: list[Notification] = []
        self.wire: list[dict[str, Any]] = []
        """What was sent, as it was at the time (items change after they are sent)."""
        self.asked: list[ServerRequest[Any]] = []
        self._answers = {method.replace("_", "/"): list(a) for method, a in answers.items()}
        self.while_asked: Callable[[ServerRequest[Any]], None] | None = None
        """Runs when a request arrives, before it is answered (the user acting meanwhile)."""

    def answer(self, method: str, *results: Any) -> None:
        self._answers.setdefault(method, []).extend(results)

    def notify(self, note: Notification) -> None:
        self.sent.append(note)
        self.wire.append({"method": note.METHOD, **msgspec.to_builtins(note)})

    async def request(self, params: ServerRequest[T]) -> T:
        self.asked.append(params)
        if self.while_asked is not None:
            self.while_asked(params)
        queue = self._answers.get(params.METHOD)
        assert queue, f"the test did not expect {params.METHOD}"
        return cast(T, queue.pop(0))

    def methods(self) -> list[str]:
        return [type(n).METHOD for n in self.sent]

    def item_statuses(self, method: str) -> list[str]:
        return [n["item"].get("status", "") for n in self.wire if n["method"] == method]

    def asked_methods(self) -> list[str]:
        return [type(p).METHOD for p in self.asked]


@dataclass
class FakeModel:
    """A model endpoint: each call streams the next script; a ModelError in a script is raised
    at that point, a callable is called there (to act while the model streams)."""

    scripts: list[list[ModelEvent | ModelError | Callable[[], None]]]
    calls: list[dict[str, Any]] = field(default_factory=lambda: [])

    async def stream(self, **request: Any) -> AsyncIterator[ModelEvent]:
        self.calls.append(request)
        for event in self.scripts.pop(0):
            if isinstance(event, ModelError):
                raise event
            if callable(event):
                event()
                continue
            yield event

    async def list_models(self) -> list[str]:
        return ["fake"]

    def as_client(self) -> ModelClient:
        return cast(ModelClient, self)


@dataclass
class World:
    """One thread over a workspace in `tmp_path`, with its gate and a client."""

    tmp: Path
    mode: Mode = "agent"
    launcher: LauncherKind = "bwrap"
    client: FakeClient = field(default_factory=FakeClient)
    buffers: dict[Path, str] = field(default_factory=lambda: {})

    def __post_init__(self) -> None:
        self.home = self.tmp / "home"
        self.workspace = self.tmp / "ws"
        self.home.mkdir(exist_ok=True)
        self.workspace.mkdir(exist_ok=True)
        self.settings = Settings(home=self.home)
        self.threads = ThreadManager(self.home)
        self.conversation: Conversation = self.threads.create(
            self.workspace, [self.workspace], self.mode, "m"
        )
        self.gate = Gate(self.conversation, self.launcher, self.home)
        self.checkpoints = CheckpointStore(self.home / "checkpoints")
        self.files = EditorFiles(self.buffers.get, self.client)

    def turn(self) -> TurnStream:
        """A turn begun on the thread, and its stream."""
        turn = Turn(
            id=new_id("turn"),
            thread_id=self.conversation.id,
            status="inProgress",
            items=[],
            started_at=now_ms(),
        )
        stream = TurnStream(self.client, self.conversation, turn)
        stream.turn_started()
        return stream

    def tool_context(self, stream: TurnStream) -> ToolContext:
        turn_files = TurnFiles(
            self.files,
            self.checkpoints,
            stream.turn.id,
            self.conversation.roots,
            self.gate.file_policy(),
        )
        return ToolContext(
            self.conversation, stream, self.gate, self.files, turn_files, self.settings
        )


def runner_for(
    world: World,
    model: FakeModel,
    tools: dict[str, Tool],
    text: str,
    on_finish: Callable[[TurnRunner], None] = lambda _runner: None,
) -> TurnRunner:
    """A turn on the world's thread, with `text` as the user's message."""

    async def model_client() -> ModelClient:
        return model.as_client()

    services = TurnServices(
        settings=world.settings,
        notifier=world.client,
        model_client=model_client,
        tools=tools,
        read_buffer=world.buffers.get,
        checkpoints=world.checkpoints,
    )
    parts = ThreadParts(
        world.conversation,
        world.gate,
        WorkspaceWatcher(world.conversation.roots),
        ThreadHooks(world.conversation, world.client),
    )
    return TurnRunner(services, parts, "m", [TextInput(text)], on_finish)
