"""The ACP agent: one method per ACP request, each a call into the same core the VS Code
server uses (`server.agent.service.Agent`). A session is a Tether thread; its id is the
thread's id, so `session/load` and `session/resume` find it again after a restart.

Modes are Tether's three (readOnly, agent, fullAccess); the model is a `select` config option.
Commands always run on this side, in Tether's sandbox; the client's `terminal/*` is never used,
and files are written here too, so the protected-path rules apply.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlparse

from acp import PROTOCOL_VERSION, RequestError
from acp.interfaces import Client
from acp.schema import (
    AgentCapabilities,
    AuthenticateResponse,
    AuthEnvVar,
    BlobResourceContents,
    ClientCapabilities,
    CloseSessionResponse,
    EmbeddedResourceContentBlock,
    EnvVarAuthMethod,
    ImageContentBlock,
    Implementation,
    InitializeResponse,
    ListSessionsResponse,
    LoadSessionResponse,
    McpCapabilities,
    NewSessionResponse,
    PromptCapabilities,
    PromptResponse,
    ResourceContentBlock,
    ResumeSessionResponse,
    SessionCapabilities,
    SessionCloseCapabilities,
    SessionConfigOptionSelect,
    SessionConfigSelectOption,
    SessionInfo,
    SessionListCapabilities,
    SessionMode,
    SessionModeState,
    SessionResumeCapabilities,
    SetSessionConfigOptionResponse,
    SetSessionModeResponse,
    TextContentBlock,
    TextResourceContents,
)
from acp.schema import Usage as AcpUsage

from protocol.approval import HunkSelection
from protocol.base import Mode, Usage
from protocol.errors import ErrorCode
from protocol.item import FileInput, ImageInput, TextInput, UserInput
from protocol.thread import Thread
from sandbox.launchers import LauncherChoice, choose_launcher
from server import __version__
from server.acp import updates
from server.acp.bridge import AcpNotifier, SessionView
from server.config import MODES, Settings, load_settings
from server.mcp.acp import servers_from_acp

if TYPE_CHECKING:
    from server.agent.service import Agent

log = logging.getLogger(__name__)

MODE_NAMES: dict[Mode, tuple[str, str]] = {
    "readOnly": ("Read only", "Reads freely; asks before any edit or command that writes."),
    "agent": ("Agent", "Edits the workspace and runs commands in the sandbox; asks for more."),
    "fullAccess": ("Full access", "No sandbox and no approvals."),
}


def _error(exc: Exception) -> RequestError:
    from server.agent.errors import AgentError

    if isinstance(exc, AgentError):
        return RequestError(int(exc.code), exc.message)
    return RequestError(ErrorCode.INTERNAL_ERROR, str(exc))


class TetherAcpAgent:
    def __init__(self) -> None:
        self.notifier = AcpNotifier()
        self._settings: Settings | None = None
        self._launcher: LauncherChoice | None = None
        self._agent: Agent | None = None
        self._client_capabilities = ClientCapabilities()
        self._models: dict[str, str | None] = {}
        """The model each session chose (None: the thread's)."""
        self._buffers: dict[Path, str] = {}
        """The editor's text of the files a running prompt attached (`_attachments`)."""

    def on_connect(self, conn: Client) -> None:
        self.notifier.attach(conn)

    @property
    def agent(self) -> Agent:
        if self._agent is None:
            from server.agent.service import Agent

            settings = self._settings or load_settings()
            launcher = self._launcher or choose_launcher(settings.sandbox_launcher)
            self._agent = Agent(
                settings, self.notifier, self._buffers.get, launcher.name, self._document
            )
        return self._agent

    # lifecycle

    async def initialize(
        self,
        protocol_version: int,
        client_capabilities: ClientCapabilities | None = None,
        client_info: Implementation | None = None,
        **_: Any,
    ) -> InitializeResponse:
        self._client_capabilities = client_capabilities or ClientCapabilities()
        self._settings = settings = load_settings()
        self._launcher = choose_launcher(settings.sandbox_launcher)
        for warning in settings.warnings:
            log.warning("%s", warning)
        auth: list[Any] | None = None
        if settings.endpoint_problem() is not None:
            auth = [
                EnvVarAuthMethod(
                    type="env_var",
                    id="openai-api-key",
                    name="OpenAI API key",
                    description=settings.endpoint_problem(),
                    vars=[AuthEnvVar(name="OPENAI_API_KEY", secret=True)],
                )
            ]
        asyncio.get_running_loop().call_soon(self._warm_up)
        return InitializeResponse(
            protocol_version=min(protocol_version, PROTOCOL_VERSION),
            agent_capabilities=AgentCapabilities(
                load_session=True,
                prompt_capabilities=PromptCapabilities(image=True, embedded_context=True),
                mcp_capabilities=McpCapabilities(http=True, sse=False),
                session_capabilities=SessionCapabilities(
                    list=SessionListCapabilities(),
                    resume=SessionResumeCapabilities(),
                    close=SessionCloseCapabilities(),
                ),
            ),
            auth_methods=auth,
            agent_info=Implementation(name="tether", title="Tether", version=__version__),
        )

    def _warm_up(self) -> None:
        """Load the core (and, in a thread, the model client's imports) right after the
        answer, so `session/new` finds them ready."""
        import threading

        from server.agent.model import warm_up

        self.agent  # noqa: B018
        threading.Thread(target=warm_up, name="warm-up", daemon=True).start()

    async def authenticate(self, method_id: str, **_: Any) -> AuthenticateResponse:
        """Nothing to log in to: the key is read from the environment or config.toml. Some
        clients always authenticate first; that succeeds when an endpoint is configured."""
        settings = self._settings or load_settings()
        if (problem := settings.endpoint_problem()) is not None:
            raise RequestError(
                -32000,
                f"{problem} Set it in the agent's environment in the editor's settings, "
                "then restart the agent.",
            )
        return AuthenticateResponse()

    # sessions

    def _open(self, thread: Thread) -> None:
        # codex-acp's convention, as Zed reads it: `clientCapabilities._meta.terminal_output`
        # is JSON true; then `_meta.terminal_info` / `terminal_output` / `terminal_exit`.
        meta = self._client_capabilities.field_meta or {}
        self.notifier.sessions[thread.id] = SessionView(
            thread.id, terminal_output=meta.get("terminal_output") is True
        )
        self._models.setdefault(thread.id, None)

    def _modes(self, thread: Thread) -> SessionModeState:
        return SessionModeState(
            current_mode_id=thread.mode,
            available_modes=[
                SessionMode(id=m, name=MODE_NAMES[m][0], description=MODE_NAMES[m][1])
                for m in MODES
            ],
        )

    def _config(self, thread: Thread) -> list[SessionConfigOptionSelect | Any]:
        settings = self.agent.settings
        current = self._models.get(thread.id) or thread.model or settings.effective_model or ""
        models = list(dict.fromkeys(m for m in (current, *settings.models) if m))
        return [
            SessionConfigOptionSelect(
                type="select",
                id="model",
                name="Model",
                category="model",
                current_value=current,
                options=[SessionConfigSelectOption(value=m, name=m) for m in models],
            )
        ]

    def _thread(self, session_id: str) -> Thread:
        try:
            thread, _turns = self.agent.read_thread(session_id)
        except Exception as exc:
            raise _error(exc) from None
        return thread

    async def new_session(self, cwd: str, mcp_servers: Any = None, **_: Any) -> NewSessionResponse:
        try:
            thread = self.agent.start_thread(cwd, None, None, None)
        except Exception as exc:
            raise _error(exc) from None
        self.agent.mcp.offer(thread.id, servers_from_acp(mcp_servers))
        self._open(thread)
        return NewSessionResponse(
            session_id=thread.id, modes=self._modes(thread), config_options=self._config(thread)
        )

    async def load_session(
        self, cwd: str, session_id: str, mcp_servers: Any = None, **_: Any
    ) -> LoadSessionResponse:
        try:
            thread, turns = self.agent.read_thread(session_id)
        except Exception as exc:
            raise _error(exc) from None
        for turn in turns:
            for item in turn.items:
                for update in updates.replayed(item):
                    self.notifier.update(session_id, update)
        await self.notifier.flushed()
        self.agent.mcp.offer(thread.id, servers_from_acp(mcp_servers))
        self._open(thread)
        return LoadSessionResponse(modes=self._modes(thread), config_options=self._config(thread))

    async def resume_session(
        self, cwd: str, session_id: str, mcp_servers: Any = None, **_: Any
    ) -> ResumeSessionResponse:
        thread = self._thread(session_id)
        self.agent.mcp.offer(thread.id, servers_from_acp(mcp_servers))
        self._open(thread)
        return ResumeSessionResponse(modes=self._modes(thread), config_options=self._config(thread))

    async def list_sessions(
        self, cwd: str | None = None, cursor: str | None = None, **_: Any
    ) -> ListSessionsResponse:
        try:
            page = self.agent.list_threads(cursor, None, cwd)
        except Exception as exc:
            raise _error(exc) from None
        return ListSessionsResponse(
            sessions=[
                SessionInfo(
                    session_id=t.id,
                    cwd=t.cwd,
                    title=t.title,
                    updated_at=datetime.datetime.fromtimestamp(
                        t.updated_at / 1000, datetime.UTC
                    ).isoformat(),
                )
                for t in page.threads
            ],
            next_cursor=page.next_cursor,
        )

    async def close_session(self, session_id: str, **_: Any) -> CloseSessionResponse:
        await self.cancel(session_id)
        self.notifier.sessions.pop(session_id, None)
        self._models.pop(session_id, None)
        return CloseSessionResponse()

    async def set_session_mode(
        self, session_id: str, mode_id: str, **_: Any
    ) -> SetSessionModeResponse:
        if mode_id not in MODES:
            raise RequestError(
                ErrorCode.INVALID_PARAMS, f"unknown mode {mode_id!r}; one of {', '.join(MODES)}"
            )
        try:
            self.agent.set_mode(session_id, mode_id)  # type: ignore[arg-type]
        except Exception as exc:
            raise _error(exc) from None
        await self.notifier.flushed()  # its current_mode_update goes before the answer
        return SetSessionModeResponse()

    async def set_config_option(
        self, config_id: str, session_id: str, value: str | bool, **_: Any
    ) -> SetSessionConfigOptionResponse:
        if config_id != "model" or not isinstance(value, str) or not value:
            raise RequestError(
                ErrorCode.INVALID_PARAMS, f"unknown config option {config_id!r} (only `model`)"
            )
        thread = self._thread(session_id)
        self._models[session_id] = value
        return SetSessionConfigOptionResponse(config_options=self._config(thread))

    # turns

    async def prompt(self, session_id: str, prompt: list[Any], **_: Any) -> PromptResponse:
        view = self.notifier.sessions.get(session_id)
        if view is None:
            raise RequestError(
                ErrorCode.THREAD_NOT_FOUND,
                f"session {session_id} is not open here; session/load or session/resume it",
            )
        if (problem := self.agent.settings.endpoint_problem()) is not None:
            # ACP's "authentication required": clients offer the `authMethods` from here.
            raise RequestError(-32000, problem)
        user_input, buffers = await self._attachments(session_id, prompt)
        self._buffers.update(buffers)
        try:
            turn = self.agent.start_turn(session_id, user_input, self._models.get(session_id))
            finished: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
            view.finished[turn.id] = finished
            done = await finished
        except Exception as exc:
            raise _error(exc) from None
        finally:
            for path in buffers:
                self._buffers.pop(path, None)
        if done.status == "interrupted":
            return PromptResponse(stop_reason="cancelled")
        if done.status == "failed":
            message = done.error.message if done.error else "the turn failed"
            raise RequestError(ErrorCode.INTERNAL_ERROR, message)
        return PromptResponse(stop_reason="end_turn", usage=_usage(done.usage))

    async def cancel(self, session_id: str, **_: Any) -> None:
        view = self.notifier.sessions.get(session_id)
        if self._agent is None or view is None:
            return
        from server.agent.errors import AgentError

        for turn_id in list(view.finished):
            with contextlib.suppress(AgentError):  # it ended meanwhile
                await self._agent.interrupt(session_id, turn_id)

    async def _attachments(
        self, session_id: str, prompt: list[Any]
    ) -> tuple[list[UserInput], dict[Path, str]]:
        """The prompt as Tether input, and the editor's text of the files it attaches: the
        text an embedded resource carries, or, for a linked file, what `fs/read_text_file`
        answers (`_document`; so unsaved changes are seen). While the turn runs, the core reads
        those files as open buffers; writes still happen here."""
        inputs: list[UserInput] = []
        buffers: dict[Path, str] = {}
        for block in prompt:
            embedded = isinstance(block, EmbeddedResourceContentBlock) and isinstance(
                block.resource, TextResourceContents
            )
            uri = (
                block.resource.uri
                if embedded
                else block.uri
                if isinstance(block, ResourceContentBlock)
                else None
            )
            path = _file_path(uri) if isinstance(uri, str) else None
            if path is None:
                if (given := _user_input(block)) is not None:
                    inputs.append(given)
                continue
            inputs.append(FileInput(path=path))
            if embedded:
                buffers[Path(path)] = block.resource.text
            elif (text := await self._document(session_id, Path(path))) is not None:
                buffers[Path(path)] = text
        return inputs, buffers

    async def _document(self, session_id: str, path: Path) -> str | None:
        """The client's text of `path` (unsaved changes included) through `fs/read_text_file`,
        None to read the disk: when the client does not offer it, or the path is outside the
        session's roots or under a secret path. Those checks happen here, before the client
        is asked; the core's `DocumentSource` for read_file, and the attachments'."""
        fs = self._client_capabilities.fs
        client = self.notifier.client
        if fs is None or not fs.read_text_file or client is None:
            return None
        from sandbox.paths import PathDenied, resolve_for_read

        try:
            verdict = resolve_for_read(
                path, cwd=path.parent, policy=self.agent.file_policy(session_id)
            )
        except PathDenied:
            return None
        if not verdict.inside_roots or verdict.secret:
            return None
        try:
            read = await client.read_text_file(session_id=session_id, path=str(verdict.path))
        except RequestError as exc:
            log.info("fs/read_text_file %s: %s; reading the disk", verdict.path, exc)
            return None
        return read.content

    # extensions

    async def ext_method(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        """`_tether/change/revert {sessionId, itemId, hunks?}`: undo a file change, whole or
        by hunk, as the VS Code client's review does; answers the item as it is now."""
        if method != "tether/change/revert":
            raise RequestError.method_not_found(f"_{method}")
        import msgspec

        try:
            hunks = params.get("hunks")
            selection = (
                None
                if hunks is None
                else msgspec.convert(hunks, list[HunkSelection], str_keys=True)
            )
            item = await self.agent.revert_change(
                str(params["sessionId"]), str(params["itemId"]), selection
            )
        except (KeyError, msgspec.ValidationError) as exc:
            raise RequestError(ErrorCode.INVALID_PARAMS, f"invalid params: {exc}") from None
        except Exception as exc:
            raise _error(exc) from None
        return {"item": msgspec.to_builtins(item)}

    async def ext_notification(self, method: str, params: dict[str, Any]) -> None:
        log.debug("ignored ACP extension notification %s", method)

    async def shutdown(self) -> None:
        if self._agent is not None:
            await self._agent.shutdown()
        await self.notifier.close()


def _usage(usage: Usage | None) -> AcpUsage | None:
    if usage is None:
        return None
    return AcpUsage(
        total_tokens=usage.total_tokens,
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        cached_read_tokens=usage.cached_input_tokens,
        thought_tokens=usage.reasoning_output_tokens or None,
    )


def _user_input(block: Any) -> UserInput | None:
    """An ACP content block as Tether input: text as text, an image as an image (its data,
    checked by the core as any image input), a linked file as an attachment (read through the
    same path rules as the editor's), embedded context as quoted text, an embedded image as an
    image."""
    if isinstance(block, TextContentBlock):
        return TextInput(text=block.text)
    if isinstance(block, ImageContentBlock):
        return ImageInput(url=f"data:{block.mime_type};base64,{block.data}")
    if isinstance(block, EmbeddedResourceContentBlock) and isinstance(
        block.resource, BlobResourceContents
    ):
        r = block.resource
        if (r.mime_type or "").startswith("image/"):
            return ImageInput(url=f"data:{r.mime_type};base64,{r.blob}")
        return TextInput(text=f"[{r.uri}] (binary content, {r.mime_type or 'unknown type'})")
    if isinstance(block, ResourceContentBlock):
        path = _file_path(block.uri)
        if path is not None:
            return FileInput(path=path)
        return TextInput(text=f"[{block.name}]({block.uri})")
    if isinstance(block, EmbeddedResourceContentBlock) and isinstance(
        block.resource, TextResourceContents
    ):
        r = block.resource
        return TextInput(text=f'<context uri="{r.uri}">\n{r.text}\n</context>')
    return None


def _file_path(uri: str) -> str | None:
    parsed = urlparse(uri)
    if parsed.scheme == "file":
        return unquote(parsed.path)
    if parsed.scheme == "" and Path(uri).is_absolute():
        return uri
    return None
