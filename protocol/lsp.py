"""The LSP messages Tether speaks besides its own: the `initialize` handshake, a warning for
the user, an edit in an open editor, and the cancellation of a request. Typed like the rest, so
they cannot be sent with the wrong params; they are LSP's, not Tether's, so the schema leaves
them out. Only the fields Tether reads or writes are declared; others pass unread."""

from typing import Any, Literal

from protocol.base import Notification, Range, ServerRequest, Wire
from protocol.initialize import TetherCapabilities, TetherClientCapabilities

PositionEncoding = Literal["utf-8", "utf-16", "utf-32"]


class GeneralClientCapabilities(Wire):
    position_encodings: list[str] | None = None


class ClientExperimental(Wire):
    tether: TetherClientCapabilities | None = None


class ClientCapabilities(Wire):
    general: GeneralClientCapabilities | None = None
    experimental: ClientExperimental | None = None


class InitializeParams(Wire):
    """`initialize`. `initializationOptions` is Tether's settings, decoded (forgivingly) by
    `server.config`, so here it may be anything."""

    capabilities: ClientCapabilities
    process_id: int | None = None
    initialization_options: Any = None

    def position_encoding(self) -> PositionEncoding:
        """The client's first encoding Tether supports, else UTF-16 (LSP's default)."""
        general = self.capabilities.general
        for encoding in (general.position_encodings if general else None) or ():
            if encoding in ("utf-8", "utf-16", "utf-32"):
                return encoding  # type: ignore[return-value]
        return "utf-16"


class TextDocumentSyncOptions(Wire):
    open_close: bool
    change: Literal[0, 1, 2]
    """0 none, 1 whole document, 2 incremental."""
    save: bool


class ServerCapabilities(Wire):
    position_encoding: PositionEncoding
    text_document_sync: TextDocumentSyncOptions
    experimental: dict[str, TetherCapabilities]
    """`{"tether": ...}`: what Tether adds (PROTOCOL.md §2)."""


class ServerInfo(Wire):
    name: str
    version: str


class InitializeResult(Wire):
    capabilities: ServerCapabilities
    server_info: ServerInfo


class DidChangeConfigurationParams(Wire):
    settings: Any = None
    """The client's whole `tether` section under `settings.tether`, as in `initialize`."""


class ShowMessage(Notification):
    """`window/showMessage`."""

    METHOD = "window/showMessage"

    type: Literal[1, 2, 3, 4]
    """1 error, 2 warning, 3 info, 4 log."""
    message: str


WARNING: Literal[2] = 2


class CancelRequest(Notification):
    """`$/cancelRequest`: the sender no longer wants the answer to its request `id` (both
    ways: the server sends it for an approval a turn no longer waits for)."""

    METHOD = "$/cancelRequest"

    id: str | int


class TextEdit(Wire):
    range: Range
    new_text: str


class WorkspaceEdit(Wire):
    changes: dict[str, list[TextEdit]]
    """Document URI -> its edits."""


class ApplyWorkspaceEditResult(Wire):
    applied: bool
    failure_reason: str | None = None


class ApplyWorkspaceEditParams(ServerRequest[ApplyWorkspaceEditResult]):
    """`workspace/applyEdit`: change a document the user has open, through the editor."""

    METHOD = "workspace/applyEdit"
    RESULT = ApplyWorkspaceEditResult

    edit: WorkspaceEdit
    label: str | None = None
