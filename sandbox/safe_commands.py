"""The curated list of known-safe read-only commands and the argument checks that keep them so.

A command is known-safe when, whatever files it is pointed at, it can only read and print: it
cannot write a file, run another program or reach the network. readOnly mode runs such commands
without asking (inside the read-only sandbox as a second line of defence).

Strictness over reach: an option we do not know makes a command unsafe only where the program
has dangerous options at all (`git`, `find`, `rg`, `sed`, `sort`, ...); plain readers (`cat`,
`ls`, `wc`, ...) accept any argument. GNU and git parsers accept unambiguous abbreviations of
long options (`--out` for `--output`), so an abbreviation of a forbidden option is refused too.
Unquoted globs and braces are refused for commands with dangerous options, because a file named
like an option (`-delete`, `--pre=sh`) would turn into one when the shell expands the pattern.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from sandbox.commands import ParsedCommand, SimpleCommand

ArgCheck = Callable[[Sequence[str]], bool]

# Programs that only read their inputs and print, whatever their arguments.
_PLAIN_READERS = frozenset(
    {
        "ls", "cat", "head", "tail", "wc", "nl", "cut", "tr", "rev", "tac", "column", "fold",
        "echo", "printf", "pwd", "true", "false", "whoami", "id", "groups", "uname", "nproc",
        "basename", "dirname", "realpath", "readlink", "stat", "du", "df", "which", "type",
        "grep", "egrep", "fgrep", "diff", "cmp", "comm", "seq", "expr", "test", "sleep", "cd",
        "strings", "od", "hexdump", "md5sum", "sha1sum", "sha256sum", "sha512sum", "b2sum",
        "cksum", "jq",
    }
)  # fmt: skip


def is_known_safe(parsed: ParsedCommand) -> bool:
    """True when every part of the line is a known-safe command and nothing is flagged."""
    return (
        parsed.plain and bool(parsed.commands) and all(map(is_safe_simple_command, parsed.commands))
    )


def is_safe_simple_command(command: SimpleCommand) -> bool:
    """True when this one command can only read and print, judged from its argv."""
    if not command.words or not all(word.literal for word in command.words):
        return False
    name, *args = command.argv
    check = _CHECKS.get(name)
    if check is None:
        return name in _PLAIN_READERS
    if any(word.pattern for word in command.words):
        return False
    return check(args)


def long_option_matches(arg: str, forbidden: frozenset[str]) -> bool:
    """True when `arg` is one of the `forbidden` long options or an abbreviation of one."""
    if not arg.startswith("--") or arg == "--":
        return False
    name = arg.split("=", 1)[0]
    return any(
        option == name or (len(name) > 2 and option.startswith(name)) for option in forbidden
    )


def short_cluster_has(arg: str, letters: str) -> bool:
    """True when `arg` is a short-option cluster (`-abc`) that contains any of `letters`."""
    return arg.startswith("-") and not arg.startswith("--") and any(c in letters for c in arg[1:])


def _refusing(long: frozenset[str], short: str = "") -> ArgCheck:
    def check(args: Sequence[str]) -> bool:
        return not any(long_option_matches(a, long) or short_cluster_has(a, short) for a in args)

    return check


_check_sort = _refusing(frozenset({"--output", "--compress-program"}), "o")
_check_rg = _refusing(frozenset({"--pre", "--pre-glob", "--hostname-bin", "--search-zip"}), "z")
_check_fd = _refusing(frozenset({"--exec", "--exec-batch"}), "xX")
_check_file = _refusing(frozenset({"--compile"}), "C")
_check_tree = _refusing(frozenset({"--output"}), "oR")

_FIND_ACTIONS = frozenset(
    {"-exec", "-execdir", "-ok", "-okdir", "-delete", "-fls", "-fprint", "-fprint0", "-fprintf"}
)


def _check_find(args: Sequence[str]) -> bool:
    return not any(arg in _FIND_ACTIONS for arg in args)


_DATE_SETTING = re.compile(r"[0-9.]{8,}")


def _check_date(args: Sequence[str]) -> bool:
    """No `-s`/`--set` and no `MMDDhhmm[[CC]YY][.ss]` operand: both set the clock."""
    refuses_set = _refusing(frozenset({"--set"}), "s")(args)
    return refuses_set and not any(_DATE_SETTING.fullmatch(arg) for arg in args)


_XARGS_FLAGS = frozenset({"-0", "-r", "-t", "-x", "--null", "--no-run-if-empty", "--verbose"})
_XARGS_VALUES = frozenset({"-n", "-L", "-P", "-s", "-d"})
_XARGS_LONG_VALUES = ("--max-args=", "--max-lines=", "--max-procs=", "--max-chars=", "--delimiter=")


def _check_xargs(args: Sequence[str]) -> bool:
    """`xargs` feeding a plain reader (`find . -name '*.py' | xargs wc -l`).

    The words xargs reads from its input become arguments, so only programs that are safe
    with any argument qualify, and no option that rewrites the command line (-I) is allowed.
    """
    index = 0
    while index < len(args) and args[index].startswith("-"):
        size = _xargs_option_size(args[index])
        if not size:
            return False
        index += size
    return index >= len(args) or args[index] in _PLAIN_READERS


def _xargs_option_size(arg: str) -> int:
    """How many words an xargs option we accept spans (`-n 5`: 2, `-n5`: 1); 0 if refused."""
    if arg in _XARGS_VALUES:
        return 2
    accepted = arg in _XARGS_FLAGS or arg.startswith(_XARGS_LONG_VALUES)
    return 1 if accepted or arg[:2] in _XARGS_VALUES else 0


def _check_command(args: Sequence[str]) -> bool:
    """`command -v NAME` only looks a name up; any other use runs NAME."""
    return len(args) >= 2 and args[0] in ("-v", "-V")


_UNIQ_VALUE_OPTIONS = frozenset({"-f", "-s", "-w"})


def _check_uniq(args: Sequence[str]) -> bool:
    """`uniq IN OUT` writes OUT, so at most one file operand."""
    operands = 0
    skip = False
    for arg in args:
        if skip:
            skip = False
        elif arg in _UNIQ_VALUE_OPTIONS:
            skip = True
        elif not arg.startswith("-") or arg == "-":
            operands += 1
    return operands <= 1


_SED_FLAGS = frozenset("nErsuz")
_SED_LONG = frozenset(
    {"--quiet", "--silent", "--regexp-extended", "--separate", "--null-data", "--unbuffered"}
    | {"--posix", "--debug", "--sandbox"}
)


def _check_sed(args: Sequence[str]) -> bool:
    """Known options only (no -i, no -f), and every script free of w, e and friends."""
    scripts: list[str] = []
    operands: list[str] = []
    index = 0
    while index < len(args):
        arg = args[index]
        if arg.startswith("--expression="):
            scripts.append(arg.split("=", 1)[1])
        elif arg in ("-e", "--expression") or (
            arg.startswith("-") and arg.endswith("e") and set(arg[1:-1]) <= _SED_FLAGS
        ):
            if index + 1 >= len(args):
                return False
            scripts.append(args[index + 1])
            index += 1
        elif arg in _SED_LONG or (len(arg) > 1 and arg[0] == "-" and set(arg[1:]) <= _SED_FLAGS):
            pass
        elif arg.startswith("-") and arg != "-":
            return False
        else:
            operands.append(arg)
        index += 1
    if not scripts:
        if not operands:
            return False
        scripts.append(operands[0])
    return all(map(is_read_only_sed_script, scripts))


# sed commands that neither write (w, W, s///w), execute (e, s///e) nor read other files (r, R).
_SED_PLAIN_COMMANDS = frozenset("pP=dDnNgGhHxz{}")
_SED_NUMBERED_COMMANDS = frozenset("lLqQ")
_SED_S_FLAGS = frozenset("gpiImM0123456789")
_SED_LABEL_COMMANDS = frozenset(":btT")


def is_read_only_sed_script(script: str) -> bool:
    """True when a sed script only selects, prints and rewrites the stream.

    A small scanner over addresses, `s`, `y` and single-letter commands; anything it does not
    recognise makes the script unsafe. Regular expressions are scanned bracket-aware, like GNU
    sed, so `s/[/]/x/w f` is seen as writing to `f`.
    """
    index = 0
    while index < len(script):
        char = script[index]
        if char in " \t\n;":
            index += 1
        elif char == "#":
            end = script.find("\n", index)
            index = len(script) if end < 0 else end
        else:
            index = _sed_command_end(script, _sed_address_end(script, index))
            if index < 0:
                return False
    return True


def _sed_command_end(script: str, index: int) -> int:
    """Index after the command starting at `index`, or -1 for an unsafe or unknown command."""
    if index < 0 or index >= len(script):
        return -1
    command = script[index]
    if command in _SED_PLAIN_COMMANDS:
        return index + 1
    if command in _SED_NUMBERED_COMMANDS:
        index += 1
        while index < len(script) and (script[index].isdigit() or script[index] in " \t"):
            index += 1
        return index
    if command in _SED_LABEL_COMMANDS:
        return _sed_label_end(script, index + 1, required=command == ":")
    if command == "s":
        return _sed_substitution_end(script, index + 1)
    if command == "y" and index + 1 < len(script):
        delimiter = script[index + 1]
        middle = _delimited_end(script, index + 2, delimiter, regex=False)
        return _delimited_end(script, middle, delimiter, regex=False)
    return -1


def _sed_label_end(script: str, index: int, *, required: bool) -> int:
    """Skip a label of `:`, `b`, `t` or `T`.

    It ends at the first character that could end it in any sed, so whatever follows is
    scanned as commands even where sed would read it as part of the label.
    """
    while index < len(script) and script[index] in " \t":
        index += 1
    start = index
    while index < len(script) and script[index] not in "; \t\n}":
        index += 1
    return -1 if required and index == start else index


def _sed_address_end(script: str, index: int) -> int:
    """Skip an optional address or range and a trailing `!`; -1 when malformed."""
    index = _sed_one_address_end(script, index)
    if 0 <= index < len(script) and script[index] == ",":
        index = _sed_one_address_end(script, index + 1, after_comma=True)
    while 0 <= index < len(script) and script[index] in " \t!":
        index += 1
    return index


def _sed_one_address_end(script: str, index: int, *, after_comma: bool = False) -> int:
    if index >= len(script):
        return index
    char = script[index]
    if char == "$":
        return index + 1
    if char.isdigit() or (after_comma and char in "+~"):
        index += 1
        while index < len(script) and (script[index].isdigit() or script[index] == "~"):
            index += 1
        return index
    if char in "/\\":
        delimiter = "/"
        if char == "\\":
            if index + 1 >= len(script):
                return -1
            index, delimiter = index + 1, script[index + 1]
        index = _delimited_end(script, index + 1, delimiter, regex=True)
        while 0 <= index < len(script) and script[index] in "IM":
            index += 1
    return index


def _sed_substitution_end(script: str, index: int) -> int:
    if index >= len(script) or script[index] in "\\\n":
        return -1
    delimiter = script[index]
    index = _delimited_end(script, index + 1, delimiter, regex=True)
    index = _delimited_end(script, index, delimiter, regex=False)
    while 0 <= index < len(script) and script[index] in _SED_S_FLAGS:
        index += 1
    if 0 <= index < len(script) and script[index] not in " \t\n;}":
        return -1
    return index


def _delimited_end(script: str, index: int, delimiter: str, *, regex: bool) -> int:
    """Index after the closing `delimiter` of a regex or replacement, or -1 if unterminated."""
    while 0 <= index < len(script):
        char = script[index]
        if char == "\\":
            index += 2
        elif char == delimiter:
            return index + 1
        elif regex and char == "[":
            index = _bracket_end(script, index)
        else:
            index += 1
    return -1


def _bracket_end(script: str, index: int) -> int:
    """Index after a bracket expression such as `[^]a[:digit:]]`, or -1 if unterminated."""
    index += 1
    if index < len(script) and script[index] == "^":
        index += 1
    if index < len(script) and script[index] == "]":
        index += 1
    while index < len(script):
        if script[index] == "]":
            return index + 1
        if script[index] == "[" and script[index + 1 : index + 2] in (":", ".", "="):
            close = script.find(script[index + 1] + "]", index + 2)
            if close < 0:
                return -1
            index = close + 2
        else:
            index += 1
    return -1


# git: a read-only subcommand, no global option that changes configuration or the repository.
_GIT_GLOBAL_FLAGS = frozenset(
    {"--no-pager", "-P", "--no-optional-locks", "--literal-pathspecs", "--no-replace-objects"}
    | {"--glob-pathspecs", "--noglob-pathspecs", "--icase-pathspecs"}
)
_GIT_READERS = frozenset(
    {
        "status", "diff", "log", "show", "blame", "annotate", "rev-parse", "ls-files", "ls-tree",
        "cat-file", "describe", "merge-base", "rev-list", "show-ref", "for-each-ref", "name-rev",
        "whatchanged", "shortlog", "grep", "count-objects", "check-ignore", "check-attr",
        "diff-tree", "diff-files", "diff-index", "version", "cherry", "show-branch", "range-diff",
    }
)  # fmt: skip
# Options of reading subcommands that write a file or run a program.
_GIT_FORBIDDEN = frozenset({"--output", "--ext-diff", "--open-files-in-pager", "--exec"})


def _check_git(args: Sequence[str]) -> bool:
    index = 0
    while index < len(args) and args[index].startswith("-"):
        if args[index] == "--version" and len(args) == 1:
            return True
        if args[index] not in _GIT_GLOBAL_FLAGS:
            return False
        index += 1
    if index >= len(args):
        return False
    subcommand, rest = args[index], args[index + 1 :]
    if any(long_option_matches(arg, _GIT_FORBIDDEN) for arg in rest):
        return False
    if subcommand in _GIT_READERS:
        return subcommand != "grep" or not any(short_cluster_has(arg, "O") for arg in rest)
    check = _GIT_LISTERS.get(subcommand)
    return check is not None and check(rest)


def _git_listing(options: frozenset[str], short: str, takes_value: frozenset[str]) -> ArgCheck:
    """`git branch`/`git tag` in their listing forms: known options; names only with --list."""

    def check(args: Sequence[str]) -> bool:
        listing = False
        names = False
        skip = False
        for arg in args:
            name = arg.split("=", 1)[0]
            if skip:
                skip = False
            elif arg in ("-l", "--list"):
                listing = True
            elif name in options:
                skip = name in takes_value and "=" not in arg
            elif arg.startswith("-") and not arg.startswith("--") and set(arg[1:]) <= set(short):
                listing = listing or "l" in arg
            elif arg.startswith("-"):
                return False
            else:
                names = True
        return listing or not names

    return check


_GIT_LIST_FILTERS = frozenset(
    {"--contains", "--no-contains", "--merged", "--no-merged", "--points-at", "--sort", "--format"}
)
_GIT_LIST_STYLE = frozenset(
    {"--color", "--no-color", "--column", "--no-column", "--ignore-case", "--omit-empty"}
)
_check_git_branch = _git_listing(
    _GIT_LIST_FILTERS
    | _GIT_LIST_STYLE
    | {"--all", "--remotes", "--verbose", "--show-current", "--abbrev", "--no-abbrev"},
    "arvil",
    _GIT_LIST_FILTERS,
)
_check_git_tag = _git_listing(
    _GIT_LIST_FILTERS | _GIT_LIST_STYLE, "il0123456789n", _GIT_LIST_FILTERS
)


def _check_git_remote(args: Sequence[str]) -> bool:
    if args[:1] == ["get-url"]:
        return all(arg in ("--push", "--all") or not arg.startswith("-") for arg in args[1:])
    return all(arg in ("-v", "--verbose") for arg in args)


def _check_git_stash(args: Sequence[str]) -> bool:
    return len(args) > 0 and args[0] in ("list", "show")


def _check_git_reflog(args: Sequence[str]) -> bool:
    return not args or args[0] == "show" or args[0].startswith("-")


_GIT_CONFIG_READS = frozenset(
    {"--get", "--get-all", "--get-regexp", "--get-urlmatch", "--list", "-l", "get", "list"}
)
_GIT_CONFIG_WRITES = frozenset(
    {"--add", "--unset", "--unset-all", "--replace-all", "--rename-section", "--remove-section"}
    | {"--edit", "-e", "set", "unset", "rename-section", "remove-section", "edit"}
)


def _check_git_config(args: Sequence[str]) -> bool:
    split = [arg.split("=", 1)[0] for arg in args]
    return bool(_GIT_CONFIG_READS.intersection(split)) and not _GIT_CONFIG_WRITES.intersection(
        split
    )


_GIT_LISTERS: dict[str, ArgCheck] = {
    "branch": _check_git_branch,
    "tag": _check_git_tag,
    "remote": _check_git_remote,
    "stash": _check_git_stash,
    "reflog": _check_git_reflog,
    "config": _check_git_config,
}


_CHECKS: dict[str, ArgCheck] = {
    "sort": _check_sort,
    "uniq": _check_uniq,
    "rg": _check_rg,
    "fd": _check_fd,
    "fdfind": _check_fd,
    "file": _check_file,
    "tree": _check_tree,
    "date": _check_date,
    "find": _check_find,
    "sed": _check_sed,
    "git": _check_git,
    "xargs": _check_xargs,
    "command": _check_command,
}
