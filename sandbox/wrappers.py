"""Commands that run another command, and how to find the command they finally run.

`sudo -u me timeout -s KILL 5 rm f` runs `rm f`, and forbid rules must see that. So each known
wrapper's own options are read the way the wrapper reads them: which take a value (`-u me`,
`-sKILL`, `--signal=KILL`), how many operands come before the command (timeout's duration,
chroot's new root, flock's lock file). Some wrappers hand a string to a shell instead (`su -c`,
`flock -c`, `script -c`, `sg`, and `watch` unless `-x`): `unwrap` returns that string so the
parser checks it as a script. Some start a shell that reads its commands from stdin when given
no command (`su`, `chroot DIR`, `unshare`, `script`, `sudo -s`): `unwrap` says so, because no
rule can see what such a shell will run.

The tables follow the GNU, util-linux, procps and sudo manuals. A wrapper option missing from
them would make us start the command one word early or late; `command_starts` lists every word
that could start the command, so forbid rules can check them all.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Unwrapped:
    """What a chain of wrappers finally runs.

    `argv` is the command (empty if there is none, or the last wrapper runs `script`);
    `stdin_shell` is True when a wrapper starts a shell that reads commands from stdin;
    `hidden` is True when an argument decides what runs and cannot be read here (`env -S`
    with escapes or variables, `xargs` building the command from its input).
    """

    argv: tuple[str, ...]
    script: str | None = None
    stdin_shell: bool = False
    hidden: bool = False


@dataclass(frozen=True, slots=True)
class _Wrapper:
    short_values: str = ""  # short options that take a value: `-u me`, `-ume`, `-qc CMD`
    long_values: frozenset[str] = field(default_factory=lambda: frozenset[str]())
    operands: int = 0  # words between the options and the command
    script: str = ""  # short options whose value is a shell script (`su -c`)
    shell_when_bare: bool = False  # no command: starts a shell that reads stdin


def _w(
    short_values: str = "",
    long_values: str = "",
    operands: int = 0,
    script: str = "",
    shell_when_bare: bool = False,
) -> _Wrapper:
    return _Wrapper(short_values, frozenset(long_values.split()), operands, script, shell_when_bare)


_SU = _w("cgGsw", "--command --session-command --group --supp-group --shell", script="c")
_WRAPPERS: dict[str, _Wrapper] = {
    "sudo": _w(
        "aCcDgpRrTtUu",
        "--user --group --chdir --prompt --role --type --close-from --host --other-user "
        "--command-timeout --chroot --login-class --auth-type",
    ),
    "doas": _w("aCu"),
    "env": _w("uCS", "--unset --chdir --split-string"),
    "nice": _w("n", "--adjustment"),
    "ionice": _w("cnpPu", "--class --classdata --pid --pgid --uid"),
    "timeout": _w("sk", "--signal --kill-after", operands=1),
    "stdbuf": _w("ioe", "--input --output --error"),
    "xargs": _w(
        "adEILnPs",
        "--arg-file --delimiter --eof --max-args --max-procs --max-chars --process-slot-var",
    ),
    "nohup": _w(),
    "time": _w("fo", "--format --output"),
    "command": _w(),
    "builtin": _w(),
    "exec": _w("a"),
    "setsid": _w(),
    "chrt": _w("TPD", "--sched-runtime --sched-period --sched-deadline", operands=1),
    "taskset": _w(operands=1),
    "coproc": _w(),
    "busybox": _w(),
    "flock": _w("wE", "--timeout --wait --conflict-exit-code", operands=1),
    "strace": _w(
        "abeEIoOpPsSuUX",
        "--output --trace --signal --status --expr --user --env --attach --string-limit "
        "--columns --trace-path --detach-on",
    ),
    "unshare": _w(
        "RwSG",
        "--root --wd --setuid --setgid --propagation --setgroups --map-user --map-group "
        "--map-users --map-groups --monotonic --boottime",
        shell_when_bare=True,
    ),
    "nsenter": _w("tSG", "--target --setuid --setgid", shell_when_bare=True),
    "chroot": _w("", "--userspec --groups", operands=1, shell_when_bare=True),
    "script": _w(
        "cEIOBTm",
        "--command --echo --log-in --log-out --log-io --log-timing --logging-format",
        operands=1,
        script="c",
        shell_when_bare=True,
    ),
    "watch": _w("nq", "--interval --equexit"),
    "su": _SU,
    "runuser": _SU,
    "sg": _w(operands=1, shell_when_bare=True),
    "pkexec": _w("", "--user"),
    "fakeroot": _w("lsib", "--lib --faked"),
    "prlimit": _w("p", "--pid"),
}
WRAPPERS = frozenset(_WRAPPERS)
SHELLS = frozenset({"bash", "sh", "zsh", "dash", "ksh", "mksh", "ash", "busybox-sh"})
_SCRIPT_LONG = frozenset({"--command", "--session-command"})
_ENV_PLAIN = re.compile(r"[^\\$#]*")  # an `env -S` string without escapes, variables or comments


def basename(name: str) -> str:
    """The program name without its directory: `/usr/bin/git` -> `git`."""
    return name.rsplit("/", 1)[-1]


def unwrap(argv: Sequence[str]) -> Unwrapped:
    """Follow a chain of wrappers (`sudo -u x env A=1 timeout 5 rm`) to what it finally runs."""
    rest = tuple(argv)
    while rest and (name := basename(rest[0])) in _WRAPPERS:
        step, _ = _unwrap_one(name, rest)
        if step.script is not None or step.stdin_shell or step.hidden:
            return step
        if name == "xargs" and step.argv and not unwrap(step.argv).argv:
            return Unwrapped((), hidden=True)  # `xargs env`: the command comes from stdin
        rest = step.argv
    return Unwrapped(rest)


def strip_wrappers(argv: Sequence[str]) -> tuple[str, ...]:
    """The command a chain of wrappers finally runs (empty if it runs a script or a shell)."""
    return unwrap(argv).argv


def command_starts(argv: Sequence[str]) -> list[tuple[str, ...]]:
    """Other commands a wrapper chain could run, if an option we read as a flag takes a value.

    `strace --new-option VALUE rm x`: our tables would start the command at VALUE, so `rm x`
    (and what it unwraps to) is returned too, and forbid rules are checked against it.
    """
    starts: list[tuple[str, ...]] = []
    rest = tuple(argv)
    while rest and (name := basename(rest[0])) in _WRAPPERS:
        step, after_flag = _unwrap_one(name, rest)
        if after_flag and len(step.argv) > 1:
            starts += [step.argv[1:], strip_wrappers(step.argv[1:])]
        rest = step.argv
    return [start for start in starts if start]


def _unwrap_one(name: str, argv: tuple[str, ...]) -> tuple[Unwrapped, bool]:
    """One wrapper's options read off; True if the word before the command was a flag."""
    spec = _WRAPPERS[name]
    script: str | None = None
    shell_flag = False  # sudo -s / -i, doas -s: run the command through a shell, or start one
    exec_direct = False  # watch -x
    replace: str | None = None  # xargs -I R
    operands = spec.operands
    after_flag = False  # the last word read was an option we take to have no value
    index = 1
    while index < len(argv):
        arg = argv[index]
        if arg == "--":
            after_flag = False
            index += 1
            break
        if arg == "-" and name in ("env", "su", "runuser", "sg"):
            after_flag = False
            index += 1
        elif arg.startswith("--"):
            option, has_value, value = arg.partition("=")
            if option in spec.long_values and not has_value and index + 1 < len(argv):
                value = argv[index + 1]
                index += 1
            after_flag = not has_value and option not in spec.long_values
            if option in _SCRIPT_LONG:
                script = value
            elif name == "env" and option == "--split-string":
                return _env_split(value, argv[index + 1 :]), False
            elif option == "--replace":
                replace = value or "{}"
            exec_direct = exec_direct or option == "--exec"
            shell_flag = shell_flag or (name == "sudo" and option in ("--shell", "--login"))
            index += 1
        elif arg.startswith("-") and len(arg) > 1:  # `nice -5` is a cluster of no-value "flags"
            letters, value = split_short_cluster(arg, spec.short_values)
            after_flag = value is None
            if value is not None and value == "" and index + 1 < len(argv):
                value = argv[index + 1]
                index += 1
            last = letters[-1:]
            if value is not None and last in spec.script:
                script = value
            elif value is not None and name == "env" and last == "S":
                return _env_split(value, argv[index + 1 :]), False
            elif value is not None and name == "xargs" and last == "I":
                replace = value
            if name == "xargs" and "i" in letters:
                replace = arg.split("i", 1)[1] or "{}"
            exec_direct = exec_direct or (name == "watch" and "x" in letters)
            shell_flag = shell_flag or (name in ("sudo", "doas") and bool(set(letters) & set("si")))
            index += 1
        elif name == "env" and "=" in arg:
            after_flag = False
            index += 1
        elif operands:
            after_flag = False
            operands -= 1
            index += 1
            if name == "flock" and argv[index : index + 1] in (("-c",), ("--command",)):
                script = argv[index + 1] if index + 1 < len(argv) else ""
                index = len(argv)
        elif script is None and name in ("su", "runuser") and argv[index + 1 :][:1] == ("-c",):
            index += 1  # `su user -c CMD`: the user, then su's own -c
        else:
            break
    rest = argv[index:]
    return _wrapped_run(name, rest, script, shell_flag, exec_direct, replace), after_flag


