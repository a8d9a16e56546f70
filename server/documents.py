"""The documents open in the editor, so the agent reads and edits what the user sees.

pygls' `Workspace` keeps them, in sync with `textDocument/didOpen`, `didChange` and `didClose`
(lsprotocol's converter reads those params): the one job the server leaves to pygls. Both load
with the first of those notifications, not at start: half a second of imports that a client
which opens no document (`tether exec`, a turn sent at once) never waits for.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


class Documents:
    def __init__(self) -> None:
        self.position_encoding = "utf-16"
        """As agreed in `initialize`; pygls counts `didChange` ranges in it."""
        self._workspace: Any = None
        self._converter: Any = None

    def _store(self) -> Any:
        if self._workspace is None:
            from lsprotocol.converters import get_converter
            from pygls.workspace import Workspace

            self._converter = get_converter()
            self._workspace = Workspace(None, position_encoding=self.position_encoding)
        return self._workspace

    def _decode(self, raw: Any, cls: type[Any]) -> Any:
        self._store()
        return self._converter.structure(raw, cls)

    def did_open(self, raw: Any) -> None:
        from lsprotocol import types

        params = self._decode(raw, types.DidOpenTextDocumentParams)
        self._workspace.put_text_document(params.text_document)

    def did_change(self, raw: Any) -> None:
        from lsprotocol import types

        params = self._decode(raw, types.DidChangeTextDocumentParams)
        for change in params.content_changes:
            self._workspace.update_text_document(params.text_document, change)

    def did_close(self, raw: Any) -> None:
        from lsprotocol import types

        params = self._decode(raw, types.DidCloseTextDocumentParams)
        self._workspace.remove_text_document(params.text_document.uri)

    def text(self, path: Path) -> str | None:
        """The open document's text for a path, if the editor has it open."""
        if self._workspace is None:
            return None
        from pygls.uris import from_fs_path

        doc = self._workspace.text_documents.get(from_fs_path(str(path)) or "")
        return doc.source if doc is not None else None
