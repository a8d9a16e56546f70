"""What a command or file tool may touch: the three sandbox policies and their configurable lists.

A `Policy` is plain data. Launchers (`sandbox.launchers`) turn it into kernel restrictions and the
file tools check paths against it (`sandbox.paths`); neither decides whether to ask the user.

The protected set is defined here once:
- `DEFAULT_PROTECTED`: entries relative to each root (`.git/config`, `.vscode`, ...), read-only for
  commands and never created by them; `GIT_WRITABLE` is what commands may still write in `.git`.
- `HOME_PROTECTED`: shell and git start-up files, relative to each home that lies inside a root.
- `Policy.own_paths`: Tether's interpreter, installed packages and code (`tether_own_paths`),
  protected wherever they lie inside a root, since the server runs them unsandboxed.
- `is_protected(root, relative, policy)`: the file tools' test. It also protects all of `.git`
  (allowlist or not) and every protected name at any depth, not only at the root.
- `protected_cover_points(root, policy, homes)`: the absolute paths a launcher must keep
  read-only and uncreatable for one root (`sandbox.protect` adds nested repositories).
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import site
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Literal

from protocol.base import SandboxKind

PolicyKind = Literal["readOnly", "workspaceWrite", "fullAccess"]
"""What a policy lets a command touch. The protocol names the same three `SandboxKind` (where a
command ran: "none" for fullAccess); `policy_kind_of` and `Policy.label` translate, nothing else."""


def policy_kind_of(sandbox: SandboxKind) -> PolicyKind:
    """The policy kind of a command that is to run in `sandbox`."""
    return "fullAccess" if sandbox == "none" else sandbox


# The protected set (PROTOCOL.md section 6, "protected paths"). Writing any of these lets a command
# or an edit run code outside the sandbox later: git runs hooks, fsmonitor and filters named in its
# config; editors run tasks and dev containers; direnv and shells source their files; Tether and
# other agents read their rules and MCP servers. Each entry is relative to a workspace root; one
# that does not exist yet is kept from being created. `sandbox.protect` turns them into mount
# targets, `is_protected` answers for the file tools.

GIT_DIR = ".git"

# What git itself writes under a repository's `.git`. Measured, not guessed: `strace -f -e
# trace=openat,creat,mkdir,rename,unlink,link,symlink,...` of git 2.39.5 (Debian 12) in a scratch
# repository running add, commit, branch, checkout, tag, merge (fast-forward and conflicted),
# cherry-pick (one commit and two), revert, stash push/pop, rebase -i (a reword), rebase --apply,
# rerere, fetch from a local path, reset --hard, status and gc. Every name those created, renamed
# or opened for writing directly under `.git` is here, with three exceptions: `config` (written
# only by `git config`), `info` (gc's update-server-info writes `info/refs`: under bwrap that
# step fails, under Landlock the guard undoes it; gc still packs) and the temporary
# `index.stash.<pid>` and `packed-refs.new` (new names, which nothing keeps a command from
# creating). Not seen in that run but listed from
# git's documentation: MERGE_AUTOSTASH, REVERT_HEAD, gc.log, shallow, description and lfs. Each
# name may also carry a `.lock` suffix: git writes `<name>.lock` and renames it over `<name>`.
# Commands may write these; everything else directly under `.git` is read-only for them. The
# file tools write none of `.git` without approval (a model has no reason to edit git's internals
# by hand).
GIT_WRITABLE: tuple[str, ...] = (
    "objects",
    "refs",
    "logs",
    "index",
    "HEAD",
    "ORIG_HEAD",
    "FETCH_HEAD",
    "COMMIT_EDITMSG",
    "packed-refs",
    "MERGE_HEAD",
    "MERGE_MSG",
    "MERGE_MODE",
    "MERGE_AUTOSTASH",
    "MERGE_RR",  # rerere's record of the conflicts being resolved
    "CHERRY_PICK_HEAD",
    "REVERT_HEAD",
    "REBASE_HEAD",
    "AUTO_MERGE",
    "rebase-merge",
    "rebase-apply",
    "rebased-patches",  # rebase --apply's patch series
    "sequencer",
    "rr-cache",
    "gc.pid",
    "gc.log",
    "shallow",
    "description",
    "lfs",  # git-lfs's object store, written by its clean filter during `git add`
)

# Read by git from a repository's `.git` to decide what to run or where the repository really is;
# kept read-only, and (when missing) from being created, in every repository below a root.
GIT_READ_ONLY: tuple[str, ...] = (
    "config",
    "config.worktree",
    "commondir",
    "hooks",
    "info",
    "modules",
    "worktrees",
    "remotes",
    "branches",
)

# Names that are dangerous wherever they appear below a root: files the editor, agents, git or
# direnv read from a project (sandbox-runtime's mandatory deny list, plus Tether's own and Codex's).
PROJECT_PROTECTED: tuple[str, ...] = (
    ".gitmodules",
    ".mcp.json",
    ".envrc",
    ".devcontainer",
    ".vscode",
    ".idea",
    ".tether",
    ".claude",
    ".codex",
)

# Files a shell or git reads from the user's home. Protected wherever they appear below a root, and
# kept from being created where a home lies inside a root (a workspace that is HOME).
HOME_PROTECTED: tuple[str, ...] = (
    ".bashrc",
    ".bash_profile",
    ".bash_login",
    ".bash_logout",
    ".profile",
    ".zshrc",
    ".zprofile",
    ".zshenv",
    ".zlogin",
    ".zlogout",
    ".cshrc",
    ".tcshrc",
    ".kshrc",
    ".inputrc",
    ".gitconfig",
    ".ripgreprc",
    ".config/git",
)

DEFAULT_PROTECTED: tuple[str, ...] = (
    *(f"{GIT_DIR}/{name}" for name in GIT_READ_ONLY),
    *PROJECT_PROTECTED,
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
    `own_paths` are absolute paths kept read-only wherever they lie inside a root.
    """

    kind: PolicyKind
    roots: tuple[Path, ...] = ()
    network: bool = False
    protected: tuple[str, ...] = DEFAULT_PROTECTED
    secret_paths: tuple[str, ...] = DEFAULT_SECRET_PATHS
    max_processes: int = DEFAULT_MAX_PROCESSES
    max_memory_bytes: int | None = None
    own_paths: tuple[Path, ...] = field(default_factory=lambda: tether_own_paths())

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
    def label(self) -> SandboxKind:
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


