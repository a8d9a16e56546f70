"""The agent: threads, the turn loop, the model client and the tools. No pygls imports here:
the server hands in a `client.Notifier` to talk to the client and a buffer lookup for open
documents.

Reading order for a new maintainer (each module names what it owns; imports only point down
this list, and `tests/server/test_import_graph.py` fails on any circle):

1. `service.py`: the `Agent`, one method per protocol request. Per thread it keeps three parts,
   each the only owner of its state: the `Conversation`, the `Gate` (with the session grants)
   and the `WorkspaceWatcher`; and the map of running turns.
2. `turn.py`: the loop, top to bottom in one screen: ask the model, stream, run tools, repeat.
3. `conversation.py`: the only writer of a thread's turns, items and the model's entries, each
   write logged (`journal.py`); `threads.py` creates, lists and reloads them.
4. `stream.py`: what a turn tells the client, in order (`client.py`: the client as a Protocol).
5. `gate.py`: one call per action (`clear_read`, `clear_write`, `clear_file_change`,
   `clear_command`, `clear_undo`); the §6 decisions it applies are the pure functions of
   `sandbox.approval_policy`.
6. `tools/`: `base.py` (what a tool gets: `ToolContext`), `registry.py`, then each tool;
   `changes.py` is an edit's way to disk, `undo.py` its way back.
7. `hooks.py`: the user's hook commands (`server.hooks`, Claude Code's format) at the turn's
   points: before and after each tool, on the prompt, at Stop, around compaction.
8. `errors.py`: every exception that changes the control flow (`ToolFailed` is an observation
   for the model, not an error of the turn).

The rest is self-contained: `model.py` (the endpoint, Responses and Chat SSE), `structured.py`
(a turn's output schema: the endpoint's structured output or the prompt), `history.py` (the
model's entries), `compaction.py`, `prompt.py`, `context.py` (the user's input as text),
`files.py` (editor buffers first), `turn_files.py` (what a turn changed on disk), `watcher.py`
(changes between turns), `inline.py`, `propose.py` and `turn_review.py` (the editor's turns).
Unit tests against a scripted client and model: `tests/server/agent/`.
"""
