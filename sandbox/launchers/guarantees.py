"""What each launcher guarantees on this machine, in words for `tether sandbox --check`, the
`initialize` result and the editor.

Facts that differ between machines (the Landlock ABI, whether a cgroup can be made) are probed,
so the text says what holds here, not what holds at best.
"""

from __future__ import annotations

import os
from functools import cache

from sandbox import landlock


@cache
def guarantees_of(name: str) -> tuple[str, ...]:
    if name == "bwrap":
        return _BWRAP
    if name == "landlock":
        return _landlock()
    if name == "seatbelt":
        return _SEATBELT
    return (
        "no OS sandbox: readOnly and agent commands ask before they run, unsandboxed; "
        "the file tools still check every path.",
    )


_COMMON = (
    "no secret-looking variable (API keys, tokens) in any command's environment.",
    "readOnly: no writes anywhere but the command's private temporary directory.",
    "symlinks a command leaves in .git where git writes through them (logs/, COMMIT_EDITMSG, "
    "FETCH_HEAD, MERGE_MSG, ...) are removed when it ends, and reported; a git you run "
    "yourself meanwhile could still write through one.",
    "a rebase, cherry-pick or revert a command leaves stopped keeps no step that runs a program "
    "when you continue it outside the sandbox: exec lines in its todo list and a merge strategy "
    "other than git's own are removed when the command ends, and reported.",
    "a command that fills the workspace's disk past workspace_growth_cap (default 10 GiB) is "
    "killed and reported.",
)

_NEW_REPOSITORY = (
    "a workspace root without a repository may get one (`git init`), kept through the same "
    "allowlist: objects, refs, HEAD, index and the rest git writes for add and commit, "
    "info/exclude, and a config rewritten to keys that run nothing (no hooks, no "
    "core.fsmonitor, hooksPath, aliases or filters, no commondir, no symlinks); what was left "
    "out is reported."
)

_BWRAP = (
    "writes only in the workspace roots and a private /tmp: the rest of the filesystem is "
    "mounted read-only in the command's own mount namespace.",
    "protected paths (.git config and hooks, .vscode, .tether, ...) are read-only mounts: a "
    "command cannot change or create them, not even while it runs; the guard re-checks them "
    "after each command.",
    _NEW_REPOSITORY + " The command writes a private copy of .git; only the allowed part "
    "reaches the disk, after it ends.",
    "secret paths (~/.ssh, ~/.aws, ~/.tether, ...) are covered by empty mounts, and those "
    "missing inside a root (your home opened as the workspace) cannot be created.",
    "no network (own network namespace; Unix sockets refused by seccomp) unless escalated.",
    "no capabilities; own user, pid, ipc and uts namespaces: a command sees and signals only "
    "its own processes, and its whole tree dies with it.",
    "the private /tmp is a tmpfs of tmp_cap (default 4 GiB): the kernel refuses writes past "
    "it, and a command that fills it is stopped and reported.",
    *_COMMON,
)

_SEATBELT = (
    "writes only in the workspace roots and the private temporary directory (Seatbelt profile).",
    "protected paths are denied by the profile; secret paths cannot be read.",
    "no network unless escalated.",
    *_COMMON,
)


def _landlock() -> tuple[str, ...]:
    abi = landlock.abi_version()
    scoped = (
        f"signals and abstract Unix sockets stay inside the sandbox (Landlock ABI {abi}): a "
        "command cannot signal or connect to the server or the user's other programs."
        if abi >= 6
        else f"this kernel's Landlock ABI {abi} < 6 cannot scope signals or abstract Unix "
        "sockets: a command may signal the user's other processes (never the server or its "
        "helper: seccomp refuses those pids) and reach abstract sockets of the same user "
        "(only socketpair() is left with no network, so none without an escalation)."
    )
    root = os.geteuid() == 0
    return (
        "writes only in the workspace roots and the command's private temporary directory "
        "($TMPDIR; Landlock); the host's /tmp stays visible but read-only. No mount or pid "
        "namespace, for root neither: the command sees the host's mounts and filesystem as "
        "they are, only with fewer rights.",
        "protected paths are guarded, not locked: Landlock grants whole trees, so a command can "
        "change .git/config or .vscode while it runs. The guard records them before each "
        "command, puts a changed one back within milliseconds (inotify) and, when the command "
        "ends, restores everything and removes protected names and nested .git it created, "
        "then reports what it undid. A program outside the sandbox (an editor's `git status`) "
        "reading them during the command could still see a change in those milliseconds, or a "
        "protected entry the command newly created until the command ends.",
        _NEW_REPOSITORY + " Here the command writes .git itself and it is reduced to the "
        "allowlist when the command ends: a hook it planted would run if you ran git in that "
        "repository yourself before then.",
        "a workspace root holding a hidden path (your home opened as the workspace) takes no "
        "new entries at its top level from commands: Landlock grants whole trees, and any grant "
        "on the root would reach into ~/.ssh. What exists there can be changed, subdirectories "
        "work as usual, and the agent's file tools can create top-level files.",
        "secret paths (~/.ssh, ~/.aws, ~/.tether, ...) cannot be read, nor their names listed.",
        "no network: no socket but socketpair() can be made (seccomp; TCP also refused by "
        "Landlock) unless escalated.",
        ("running as root, the command is no root: " if root else "")
        + "no capabilities (bounding and ambient sets emptied, no_new_privs, securebits locked); "
        "no device nodes can be made; /dev is limited to null, zero, full, random, urandom and "
        "tty; no TIOCSTI/TIOCLINUX; clock, module, reboot, mount, keyring, ptrace, perf_event, "
        "bpf and namespace syscalls are refused (seccomp).",
        scoped,
        "no process's /proc entries (command lines, environments) can be read, its own "
        "included (`ps` does not work); the server is not dumpable.",
        "the whole process tree ends with the command: its cgroup where one can be made, else "
        "the helper, its child subreaper, kills every descendant left (setsid and double forks "
        "included) when the command exits, times out or the server dies.",
        "/ and the directories leading to a hidden one cannot be listed (a listing right there "
        "would list the hidden names too); what they hold opens by name as usual.",
        "the private temporary directory holds at most tmp_cap (default 4 GiB), checked four "
        "times a second (no tmpfs can be made): past it the command is killed and reported.",
        *_COMMON,
        f"seccomp filters exist for x86_64 and aarch64; only x86_64 is tested{_arch_note()}.",
    )


def _arch_note() -> str:
    machine = os.uname().machine
    return "" if machine == "x86_64" else f" (this machine is {machine})"