def _wrapped_run(
    name: str,
    rest: tuple[str, ...],
    script: str | None,
    shell_flag: bool,
    exec_direct: bool,
    replace: str | None,
) -> Unwrapped:
    """What a wrapper runs, once its options are read: `rest` is what follows them."""
    if name == "sg" and rest:
        return Unwrapped((), script=" ".join(rest[1:] if rest[0] == "-c" else rest))
    if name == "watch" and rest and not exec_direct:
        return Unwrapped((), script=" ".join(rest))  # watch runs `sh -c "<args joined>"`
    if script is not None:
        return Unwrapped((), script=script)
    bare_shell = _WRAPPERS[name].shell_when_bare or shell_flag
    if name in ("su", "runuser") or (not rest and bare_shell):
        return Unwrapped((), stdin_shell=True)  # su without -c: the user's shell reads stdin
    if replace and rest and _runs_replaced(rest, replace):
        return Unwrapped((), hidden=True)
    return Unwrapped(rest)


def _runs_replaced(command: tuple[str, ...], replace: str) -> bool:
    """True when `xargs -I R` puts its input where it picks the program or a shell's script."""
    inner = unwrap(command)
    head = inner.argv[0] if inner.argv else ""
    return (
        replace in command[0]
        or replace in head
        or basename(head) in SHELLS
        or (inner.script is not None and replace in inner.script)
    )


def split_short_cluster(arg: str, with_value: str) -> tuple[str, str | None]:
    """The letters of `-abc` up to the first that takes a value, and that value ("" = next word)."""
    for position, letter in enumerate(arg[1:], start=1):
        if letter in with_value:
            return arg[1 : position + 1], arg[position + 1 :]
    return arg[1:], None


def _env_split(text: str, tail: Sequence[str]) -> Unwrapped:
    """`env -S STRING`: STRING is split into words; escapes and `${VAR}` we do not model."""
    if not _ENV_PLAIN.fullmatch(text):
        return Unwrapped((), hidden=True)
    try:
        words = shlex.split(text)
    except ValueError:
        return Unwrapped((), hidden=True)
    return unwrap(("env", *words, *tail))
