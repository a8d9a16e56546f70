"""Notices what changed in a thread's workspace between turns (the user's edits, a git pull),
so the next turn can tell the model briefly instead of letting it work from stale reads.

It reads the roots' shared inotify watch (`sandbox.walk.TreeWatch`, the one that also records
what commands change) as a consumer of its own, so a big workspace is watched once. Setting the
watch up walks the tree: that happens in a thread of its own, never on the event loop. At the end
of a turn the changes seen so far are the agent's own and are dropped (in a thread, after a
`sync`, so its last writes are among them); `take_summary` reports what changed since. `.git`,
`node_modules` and what `.gitignore` ignores are left out; at most `MENTION_CAP` paths are
named, the rest counted. A root that cannot be watched (past the inotify watch limit) gives
no summary.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
from pathlib import Path

from sandbox.walk import TreeWatch, release_watch, share_watch
from server.edits.ignore import IgnoreRules

log = logging.getLogger(__name__)

MENTION_CAP = 30


class WorkspaceWatcher:
    def __init__(self, roots: list[Path]) -> None:
        self._roots = roots
        self._rules = [IgnoreRules(root) for root in roots]
        self._watches: list[tuple[Path, TreeWatch, int]] = []
        self._lock = threading.Lock()
        self._taking = threading.Lock()
        self._dropping: threading.Thread | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._watch, name="tether-watcher", daemon=True)
            self._thread.start()

    def _watch(self) -> None:
        for root in self._roots:
            try:
                watch = share_watch(root)
            except Exception as exc:  # a watcher failure must never take a turn down
                log.warning("cannot watch %s: %s", root, exc)
                continue
            with self._lock:
                self._watches.append((root, watch, watch.subscribe()))

    async def stop(self) -> None:
        if self._thread is not None:
            await asyncio.to_thread(self._thread.join, 30.0)
        with self._lock:
            watches, self._watches = self._watches, []
        for _root, watch, _consumer in watches:
            release_watch(watch)

    def turn_started(self) -> None:
        """Nothing to do: the summary is taken at the turn's start, before its own writes."""

    def turn_finished(self) -> None:
        """What the turn wrote is the agent's own: drop it, once every event of it is in (in a
        thread: after a command that wrote 100,000 files the events take a moment)."""
        self._dropping = threading.Thread(target=self._take, args=(True,), daemon=True)
        self._dropping.start()

    def _take(self, synced: bool = False) -> list[tuple[Path, str]]:
        """(root, relative path) changed since the last call; blind watches give nothing."""
        with self._taking:
            with self._lock:
                watches = list(self._watches)
            found: list[tuple[Path, str]] = []
            for root, watch, consumer in watches:
                if (synced and not watch.sync(timeout=10.0)) or watch.blind is not None:
                    continue
                changes = watch.take_changes(consumer)
                found += [(root, rel) for rel in changes.paths]
            return found

    def _ignored(self, path: Path) -> bool:
        return any(r.ignored(path) for r in self._rules if path.is_relative_to(r.root))

    def take_summary(self, cwd: Path) -> str | None:
        """What changed since the last call, as a short note for the model; None if nothing."""
        if self._dropping is not None:
            self._dropping.join(10.0)  # the last turn's own writes go first
        changed = sorted({root / rel for root, rel in self._take()})
        kept: list[tuple[Path, str]] = []
        for path in changed:
            with contextlib.suppress(OSError):
                if not self._ignored(path) and not path.is_dir():
                    kept.append((path, "changed" if os.path.lexists(path) else "deleted"))
        if not kept:
            return None
        names = []
        for path, kind in kept[:MENTION_CAP]:
            try:
                shown = path.relative_to(cwd)
            except ValueError:
                shown = path
            names.append(f"{kind} {shown}")
        more = len(kept) - len(names)
        tail = f", and {more} more" if more > 0 else ""
        listed = "; ".join(names)
        return (
            "Files changed in the workspace since your last turn, outside Tether (re-read "
            f"them before relying on earlier reads): {listed}{tail}."
        )
