"""The LSP messages Tether sends besides its own: a warning for the user, an edit in an open
editor, and the cancellation of a request. Typed like the rest, so they cannot be sent with the
wrong params; they are LSP's, not Tether's, so the schema leaves them out."""

from typing import Literal

from protocol.base import Notification, Range, ServerRequest, Wire


class ShowMessage(Notification):
    """`window/showMessage`."""

    METHOD = "window/showMessage"

    type: Literal[1, 2, 3, 4]
    """1 error, 2 warning, 3 info, 4 log."""
    message: str


WARNING: Literal[2] = 2


class CancelRequest(Notification):
    """`$/cancelRequest`: the server no longer wants the answer to its request `id`."""

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
