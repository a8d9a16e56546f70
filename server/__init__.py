"""Tether's backend: one process speaking ../shared/PROTOCOL.md as JSON-RPC over stdio
(`app.py` is the server; pygls keeps only the editor's open documents, `documents.py`)."""

__version__ = "0.1.0"
