"""Notices what changed in a thread's workspace between turns (the user's edits, a git pull),
so the next turn can tell the model briefly instead of letting it work from stale reads.

watchfiles watches the roots from a thread of its own: setting up inotify on a big tree (a
workspace that is $HOME) and a flood of events (a command that writes 100,000 files) cost
that thread, never the event loop. It keeps at most `KEEP_CAP` changed paths and counts the
rest; `.git`, `node_modules` and what `.gitignore` ignores are filtered out when the summary
is taken. Changes during a turn (and just after, while our own writes' events drain) are the
agent's own and are not reported. A root that disappears or cannot be watched stops the
watcher, never a turn.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from pathlib import Path
from typing import Any

from server.edits.ignore import IgnoreRules

log = logging.getLogger(__name__)

SETTLE_S = 0.5
"""After a turn, events this young are still the turn's own writes."""
MENTION_CAP = 30
KEEP_CAP = 1000
"""Changed paths remembered between turns; more are only counted."""
RESTARTS = 5


class WorkspaceWatcher:
    def __init__(self, roots: list[Path]) -> None:
        self._roots = roots
        self._rules = [IgnoreRules(root) for root in roots]
        self._changed: dict[Path, str] = {}
        self._overflow = 0
        self._lock = threading.Lock()
        self._busy_until = 0.0
        self._busy = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._watch, name="tether-watcher", daemon=True)
            self._thread.start()

    async def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            await asyncio.to_thread(self._thread.join, 2.0)

    def turn_started(self) -> None:
        self._busy = True

    def turn_finished(self) -> None:
        self._busy = False
        self._busy_until = time.monotonic() + SETTLE_S

    def _watch(self) -> None:
        import watchfiles

        # watchfiles gives up on some events (a name that is not UTF-8): watch again, a few
        # times, rather than go blind for the rest of the thread.
        for _attempt in range(RESTARTS + 1):
            try:
                for changes in watchfiles.watch(
                    *self._roots,
                    watch_filter=None,
                    stop_event=self._stop,
                    debounce=200,
                    step=50,
                    recursive=True,
                    raise_interrupt=False,
                    ignore_permission_denied=True,
                ):
                    self._note(changes)
                return
            except Exception as exc:  # a watcher failure must never take a turn down
                log.warning("workspace watcher stopped: %s", exc)
            if self._stop.wait(1.0):
                return

    def _note(self, changes: set[tuple[Any, str]]) -> None:
        if self._busy or time.monotonic() < self._busy_until:
            return
        with self._lock:
            for change, path in changes:
                if len(self._changed) < KEEP_CAP or Path(path) in self._changed:
                    self._changed[Path(path)] = change.name
                else:
                    self._overflow += 1

    def _ignored(self, path: Path) -> bool:
        return any(r.ignored(path) for r in self._rules if path.is_relative_to(r.root))

    def take_summary(self, cwd: Path) -> str | None:
        """What changed since the last call, as a short note for the model; None if nothing."""
        with self._lock:
            changed, self._changed = self._changed, {}
            overflow, self._overflow = self._overflow, 0
        kept = sorted((p, kind) for p, kind in changed.items() if not self._ignored(p))
        if not kept and not overflow:
            return None
        names = []
        for path, kind in kept[:MENTION_CAP]:
            try:
                shown = path.relative_to(cwd)
            except ValueError:
                shown = path
            names.append(f"{kind} {shown}")
        more = len(kept) - len(names) + overflow
        tail = f", and {more} more" if more > 0 else ""
        listed = "; ".join(names) or "many files"
        return (
            "Files changed in the workspace since your last turn, outside Tether (re-read "
            f"them before relying on earlier reads): {listed}{tail}."
        )
