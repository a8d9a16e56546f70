"""search sees the editor's unsaved text: a file rg matched on disk that the editor holds open
with changes is searched in the buffer instead (its lines, its line numbers)."""

from __future__ import annotations

from pathlib import Path

from lsprotocol import types as lsp

from tests.e2e.harness import Tether
from tests.model_server import ModelServer, Reply, ToolCall


async def test_search_reads_an_open_buffer_with_unsaved_changes(
    tether: Tether, model_server: ModelServer, workspace: Path
) -> None:
    calc = workspace / "src" / "calc.py"
    unsaved = "# unsaved\n" + calc.read_text().replace("return a - b", "return b - a")
    tether.lsp.text_document_did_open(
        lsp.DidOpenTextDocumentParams(
            lsp.TextDocumentItem(uri=calc.as_uri(), language_id="python", version=1, text=unsaved)
        )
    )
    (workspace / "other.py").write_text("return 1\n")
    model_server.enqueue(
        Reply(tool_calls=[ToolCall("search", {"pattern": "return"}, call_id="s")]),
        Reply(text="found"),
    )
    thread = await tether.start_thread(workspace)
    await tether.run_turn(thread["id"], "find")
    lines = sorted(model_server.requests[-1].tool_outputs()["s"].splitlines())
    assert lines == [
        "other.py:1:return 1",
        "src/calc.py:3:    return a + b",
        "src/calc.py:7:    return b - a",
    ]
