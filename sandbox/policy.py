"""What a command or file tool may touch: the three sandbox policies and their configurable lists.

A `Policy` is plain data. Launchers (`sandbox.launchers`) turn it into kernel restrictions and the
file tools check paths against it (`sandbox.paths`); neither decides whether to ask the user.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

PolicyKind = Literal["readOnly", "workspaceWrite", "fullAccess"]
SandboxLabel = Literal["readOnly", "workspaceWrite", "none"]

# Relative to each workspace root; kept read-only under workspaceWrite because writing them lets a
# command run code outside the sandbox later (git hooks and config, editor tasks, direnv, our own
# rules). A protected path that does not exist yet is kept from being created.
DEFAULT_PROTECTED: tuple[str, ...] = (
    ".git/hooks",
    ".git/config",
    ".git/modules",
    ".tether",
    ".vscode",
    ".idea",
    ".envrc",
)

# "~" is the user's home (both the real one and the HOME the command is given). Hidden from
# sandboxed commands so their contents can never reach the model. All of ~/.tether is hidden:
# besides Tether's credentials it holds past sessions, which may quote other secrets. A custom
# TETHER_HOME must be added by the caller. /etc/shadow matters when Tether runs as root.
DEFAULT_SECRET_PATHS: tuple[str, ...] = (
    "~/.ssh",
    "~/.aws",
    "~/.gnupg",
    "~/.config/gcloud",
    "~/.azure",
    "~/.kube",
    "~/.docker/config.json",
    "~/.netrc",
    "~/.git-credentials",
    "~/.tether",
    "~/.config/gh/hosts.yml",
    "~/.pypirc",
    "~/.npmrc",
    "~/.cargo/credentials.toml",
    "~/.password-store",
    "~/.local/share/keyrings",
    "/etc/shadow",
    "/etc/gshadow",
)

DEFAULT_MAX_PROCESSES = 256


@dataclass(frozen=True)
class Policy:
    """One command's or file tool's limits.

    `roots` are the workspace roots; they are writable only under workspaceWrite. `network` lets a
    workspaceWrite command reach the network (an approved escalation); readOnly never has it and
    fullAccess always does. `max_processes` caps the command's process tree (fork bombs);
    `max_memory_bytes`, when set, has the kernel kill the command past that much memory (both
    need a writable cgroup; without one the process cap falls back to RLIMIT_NPROC).
    """

    kind: PolicyKind
    roots: tuple[Path, ...] = ()
    network: bool = False
    protected: tuple[str, ...] = DEFAULT_PROTECTED
    secret_paths: tuple[str, ...] = DEFAULT_SECRET_PATHS
    max_processes: int = DEFAULT_MAX_PROCESSES
    max_memory_bytes: int | None = None

    @property
    def sandboxed(self) -> bool:
        return self.kind != "fullAccess"

    @property
    def allows_network(self) -> bool:
        return self.kind == "fullAccess" or (self.kind == "workspaceWrite" and self.network)

    @property
    def writable_roots(self) -> tuple[Path, ...]:
        return self.roots if self.kind == "workspaceWrite" else ()

    @property
    def label(self) -> SandboxLabel:
        return "none" if self.kind == "fullAccess" else self.kind


def expand_home(entry: str, homes: tuple[Path, ...]) -> list[Path]:
    """Spell a configured path ("~/.ssh" or absolute) out against each home directory."""
    if entry == "~" or entry.startswith("~/"):
        rest = entry[2:]
        return [home / rest if rest else home for home in homes]
    return [Path(entry)]


def secret_paths_for(policy: Policy, homes: tuple[Path, ...]) -> list[Path]:
    """Every absolute secret path, deduplicated, in policy order."""
    seen: dict[Path, None] = {}
    for entry in policy.secret_paths:
        for path in expand_home(entry, homes):
            seen.setdefault(path, None)
    return list(seen)


def homes_of(env: Mapping[str, str] | None = None) -> tuple[Path, ...]:
    """The homes whose secrets must be hidden: the server's own and the one the command is given."""
    homes: dict[Path, None] = {}
    with contextlib.suppress(RuntimeError):
        homes.setdefault(Path.home(), None)
    if env and env.get("HOME"):
        homes.setdefault(Path(env["HOME"]), None)
    return tuple(homes)
