"""Notices what changed in a thread's workspace between turns (the user's edits, a git pull),
so the next turn can tell the model briefly instead of letting it work from stale reads.

watchfiles watches the roots, skipping `.git`, `node_modules` and what `.gitignore` ignores.
Changes during a turn (and just after, while our own writes' events drain) are the agent's own
and are not reported.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from pathlib import Path

from server.edits.ignore import IgnoreRules

log = logging.getLogger(__name__)

SETTLE_S = 0.5
"""After a turn, events this young are still the turn's own writes."""
MENTION_CAP = 30


class WorkspaceWatcher:
    def __init__(self, roots: list[Path]) -> None:
        self._roots = roots
        self._changed: dict[Path, str] = {}
        self._busy_until = 0.0
        self._busy = False
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._watch())

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(self._task, 1.0)

    def turn_started(self) -> None:
        self._busy = True

    def turn_finished(self) -> None:
        self._busy = False
        self._busy_until = time.monotonic() + SETTLE_S

    async def _watch(self) -> None:
        import watchfiles

        rules = [IgnoreRules(root) for root in self._roots]

        def keep(change: watchfiles.Change, path: str) -> bool:
            return not any(r.ignored(path) for r in rules if Path(path).is_relative_to(r.root))

        try:
            async for changes in watchfiles.awatch(
                *self._roots,
                watch_filter=keep,
                stop_event=self._stop,
                debounce=200,
                step=50,
                recursive=True,
            ):
                if self._busy or time.monotonic() < self._busy_until:
                    continue
                for change, path in changes:
                    self._changed[Path(path)] = change.name
        except Exception as exc:  # a watcher failure must never take a turn down
            log.warning("workspace watcher stopped: %s", exc)

    def take_summary(self, cwd: Path) -> str | None:
        """What changed since the last call, as a short note for the model; None if nothing."""
        if not self._changed:
            return None
        changed, self._changed = self._changed, {}
        names = []
        for path, kind in sorted(changed.items())[:MENTION_CAP]:
            try:
                shown = path.relative_to(cwd)
            except ValueError:
                shown = path
            names.append(f"{kind} {shown}")
        more = len(changed) - len(names)
        tail = f", and {more} more" if more > 0 else ""
        return (
            "Files changed in the workspace since your last turn, outside Tether (re-read "
            f"them before relying on earlier reads): {'; '.join(names)}{tail}."
        )
