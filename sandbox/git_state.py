"""Rebase and cherry-pick state a command leaves in a repository, made inert for the user's git.

Commands may write `.git/rebase-merge`, `rebase-apply` and `sequencer` (`GIT_WRITABLE`), so that
`git rebase -i`, `cherry-pick` and `revert` work in the sandbox. But what they leave there is
read by the user's own `git rebase --continue` (or `cherry-pick --continue`) outside it, and two
kinds of entry make that git run a program:

- a todo line `exec <cmd>` (`x`): run by the shell. Todo lists are `rebase-merge/git-rebase-todo`
  (and its `.backup`, which `--edit-todo` restores from, and `done`) and `sequencer/todo`. Lines
  are kept through an allowlist of git's other commands, so a command a newer git adds is
  dropped too; blank lines and comments (any line not starting with a letter) stay;
- a merge strategy other than git's own: git runs `git-merge-<name>` from its exec path or PATH.
  It is `rebase-merge/strategy` (also read from `rebase-apply`) or `options.strategy` in
  `sequencer/opts` (a config file, parsed by git itself: `sandbox.new_repo.parse_config`).

The rest of these directories names commits, refs and flags and runs nothing; hooks
(`post-rewrite`, `applypatch-msg`) are protected. A rebase the command started and finished in
the sandbox leaves nothing; one it left stopped keeps every other line, so the user can continue it.
`sandbox.guard` calls `sanitize_sequencer_state` after every command, for every repository.
"""

from __future__ import annotations

import contextlib
import os
import stat

from sandbox.new_repo import format_config, parse_config

BUILTIN_STRATEGIES = frozenset({"ort", "recursive", "resolve", "octopus", "ours", "subtree"})
"""Merge strategies git ships; any other name runs a `git-merge-<name>` program."""

TODO_COMMANDS = frozenset(
    {
        *("pick", "p", "reword", "r", "edit", "e", "squash", "s", "fixup", "f"),
        *("break", "b", "drop", "d", "label", "l", "reset", "t", "merge", "m"),
        *("update-ref", "u", "noop"),
    }
)
"""Todo commands that run no program of the command's choosing (all but `exec`/`x`)."""

_TODO_FILES = {
    "rebase-merge": ("git-rebase-todo", "git-rebase-todo.backup", "done"),
    "sequencer": ("todo",),
}
_STRATEGY_DIRS = ("rebase-merge", "rebase-apply")
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
_SHOWN_CHARS = 80


def sanitize_sequencer_state(git_fd: int, shown: str) -> list[str]:
    """Drop what would run a program from the rebase/sequencer state of the `.git` open at
    `git_fd` (named `shown`, e.g. ".git" or "sub/.git"); one sentence per file changed."""
    lines: list[str] = []
    for directory in sorted({*_TODO_FILES, *_STRATEGY_DIRS}):
        dir_fd = _open_dir(git_fd, directory)
        if dir_fd is None:
            continue
        try:
            where = f"{shown}/{directory}"
            for name in _TODO_FILES.get(directory, ()):
                lines += _filter_todo(dir_fd, name, f"{where}/{name}")
            if directory in _STRATEGY_DIRS:
                lines += _check_strategy_file(dir_fd, f"{where}/strategy")
            if directory == "sequencer":
                lines += _check_opts(dir_fd, f"{where}/opts")
        finally:
            os.close(dir_fd)
    return lines


def runs_a_program(line: bytes) -> bool:
    """Whether git would take this todo line for a command other than `TODO_COMMANDS`."""
    text = line.lstrip(b" \t")
    if not text[:1].isalpha():
        return False  # blank, or a comment: git's commands all start with a letter
    word = text.split(None, 1)[0]
    return word.decode("ascii", errors="replace") not in TODO_COMMANDS


def _filter_todo(dir_fd: int, name: str, shown: str) -> list[str]:
    data = _read(dir_fd, name)
    if data is None:
        return []
    lines = data.split(b"\n")
    dropped = [line for line in lines if runs_a_program(line)]
    if not dropped:
        return []
    _write(dir_fd, name, b"\n".join(line for line in lines if not runs_a_program(line)))
    first = dropped[0].strip().decode("utf-8", errors="replace")[:_SHOWN_CHARS]
    count = "a line" if len(dropped) == 1 else f"{len(dropped)} lines"
    return [
        f"the command left {count} in {shown} that would run a program when the rebase or "
        f"cherry-pick is continued outside the sandbox ({first!r}); removed it"
    ]


def _check_strategy_file(dir_fd: int, shown: str) -> list[str]:
    data = _read(dir_fd, "strategy")
    if data is None:
        return []
    strategy = data.decode("utf-8", errors="replace").strip()
    if strategy in BUILTIN_STRATEGIES:
        return []
    os.unlink("strategy", dir_fd=dir_fd)
    return [_strategy_line(shown, strategy)]


def _check_opts(dir_fd: int, shown: str) -> list[str]:
    data = _read(dir_fd, "opts")
    if data is None:
        return []
    entries = parse_config(data)
    if entries is None:
        return []  # git cannot parse it either: `--continue` stops with an error, running nothing
    bad = [v or "" for k, v in entries if k == "options.strategy" and v not in BUILTIN_STRATEGIES]
    if not bad:
        return []
    kept = [(k, v) for k, v in entries if k != "options.strategy"]
    _write(dir_fd, "opts", format_config(kept).encode())
    return [_strategy_line(shown, bad[0])]


def _strategy_line(shown: str, strategy: str) -> str:
    return (
        f"the command set the merge strategy {strategy[:_SHOWN_CHARS]!r} in {shown}, which is not "
        "one of git's own: continuing outside the sandbox would run a program git-merge-<name>; "
        "removed it (git's default strategy is used)"
    )


def _open_dir(dir_fd: int, name: str) -> int | None:
    try:
        return os.open(name, _DIR_FLAGS, dir_fd=dir_fd)
    except OSError:
        return None  # missing, or not a directory (symlinks are removed before this runs)


def _read(dir_fd: int, name: str) -> bytes | None:
    try:
        fd = os.open(name, _FILE_FLAGS, dir_fd=dir_fd)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as file:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        return file.read()


def _write(dir_fd: int, name: str, data: bytes) -> None:
    """Replace `name` by rename, so a link to it elsewhere is not written through."""
    mode = stat.S_IMODE(os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode)
    temporary = f".{name}.tether-clean"
    with contextlib.suppress(FileNotFoundError):
        os.unlink(temporary, dir_fd=dir_fd)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    with os.fdopen(os.open(temporary, flags, mode, dir_fd=dir_fd), "wb") as file:
        file.write(data)
    os.rename(temporary, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