@cache
def tether_own_paths() -> tuple[Path, ...]:
    """What the server runs unsandboxed: the interpreter's prefixes, the installed packages, the
    code of Tether itself and the directories on its PATH (where it finds `rg` and `git`).

    A command that could write any of them would have its code run outside the sandbox by the
    next search or git call, so they are protected whenever a workspace root holds them.
    """
    found: dict[Path, None] = {}
    candidates: list[str] = [sys.prefix, sys.exec_prefix, sys.base_prefix, sys.base_exec_prefix]
    candidates += site.getsitepackages()
    candidates.append(site.getusersitepackages())
    for package in ("server", "sandbox", "protocol"):
        spec = importlib.util.find_spec(package)
        for location in (spec.submodule_search_locations or []) if spec else []:
            candidates.append(location)
    candidates += [entry for entry in os.environ.get("PATH", "").split(os.pathsep) if entry]
    for candidate in candidates:
        if os.path.isabs(candidate):
            found.setdefault(Path(os.path.realpath(candidate)), None)
    return tuple(found)


def _is_under(path: Path, base: Path) -> bool:
    return path.parts[: len(base.parts)] == base.parts


def _folded(parts: Sequence[str]) -> tuple[str, ...]:
    # Case-folded: on a case-insensitive filesystem ".GIT/config" is .git/config.
    return tuple(part.casefold() for part in parts)


_ANY_DEPTH_NAMES = frozenset(
    name.casefold() for name in (*PROJECT_PROTECTED, *HOME_PROTECTED) if "/" not in name
)
_ANY_DEPTH_PAIRS = tuple(
    _folded(Path(name).parts) for name in (*PROJECT_PROTECTED, *HOME_PROTECTED) if "/" in name
)


def is_protected(root: Path, relative: str | os.PathLike[str], policy: Policy) -> str | None:
    """The protected entry a path below `root` falls under (".git", ".vscode", ...), or None.

    For the file tools: `relative` is taken as spelled, so callers ask for both the path as given
    and as resolved. Any `.git` component counts, which also covers creating a new repository
    anywhere below the root; so does every protected name at any depth, and every own path.
    """
    parts = Path(relative).parts
    folded = _folded(parts)
    if GIT_DIR in folded:
        below = folded[folded.index(GIT_DIR) + 1 :]
        inner = next((n for n in GIT_READ_ONLY if below[:1] == (n.casefold(),)), None)
        return f"{GIT_DIR}/{inner}" if inner else GIT_DIR
    for part, name in zip(folded, parts, strict=True):
        if part in _ANY_DEPTH_NAMES:
            return name
    for index in range(len(folded)):
        if any(folded[index : index + len(pair)] == pair for pair in _ANY_DEPTH_PAIRS):
            return "/".join(parts[index : index + 2])
    for entry in policy.protected:
        entry_parts = _folded(Path(entry).parts)
        if folded[: len(entry_parts)] == entry_parts:
            return entry
    absolute = root / relative
    for own in policy.own_paths:
        if own != root and _is_under(own, root) and _is_under(absolute, own):
            return str(own)
    return None


def git_writable(name: str) -> bool:
    """Whether a command may write this entry directly under a `.git` directory (a name of
    `GIT_WRITABLE`, or its `.lock` file)."""
    return name.removesuffix(".lock") in GIT_WRITABLE


def protected_cover_points(root: Path, policy: Policy, homes: Sequence[Path] = ()) -> list[Path]:
    """The absolute paths under `root` a launcher keeps read-only and uncreatable for commands:
    `policy.protected` at the root, `HOME_PROTECTED` under each home inside the root, and the
    own paths inside the root (never the root itself: that would make the whole root read-only).

    Nested repositories and protected names deeper down exist only on disk; `sandbox.protect`
    finds those.
    """
    points: dict[Path, None] = {}
    for entry in policy.protected:
        if not Path(entry).is_absolute() and ".." not in Path(entry).parts:
            points.setdefault(root / entry, None)
    for home in homes:
        if _is_under(home, root):
            for entry in HOME_PROTECTED:
                points.setdefault(home / entry, None)
    for own in policy.own_paths:
        if _is_under(own, root) and own != root:
            points.setdefault(own, None)
    return list(points)
