"""The private directories one command gets, and where a launcher shows them to it.

Each command has a base directory on the host holding its private temporary directory (the
command's $TMPDIR under Landlock), a private HOME for readOnly (inside that temporary directory,
so it dies with it), an empty directory used as a read-only mask and, under bwrap, the staging
directories standing in for a root's missing `.git` (`sandbox.new_repo`). All of it is removed
afterwards; what a killed server left behind is swept by the next one (the owner's pid is in the
name).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import threading
from collections import Counter
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

PREFIX = "tether-cmd-"

# Empty directories made as mount points for missing protected entries, counted per user: while
# one command's sandbox still has a mask mounted there, removing the directory would detach that
# mask inside the running sandbox, so only the last user removes it.
_mountpoint_users: Counter[Path] = Counter()
_placeholders: dict[Path, bytes] = {}
"""What each claimed placeholder file holds, so a command arriving while another command's
placeholder stands there mounts that file (not an empty directory over it) and shares it."""
_mountpoint_lock = threading.Lock()


def is_claimed_mountpoint(path: Path) -> bool:
    with _mountpoint_lock:
        return _mountpoint_users[path] > 0


def claimed_placeholder(path: Path) -> bytes | None:
    """The content of the placeholder file another running command made at `path`, if any."""
    with _mountpoint_lock:
        return _placeholders.get(path) if _mountpoint_users[path] > 0 else None


@dataclass
class PrivateDirs:
    base: Path
    tmp: Path
    home: Path
    empty: Path
    # Mount points a launcher had to create inside a writable root; removed on cleanup.
    created_mountpoints: list[Path] = field(default_factory=lambda: [])
    placeholder_files: dict[Path, bytes] = field(default_factory=lambda: {})
    staged_repositories: dict[Path, Path] = field(default_factory=lambda: {})
    """root -> the private directory a bwrap command has as `<root>/.git` (`sandbox.new_repo`)."""

    def stage_repository(self, root: Path) -> Path:
        """A private, empty directory to stand in for the missing `.git` of `root`."""
        staging = self.base / f"git-{len(self.staged_repositories)}"
        staging.mkdir(mode=0o700)
        self.staged_repositories[root] = staging
        return staging

    def claim_mountpoint(self, path: Path, placeholder: bytes | None = None) -> None:
        """Count a use of a mount point made for a missing protected entry: an empty directory,
        or a file holding `placeholder` (removed only while it still holds exactly that)."""
        with _mountpoint_lock:
            _mountpoint_users[path] += 1
            if placeholder is not None:
                _placeholders[path] = placeholder
        if placeholder is not None:
            self.placeholder_files[path] = placeholder
        self.created_mountpoints.append(path)

    @classmethod
    def create(cls) -> PrivateDirs:
        sweep_stale_dirs()
        base = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-"))
        tmp, empty = base / "tmp", base / "empty"
        home = tmp / "home"
        for directory in (tmp, home, empty):
            directory.mkdir(mode=0o700)
        empty.chmod(0o555)
        return cls(base=base, tmp=tmp, home=home, empty=empty)

    def cleanup(self) -> None:
        for mountpoint in self.created_mountpoints:
            with _mountpoint_lock:
                _mountpoint_users[mountpoint] -= 1
                last = _mountpoint_users[mountpoint] <= 0
                if last:
                    del _mountpoint_users[mountpoint]
                    _placeholders.pop(mountpoint, None)
                    # Only an empty directory we made stands there; anything else is the user's.
                    with contextlib.suppress(OSError):
                        _remove_mountpoint(mountpoint, self.placeholder_files.get(mountpoint))
        self.created_mountpoints.clear()
        shutil.rmtree(self.base, ignore_errors=True)


def _remove_mountpoint(path: Path, placeholder: bytes | None) -> None:
    if placeholder is None:
        path.rmdir()
    elif not path.is_symlink() and path.read_bytes() == placeholder:
        path.unlink()


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@cache
def sweep_stale_dirs() -> None:
    """Remove private directories whose server is gone (once per process)."""
    for entry in Path(tempfile.gettempdir()).glob(f"{PREFIX}*-*"):
        owner = entry.name.removeprefix(PREFIX).split("-", 1)[0]
        if owner.isdigit() and not pid_alive(int(owner)):
            shutil.rmtree(entry, ignore_errors=True)


@dataclass(frozen=True)
class InsideView:
    """How the command sees its private directories (paths valid inside the sandbox)."""

    tmp: Path
    home: Path
