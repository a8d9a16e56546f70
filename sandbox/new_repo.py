"""A repository a command creates at the top of a root (`git init .`), kept through an allowlist.

A root without `.git` may get one from a command: `git init`, then `git add` and `git commit`,
is ordinary work. But a new `.git` is as dangerous as a changed one: its hooks, its config
(`core.fsmonitor`, `core.hooksPath`, filters, aliases) and `commondir` run code or redirect git
the next time Tether or the user runs git outside the sandbox. So what the command made is kept
only through the same allowlist that holds for existing repositories, and its config only for
keys that run nothing:

- entries of `GIT_WRITABLE` (objects, refs, HEAD, index, logs, ...) are kept as they are;
- `config` is rewritten from what git itself parses in it (`git config --list`, no includes),
  keeping only `CONFIG_KEYS`: the format keys `git init` writes, `user.name`/`user.email`,
  remotes' URLs and refspecs, branches' upstreams. Anything else is left out and reported;
- `info/exclude` is kept (ignore patterns); everything else (hooks, commondir, worktrees,
  modules, ...) goes. Git's default template (`hooks/*.sample`, `branches/`) goes silently.

Where it happens depends on the launcher. Under bwrap the command writes a private staging
directory mounted at `<root>/.git`; after it, the staging directory is sanitized and copied into
the root (`HEAD` last: git takes a directory without `HEAD` for no repository), so nothing it
wrote outside the allowlist ever reaches the disk. Under Landlock the command writes `<root>/.git`
itself and it is sanitized in place when the command ends: until then a hook it planted could
run if the user runs git there (`sandbox.launchers.guarantees` says so).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import subprocess
import tempfile
from pathlib import Path

from sandbox.policy import GIT_DIR, git_writable

CONFIG_KEYS: frozenset[str] = frozenset(
    {
        "core.repositoryformatversion",
        "core.filemode",
        "core.bare",
        "core.logallrefupdates",
        "core.ignorecase",
        "core.precomposeunicode",
        "core.symlinks",
        "core.autocrlf",
        "core.eol",
        "extensions.objectformat",
        "init.defaultbranch",
        "user.name",
        "user.email",
    }
)
"""Config keys (section.name, lower case) a new repository keeps; none makes git run anything."""

SUBSECTION_KEYS: frozenset[str] = frozenset(
    {"branch.remote", "branch.merge", "remote.url", "remote.pushurl", "remote.fetch"}
)
"""Keys with a subsection (`remote "origin"`) kept for any subsection. A remote's URL runs
nothing by itself: `ext::` transports are refused by git's default `protocol.allow`, and the
keys that name programs (`remote.*.uploadpack`, `receivepack`, `vcs`) are not kept."""

_KEPT_IN_INFO = "exclude"
_TEMPLATE_ONLY = {"hooks", "branches"}  # git init's template; dropped without a report when inert
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_MAX_CONFIG_BYTES = 1024 * 1024


# Entries of an existing repository's `.git` that git writes by opening the path (so through a
# symlink) rather than by renaming a lock file over it; `objects` and `refs` are left out: git
# writes those by rename, and walking them after every command would cost too much.
WRITTEN_THROUGH: tuple[str, ...] = (
    "logs",
    "COMMIT_EDITMSG",
    "FETCH_HEAD",
    "MERGE_MSG",
    "MERGE_MODE",
    "MERGE_RR",
    "rebase-merge",
    "rebase-apply",
    "rebased-patches",
    "sequencer",
    "rr-cache",
    "gc.log",
    "description",
)


def drop_links_in_git_dir(git_fd: int, shown: str) -> list[str]:
    """Remove symlinks a command left in the written-through entries (`WRITTEN_THROUGH`) of an
    existing `.git` directory (an fd; `shown` is how to name it); one sentence per removal."""
    names = set(os.listdir(git_fd))
    return [
        line.replace(".git/", f"{shown}/", 1)
        for name in WRITTEN_THROUGH
        if name in names
        for line in drop_links(git_fd, name, name)
    ]


def sanitize_in_place(root: Path) -> list[str]:
    """Reduce the `.git` a command made at `root` to the allowlist (Landlock); what was left out,
    one sentence each. A `.git` that is not a directory (a `gitdir:` file, a symlink) goes."""
    root_fd = os.open(root, _DIR_FLAGS)
    try:
        mode = _mode(root_fd, GIT_DIR)
        if not mode:
            return []
        if not stat.S_ISDIR(mode):
            os.unlink(GIT_DIR, dir_fd=root_fd)
            return [
                "the command created .git as a file or link (it could point git at a repository "
                "elsewhere, with hooks of its own); removed it"
            ]
        git_fd = os.open(GIT_DIR, _DIR_FLAGS, dir_fd=root_fd)
    finally:
        os.close(root_fd)
    try:
        return _sanitize(git_fd)
    finally:
        os.close(git_fd)


def adopt_staged(root: Path, staging: Path) -> list[str]:
    """Sanitize the staging directory a bwrap command had as `<root>/.git` and copy it into the
    root (bwrap). Kept only when the root still has no repository: one that appeared meanwhile
    (another command's, the user's) is left alone and this one is discarded, with a report."""
    staging_fd = os.open(staging, _DIR_FLAGS)
    try:
        names = os.listdir(staging_fd)
        if not names:
            return []
        if "HEAD" not in names:
            return ["the command wrote into .git without making a repository; discarded that"]
        lines = _sanitize(staging_fd)
        root_fd = os.open(root, _DIR_FLAGS)
        try:
            target_fd = _empty_git_dir(root_fd)
            if target_fd is None:
                return [
                    *lines,
                    "a repository appeared at .git while the command ran (another command or "
                    "program made it); the one the command made was discarded",
                ]
            try:
                for name in sorted(os.listdir(staging_fd), key=lambda n: n == "HEAD"):
                    _copy(staging_fd, target_fd, name)
            finally:
                os.close(target_fd)
        finally:
            os.close(root_fd)
        return lines
    finally:
        os.close(staging_fd)


def _empty_git_dir(root_fd: int) -> int | None:
    """An fd of `<root>/.git` when it is missing (made now) or an empty directory (bwrap's mount
    point, still mounted over in other running commands: it is filled, never replaced, so their
    own staging mounts stay where they are); None when something else stands there."""
    with contextlib.suppress(FileExistsError):
        os.mkdir(GIT_DIR, 0o755, dir_fd=root_fd)
    try:
        fd = os.open(GIT_DIR, _DIR_FLAGS, dir_fd=root_fd)
    except OSError:
        return None
    if os.listdir(fd):
        os.close(fd)
        return None
    return fd


def _sanitize(git_fd: int) -> list[str]:
    lines: list[str] = []
    for name in sorted(os.listdir(git_fd)):
        if git_writable(name):
            lines += drop_links(git_fd, name, name)
            continue
        if name == "config" and _is_file(git_fd, name):
            lines += _rewrite_config(git_fd)
            continue
        if name == "info" and _is_dir(git_fd, name):
            lines += _keep_only_exclude(git_fd)
            continue
        if not _inert_template(git_fd, name):
            lines.append(
                f"the command created .git/{name} in the new repository, which is not among what "
                "commands may write there (hooks, config and friends make git run code); removed it"
            )
        _remove(git_fd, name)
    return lines


def _rewrite_config(git_fd: int) -> list[str]:
    fd = os.open("config", os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=git_fd)
    with os.fdopen(fd, "rb") as file:
        data = file.read(_MAX_CONFIG_BYTES + 1)
    entries = parse_config(data) if len(data) <= _MAX_CONFIG_BYTES else None
    lines: list[str] = []
    if entries is None:
        entries = []
        lines.append("the new repository's .git/config could not be read by git; emptied it")
    kept = [(key, value) for key, value in entries if _allowed(key)]
    for key in dict.fromkeys(key for key, _ in entries if not _allowed(key)):
        lines.append(
            f"the new repository's .git/config set {key}, which can make git run code or "
            "follow other files outside the sandbox; left it out"
        )
    temporary = ".config.tether-new"
    _remove(git_fd, temporary)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    out = os.open(temporary, flags, 0o644, dir_fd=git_fd)
    with os.fdopen(out, "w", encoding="utf-8") as file:
        file.write(format_config(kept))
    os.rename(temporary, "config", src_dir_fd=git_fd, dst_dir_fd=git_fd)
    return lines


def _allowed(key: str) -> bool:
    section, _, rest = key.partition(".")
    subsection, _, name = rest.rpartition(".")
    if not subsection:
        return f"{section}.{name}" in CONFIG_KEYS
    return f"{section}.{name}" in SUBSECTION_KEYS and "\n" not in subsection


def parse_config(data: bytes) -> list[tuple[str, str | None]] | None:
    """(key, value) pairs as git reads them from `data` (value None: a bare boolean key), or None
    when git cannot parse it. Git parses, not us, so nothing git would see is missed; includes
    are not followed and no other config file is read."""
    git = shutil.which("git")
    if git is None:
        return None
    with tempfile.NamedTemporaryFile(prefix="tether-config-") as file:
        file.write(data)
        file.flush()
        env = {"PATH": os.defpath, "GIT_CONFIG_NOSYSTEM": "1", "HOME": "/nonexistent"}
        env["GIT_CEILING_DIRECTORIES"] = "/"
        done = subprocess.run(
            [git, "config", "--file", file.name, "--no-includes", "--null", "--list"],
            capture_output=True,
            cwd="/",
            env=env,
            timeout=30,
            check=False,
        )
    if done.returncode != 0:
        return None
    pairs: list[tuple[str, str | None]] = []
    for record in done.stdout.decode("utf-8", errors="replace").split("\0"):
        if record:
            key, newline, value = record.partition("\n")
            pairs.append((key, value if newline else None))
    return pairs


def format_config(entries: list[tuple[str, str | None]]) -> str:
    """Config text holding `entries` (keys as `git config --list` spells them), grouped by
    section, every value quoted."""
    sections: dict[tuple[str, str], list[str]] = {}
    for key, value in entries:
        section, _, rest = key.partition(".")
        subsection, _, name = rest.rpartition(".")
        line = f"\t{name}" if value is None else f"\t{name} = {_quoted(value)}"
        sections.setdefault((section, subsection), []).append(line)
    text: list[str] = []
    for (section, subsection), lines in sections.items():
        text.append(f"[{section} {_quoted(subsection)}]" if subsection else f"[{section}]")
        text += lines
    return "".join(f"{line}\n" for line in text)


def _quoted(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + escaped.replace("\n", "\\n").replace("\t", "\\t").replace("\b", "\\b") + '"'


def drop_links(dir_fd: int, name: str, shown: str) -> list[str]:
    """Remove every symlink and special file at or below `name` (in a `.git`, shown as
    `.git/<shown>`): git appends to reflogs and writes COMMIT_EDITMSG, FETCH_HEAD and MERGE_MSG
    through symlinks, so `logs/HEAD -> ~/.bashrc` would have the next commit outside the sandbox
    write there. Git itself makes none."""
    mode = _mode(dir_fd, name)
    if stat.S_ISDIR(mode):
        lines: list[str] = []
        fd = os.open(name, _DIR_FLAGS, dir_fd=dir_fd)
        try:
            for child in sorted(os.listdir(fd)):
                lines += drop_links(fd, child, f"{shown}/{child}")
        finally:
            os.close(fd)
        return lines
    if stat.S_ISREG(mode) or not mode:
        return []
    os.unlink(name, dir_fd=dir_fd)
    return [
        f"the command made .git/{shown} a symlink or special file, which git outside the "
        "sandbox would write through; removed it"
    ]


def _keep_only_exclude(git_fd: int) -> list[str]:
    lines: list[str] = []
    fd = os.open("info", _DIR_FLAGS, dir_fd=git_fd)
    try:
        for name in os.listdir(fd):
            if name == _KEPT_IN_INFO and _is_file(fd, name):
                continue
            lines.append(
                f"the command created .git/info/{name} in the new repository, which is "
                "protected; removed it"
            )
            _remove(fd, name)
    finally:
        os.close(fd)
    return lines


def _inert_template(git_fd: int, name: str) -> bool:
    """Whether `name` is git's default template content: `hooks/` holding only `*.sample` files
    (git never runs those), an empty `branches/`."""
    if name not in _TEMPLATE_ONLY or not _is_dir(git_fd, name):
        return False
    fd = os.open(name, _DIR_FLAGS, dir_fd=git_fd)
    try:
        return all(n.endswith(".sample") and _is_file(fd, n) for n in os.listdir(fd))
    finally:
        os.close(fd)


def _copy(src_fd: int, dst_fd: int, name: str) -> None:
    """Copy `name` from one directory to another, files and directories only (`_sanitize` has
    removed every symlink and special file already)."""
    info = os.stat(name, dir_fd=src_fd, follow_symlinks=False)
    mode = stat.S_IMODE(info.st_mode)
    if stat.S_ISDIR(info.st_mode):
        os.mkdir(name, 0o700, dir_fd=dst_fd)
        src_child = os.open(name, _DIR_FLAGS, dir_fd=src_fd)
        dst_child = os.open(name, _DIR_FLAGS, dir_fd=dst_fd)
        try:
            for child in os.listdir(src_child):
                _copy(src_child, dst_child, child)
        finally:
            os.close(src_child)
            os.close(dst_child)
        os.chmod(name, mode, dir_fd=dst_fd)
    elif stat.S_ISREG(info.st_mode):
        read_flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC
        write_flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        with (
            os.fdopen(os.open(name, read_flags, dir_fd=src_fd), "rb") as source,
            os.fdopen(os.open(name, write_flags, mode & 0o777, dir_fd=dst_fd), "wb") as target,
        ):
            shutil.copyfileobj(source, target, 1024 * 1024)


def _is_file(dir_fd: int, name: str) -> bool:
    return stat.S_ISREG(_mode(dir_fd, name))


def _is_dir(dir_fd: int, name: str) -> bool:
    return stat.S_ISDIR(_mode(dir_fd, name))


def _mode(dir_fd: int, name: str) -> int:
    try:
        return os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode
    except FileNotFoundError:
        return 0


def _remove(dir_fd: int, name: str) -> None:
    mode = _mode(dir_fd, name)
    if stat.S_ISDIR(mode):
        shutil.rmtree(name, dir_fd=dir_fd)
    elif mode:
        os.unlink(name, dir_fd=dir_fd)
