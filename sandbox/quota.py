"""Disk quotas per command: how much the workspace's disk and the private /tmp may grow.

Under bwrap the private /tmp is a tmpfs of `tmp_bytes`: the kernel refuses writes past it, and
once it is full (`statvfs` of it through /proc/<pid>/root, no walk) the command is stopped and
reported like any other over its quota. No launcher can
make a size-capped filesystem for the roots, and the Landlock launcher has no tmpfs, so those are
checked while the command runs: the workspace by the free space of the filesystems holding the
roots (cheap whatever the tree's size; other writers to the same disk count too, which only makes
the cap stricter) plus the size of a staged new `.git` (`sandbox.new_repo`, kept elsewhere until
the command ends), Landlock's private temporary directory by the size of what is in it. Past
either cap the command is stopped and `QuotaWatch.exceeded` says why.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

GIB = 1024**3
TMP_CAP_BYTES = 4 * GIB
_POLL_S = 0.25


@dataclass(frozen=True)
class Quotas:
    workspace_growth_bytes: int = 10 * GIB
    """How much the disks holding the roots may fill up during one command."""
    tmp_bytes: int = TMP_CAP_BYTES
    """How much the command's private temporary directory may hold."""


def _free_bytes(path: Path) -> int:
    info = os.statvfs(path)
    return info.f_bavail * info.f_frsize


def _size_of(tree: Path, limit: int) -> int:
    """Bytes in `tree` (allocated blocks, not following symlinks); stops counting past `limit`."""
    total = 0
    pending = [tree]
    while pending and total <= limit:
        try:
            entries = list(os.scandir(pending.pop()))
        except OSError:
            continue
        for entry in entries:
            try:
                info = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            total += info.st_blocks * 512
            if entry.is_dir(follow_symlinks=False):
                pending.append(Path(entry.path))
    return total


class QuotaWatch:
    """Polls the command's disk use; `until_exceeded` returns once a quota is passed."""

    def __init__(
        self,
        quotas: Quotas,
        *,
        roots: Sequence[Path],
        tmp: Path | None,
        staged: Sequence[Path] = (),
    ) -> None:
        """`tmp`: the private temporary directory to measure (None: a tmpfs caps it already)."""
        self.quotas = quotas
        self.tmp = tmp
        self.staged = tuple(staged)
        self.tmpfs_of: int | None = None
        """The bwrap process whose sandbox's /tmp is a capped tmpfs (set once it started)."""
        self.exceeded: str | None = None
        # One root per filesystem: two roots on one disk would count its growth twice.
        by_device: dict[int, Path] = {}
        for root in roots:
            try:
                by_device.setdefault(os.stat(root).st_dev, root)
            except OSError:
                continue
        self._free_before = {root: _free_bytes(root) for root in by_device.values()}

    def check(self) -> str | None:
        cap = self.quotas.workspace_growth_bytes
        staged = sum(_size_of(tree, cap) for tree in self.staged)
        for root, before in self._free_before.items():
            grown = before - _free_bytes(root) + staged
            if grown > cap:
                return (
                    f"the disk holding {root} filled up by {grown / GIB:.1f} GiB during the "
                    f"command, past its quota of {cap / GIB:.1f} GiB: it was stopped. Write "
                    "less, or raise `workspace_growth_cap` in config.toml."
                )
        if self.tmpfs_of is not None and _tmpfs_full(self.tmpfs_of):
            return (
                f"the private /tmp is full: it holds at most {self.quotas.tmp_bytes / GIB:.1f} "
                "GiB, and the command was stopped. Keep less in /tmp, or raise `tmp_cap` in "
                "config.toml."
            )
        if self.tmp is None:
            return None
        used = _size_of(self.tmp, self.quotas.tmp_bytes)
        if used > self.quotas.tmp_bytes:
            return (
                f"the private /tmp holds {used / GIB:.1f} GiB, past its quota of "
                f"{self.quotas.tmp_bytes / GIB:.1f} GiB: the command was stopped. Keep less in "
                "/tmp, or raise `tmp_cap` in config.toml."
            )
        return None

    async def until_exceeded(self) -> None:
        while True:
            await asyncio.sleep(_POLL_S)
            self.exceeded = await asyncio.to_thread(self.check)
            if self.exceeded is not None:
                return


def _tmpfs_full(bwrap_pid: int) -> bool:
    """Whether the /tmp seen by the processes in bwrap's namespaces has no block left (read
    through the first of them, bwrap's child; False while it cannot be reached)."""
    try:
        child = Path(f"/proc/{bwrap_pid}/task/{bwrap_pid}/children").read_text().split()[0]
        info = os.statvfs(f"/proc/{child}/root/tmp")
    except (OSError, IndexError):
        return False
    return info.f_blocks > 0 and info.f_bfree == 0
