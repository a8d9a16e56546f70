"""`WorkspaceWatcher`: what changed between turns, from the roots' shared inotify watch."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from server.agent.watcher import WorkspaceWatcher


def wait_for(summary: WorkspaceWatcher, root: Path, want: str, timeout: float = 10.0) -> str:
    """Poll `take_summary` until it mentions `want` (an event takes a moment to be read)."""
    deadline = time.monotonic() + timeout
    seen = ""
    while time.monotonic() < deadline:
        seen += summary.take_summary(root) or ""
        if want in seen:
            return seen
        time.sleep(0.05)
    raise AssertionError(f"{want!r} never reported; saw {seen!r}")


async def test_changes_between_turns_are_reported_and_the_turn_s_own_are_not(
    tmp_path: Path,
) -> None:
    root = tmp_path / "ws"
    (root / "src").mkdir(parents=True)
    (root / "build").mkdir()
    (root / ".gitignore").write_text("build/\n")
    (root / "src" / "a.py").write_text("a = 1\n")
    watcher = WorkspaceWatcher([root])
    watcher.start()
    try:
        await asyncio.to_thread(watcher._thread.join)  # pyright: ignore[reportOptionalMemberAccess, reportPrivateUsage]
        (root / "src" / "a.py").write_text("a = 2\n")  # the turn's own write
        watcher.turn_finished()
        assert await asyncio.to_thread(watcher.take_summary, root) is None
        (root / "src" / "a.py").write_text("a = 3\n")  # the user's, between turns
        (root / "build" / "out.o").write_text("x")  # ignored
        (root / "src" / "gone.py").write_text("")
        (root / "src" / "gone.py").unlink()
        seen = await asyncio.to_thread(wait_for, watcher, root, "deleted src/gone.py")  # the last
        assert "changed src/a.py" in seen
        assert "build" not in seen
    finally:
        await watcher.stop()
