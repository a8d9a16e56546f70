"""Thread logs: a crash's torn last line is skipped, deltas rebuild a cut-off reply, and a
compaction replays to the same entries."""

from __future__ import annotations

from pathlib import Path

from protocol.item import AgentMessageItem, TextInput, UserMessageItem
from protocol.turn import Turn
from server.agent.history import AssistantEntry, SummaryEntry, UserEntry
from server.agent.journal import session_path
from server.agent.threads import ThreadManager, load_thread


def test_a_torn_last_line_is_skipped_and_the_rest_loads(tmp_path: Path) -> None:
    manager = ThreadManager(tmp_path)
    state = manager.create(tmp_path, [tmp_path], "agent", "m")
    log = session_path(tmp_path, state.id)
    turn = Turn(id="t1", thread_id=state.thread.id, status="inProgress", items=[])
    state.begin_turn(turn)
    state.add_item(turn, UserMessageItem("u1", [TextInput("hi")]))
    state.add_entry(UserEntry("hi"))
    state.add_item(turn, AgentMessageItem("a1", ""))
    state.log_delta(turn, "a1", "Hel")
    state.log_delta(turn, "a1", "lo")
    with log.open("ab") as f:
        f.write(b'{"type":"delta","turnId":"t1","itemId":"a1","te')  # kill -9 mid-write

    loaded = load_thread(log)
    assert loaded is not None
    (again,) = loaded.turns
    assert again.status == "interrupted"
    assert [i.id for i in again.items] == ["u1", "a1"]
    assert again.items[1].text == "Hello"  # type: ignore[union-attr]
    assert loaded.entries == [UserEntry("hi")]
    # Appending after the torn line still yields loadable records.
    loaded.add_entry(AssistantEntry("after"))
    assert load_thread(log).entries[-1] == AssistantEntry("after")  # type: ignore[union-attr]


def test_compaction_replays_to_the_same_entries(tmp_path: Path) -> None:
    state = ThreadManager(tmp_path).create(tmp_path, [tmp_path], "agent", "m")
    for i in range(6):
        state.add_entry(UserEntry(f"u{i}"))
        state.add_entry(AssistantEntry(f"a{i}"))
    state.compact(SummaryEntry("S1", ["u0", "u1"]), 8)
    state.add_entry(UserEntry("u6"))
    state.compact(SummaryEntry("S2", ["u0", "u6"]), 3)
    loaded = load_thread(session_path(tmp_path, state.id))
    assert loaded is not None and loaded.entries == state.entries
    assert loaded.entries[0] == SummaryEntry("S2", ["u0", "u6"])


def test_thread_list_is_newest_first_with_a_cursor(tmp_path: Path) -> None:
    from server.agent.service import Agent
    from server.config import Settings

    class Quiet:
        def notify(self, note: object) -> None: ...
        async def request(self, params: object) -> object: ...

    agent = Agent(Settings(home=tmp_path), Quiet(), lambda _p: None, "none")  # type: ignore[arg-type]
    ids = []
    for i in range(5):
        state = agent.threads.create(tmp_path, [tmp_path], "agent", "m")
        state.thread.updated_at = 1000 + i
        ids.append(state.thread.id)
    page = agent.list_threads(None, 2)
    assert [t.id for t in page.threads] == ids[::-1][:2] and page.next_cursor
    rest = agent.list_threads(page.next_cursor, 10)
    assert [t.id for t in rest.threads] == ids[::-1][2:] and rest.next_cursor is None
    elsewhere = agent.threads.create(tmp_path / "other", [tmp_path], "agent", "m")
    assert [t.id for t in agent.list_threads(None, 10, str(tmp_path / "other")).threads] == [
        elsewhere.thread.id
    ]
