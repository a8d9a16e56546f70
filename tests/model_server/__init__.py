"""A scripted OpenAI-compatible model server for tests, the e2e suite and benchmarks.

    from tests.model_server import ModelServer, Reply, ToolCall, Fault

    with ModelServer() as srv:  # or the pytest fixture `model_server`
        srv.enqueue(Reply(text="hi", tool_calls=[ToolCall("read_file", {"path": "a.py"})]))
        srv.enqueue(Fault.status(429, retry_after=0.2), Fault.disconnect(after_events=5))
        ...  # point a client at srv.base_url (or a process at srv.env())
        srv.requests[0].tool_outputs()

It speaks the Responses API and Chat Completions, streaming or not; see `script` for what a
turn can say, `recording` for what tests can assert on, and `__main__` for the CLI.
"""

from tests.model_server.recording import Outcome, RecordedRequest, SentToolCall, WireApi
from tests.model_server.script import (
    Fault,
    Reply,
    Responder,
    ScriptError,
    ToolCall,
    Turn,
    Usage,
    echo_reply,
    turns_from_json,
)
from tests.model_server.server import ModelServer

__all__ = [
    "Fault",
    "ModelServer",
    "Outcome",
    "RecordedRequest",
    "Reply",
    "Responder",
    "ScriptError",
    "SentToolCall",
    "ToolCall",
    "Turn",
    "Usage",
    "WireApi",
    "echo_reply",
    "turns_from_json",
]
