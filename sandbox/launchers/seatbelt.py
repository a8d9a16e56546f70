"""The macOS launcher: a Seatbelt (SBPL) profile for `/usr/bin/sandbox-exec -p PROFILE`.

Seatbelt decides by path at each operation, so unlike Landlock it can carve protected and secret
paths out of a grant, whether they exist yet or not. Renaming a directory that holds a protected
entry is a write on that directory's own path, so those directories are refused as literals too.
Paths are given as realpaths (macOS /tmp is /private/tmp); it cannot run here, its text is tested.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path

from sandbox.layout import InsideView, PrivateDirs
from sandbox.policy import Policy

SANDBOX_EXEC = "/usr/bin/sandbox-exec"

_BASE = """(version 1)
(deny default)
(allow process-exec process-fork)
(allow signal (target same-sandbox))
(allow process-info* (target same-sandbox))
(allow sysctl-read)
(allow mach-lookup)
(allow ipc-posix-shm)
(allow iokit-open)
(allow pseudo-tty)
(allow file-ioctl (literal "/dev/null") (literal "/dev/tty") (regex #"^/dev/ttys[0-9]+$"))
(allow file-write-data (literal "/dev/null") (literal "/dev/zero") (literal "/dev/tty")
  (regex #"^/dev/ttys[0-9]+$") (regex #"^/dev/fd/[0-9]+$"))
"""


def seatbelt_works() -> bool:
    return sys.platform == "darwin" and os.path.exists(SANDBOX_EXEC)


def seatbelt_inside(dirs: PrivateDirs) -> InsideView:
    return InsideView(tmp=dirs.tmp, home=dirs.home)


def sbpl_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def seatbelt_profile(
    policy: Policy, *, tmp: Path, secrets: Sequence[Path], protected: Sequence[Path]
) -> str:
    """The SBPL profile text for `policy`; every path argument must already be a realpath."""
    lines = [_BASE.rstrip("\n"), "(allow file-read*)"]
    writable = [tmp, *(Path(os.path.realpath(r)) for r in policy.writable_roots)]
    grants = " ".join(_write_grant(w, [*secrets, *protected], protected) for w in writable)
    lines.append(f"(allow file-write* {grants})")
    if policy.allows_network:
        lines.append("(allow network* system-socket)")
    if secrets:
        # Last: in SBPL the last matching rule wins.
        lines.append(f"(deny file-read* file-write* {_subpaths(secrets)})")
    return "\n".join(lines) + "\n"


def seatbelt_argv(
    argv: Sequence[str],
    *,
    policy: Policy,
    dirs: PrivateDirs,
    secrets: Sequence[Path],
    protected: Sequence[Path],
) -> list[str]:
    profile = seatbelt_profile(
        policy,
        tmp=Path(os.path.realpath(dirs.tmp)),
        secrets=[Path(os.path.realpath(s)) for s in secrets],
        protected=protected,
    )
    return [SANDBOX_EXEC, "-p", profile, "--", *argv]


def _write_grant(root: Path, denied: Sequence[Path], protected: Sequence[Path]) -> str:
    """`(subpath root)` minus the denied subtrees and the directories holding protected ones."""
    inside = [p for p in denied if _under(p, root)]
    parents = _protected_parents([p for p in protected if _under(p, root)], [root])
    if not inside:
        return f"(subpath {sbpl_string(str(root))})"
    guard = " ".join(filter(None, (_subpaths(inside), _literals(parents))))
    return f"(require-all (subpath {sbpl_string(str(root))}) (require-not (require-any {guard})))"


def _subpaths(paths: Sequence[Path]) -> str:
    return " ".join(f"(subpath {sbpl_string(str(p))})" for p in paths)


def _literals(paths: Sequence[Path]) -> str:
    return " ".join(f"(literal {sbpl_string(str(p))})" for p in paths)


def _protected_parents(protected: Sequence[Path], writable: Sequence[Path]) -> list[Path]:
    parents: dict[Path, None] = {}
    for path in protected:
        for root in writable:
            if _under(path, root):
                for parent in path.parents:
                    if _under(parent, root) and parent != root:
                        parents.setdefault(parent, None)
    return list(parents)


def _under(path: Path, base: Path) -> bool:
    return path.parts[: len(base.parts)] == base.parts
