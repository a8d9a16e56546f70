"""Ways around a `forbid rm` rule (issue 12, point 7) and the controls that show they are real.

In fullAccess the rules are the only barrier. Each route below must end as "prompt" (the line
hides what it runs) or "forbid" (a wrapper was seen through), never as "no decision" (which
fullAccess runs) nor as "allow". Each route is also run in real bash, where it does delete the
file: the attack works, so the test can fail.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from sandbox.commands import Construct, parse_command
from sandbox.rules import Rule, RuleSet

FORBID_RM = RuleSet((Rule(("rm",), "forbid", "user", "test"),))

# Lines that hide what they run: each asks under a forbid rule.
HIDDEN = [
    "echo 'rm -f x' | bash",
    "echo 'rm -f x' | sh",
    "printf 'rm -f x' | dash",
    "echo 'rm -f x' | /bin/bash -s",
    "echo 'rm -f x' | bash -",
    "echo 'import os; os.remove(\"x\")' | python3 -",
    "echo 'import os; os.remove(\"x\")' | python3",
    "bash <<< 'rm -f x'",
    "bash <<'EOF'\nrm -f x\nEOF",
    "cat <<'EOF' | sh\nrm -f x\nEOF",
    "echo 'rm -f x' > s; sh -s < s",
    "bash < <(echo 'rm -f x')",
    "bash <(echo 'rm -f x')",
    "source <(echo 'rm -f x')",
    ". <(echo 'rm -f x')",
    "source /dev/stdin <<< 'rm -f x'",
    "trap 'rm -f x' EXIT",
    "coproc { rm -f x; }; wait",
    "hash -p /bin/rm ls; ls -f x",
    "shopt -s expand_aliases\nalias ls='rm -f x'\nls",
    "env -S 'rm\\_-f\\_x'",
    "echo 'rm -f x' | su",
    "echo 'rm -f x' | sudo -s",
    "echo 'rm -f x' | chroot /",
    "echo 'rm -f x' | script -q /dev/null",
    "echo rm -f x | xargs env",
    "echo 'rm -f x' | xargs -0 -I{} sh -c {}",
]

# Wrappers seen through to the command they run: each is refused by the forbid rule.
WRAPPED = [
    "flock /tmp/tether-test.lock rm -f x",
    "flock -w 5 /tmp/tether-test.lock -c 'rm -f x'",
    "strace -f -o /dev/null rm -f x",
    "unshare -r rm -f x",
    "script -qc 'rm -f x' /dev/null",
    "watch -n1 rm -f x",
    "watch 'rm -f x'",
    "timeout -s KILL 5 rm -f x",
    "timeout --signal=KILL -k 1 5 rm -f x",
    "chroot / rm -f x",
    "su -c 'rm -f x' root",
    "su root -c 'rm -f x'",
    "nice -n 5 rm -f x",
    "nice -5 rm -f x",
    "nohup rm -f x",
    "setsid -w rm -f x",
    "stdbuf -oL rm -f x",
    "ionice -c3 rm -f x",
    "taskset 1 rm -f x",
    "echo x | xargs rm -f",
    "echo x | xargs -i rm -f {}",
    "sudo -u root rm -f x",
    "doas rm -f x",
    "env -i A=1 rm -f x",
    "env -S 'rm -f x'",
    "command rm -f x",
    "builtin exec rm -f x",
    "exec -a y rm -f x",
    "time -p rm -f x",
    "sudo timeout 5 nice env A=1 rm -f x",
    "coproc rm -f x",
    "strace --an-option-we-do-not-know VALUE rm -f x",
    "sudo -Z VALUE rm -f x",
]


@pytest.mark.parametrize("line", HIDDEN)
def test_hidden_commands_ask_under_a_forbid_rule(line: str) -> None:
    verdict = FORBID_RM.evaluate(parse_command(line))
    assert verdict.decision in ("prompt", "forbid"), verdict.reason
    if verdict.decision == "prompt":
        assert "hides what will run" in verdict.reason


@pytest.mark.parametrize("line", WRAPPED)
def test_wrappers_are_seen_through(line: str) -> None:
    verdict = FORBID_RM.evaluate(parse_command(line))
    assert verdict.decision == "forbid", verdict.reason


# Allow rules for every program on the lines above, broad ones included (a user may force them).
_ALLOW_ALL = RuleSet(
    tuple(
        Rule((name,), "allow", "user", "test")
        for name in (
            "echo", "printf", "cat", "bash", "/bin/bash", "sh", "dash", "python3", "source", ".",
            "trap", "coproc", "hash", "ls", "shopt", "alias", "env", "su", "sudo", "chroot",
            "script", "xargs", "wait",
        )
    )
)  # fmt: skip


@pytest.mark.parametrize("line", HIDDEN)
def test_no_allow_rule_covers_a_hidden_command(line: str) -> None:
    assert _ALLOW_ALL.evaluate(parse_command(line)).decision != "allow"


@pytest.mark.parametrize(
    ("line", "construct"),
    [
        ("echo 'rm -f x' | bash", Construct.SHELL_INPUT),
        ("bash <<< 'rm -f x'", Construct.SHELL_INPUT),
        ("sh -s", Construct.SHELL_INPUT),
        ("source <(echo x)", Construct.SHELL_INPUT),
        ("trap 'rm x' EXIT", Construct.DEFERRED),
        ("alias ls='rm x'", Construct.DEFERRED),
        ("hash -p /bin/rm ls", Construct.DEFERRED),
        ("coproc rm x", Construct.DEFERRED),
        ("echo rm | xargs -I% % x", Construct.DYNAMIC_COMMAND_NAME),
        ("cat <<é\nbody\né\nrm -f x\n", Construct.UNSUPPORTED),
    ],
)
def test_constructs_named(line: str, construct: Construct) -> None:
    assert construct in {flag.construct for flag in parse_command(line).flags}


@pytest.mark.parametrize(
    "line",
    [
        "echo rm | cat",
        "echo rm -f x | tee log",
        "cat data.json | python3 tool.py",
        "echo hi | python3 -c 'import sys; print(sys.stdin.read())'",
        "bash build.sh",
        "sh -c 'ls'",
        "trap -l",
        "trap -p",
        "alias",
        "hash -r",
        "timeout 5 ls",
        "git log --grep rm",
        "timeout 5 grep rm notes.txt",
        "nice git commit -m rm",
        "sudo -u root grep -r rm .",
        "python3 --version",
        "python3 -V",
        "bash --version",
        "node -v",
    ],
)
def test_controls_are_not_flagged(line: str) -> None:
    parsed = parse_command(line)
    assert FORBID_RM.evaluate(parsed).decision is None
    assert parsed.plain, parsed.describe_flags()


def test_plain_rm_is_forbidden() -> None:
    assert FORBID_RM.evaluate(parse_command("rm -f x")).decision == "forbid"


def test_heredoc_with_a_non_ascii_delimiter_ends_where_bash_ends_it() -> None:
    """The grammar compares here-doc delimiters byte by byte after truncating code points, so
    with the raw text it never ended `<<é` and hid the `rm` after it."""
    parsed = parse_command("cat <<é\nbody\né\nrm -f x\n")
    assert ("rm", "-f", "x") in [command.argv for command in parsed.commands]


# --- the same lines in real bash: each route does delete the file -------------------------------

BASH = shutil.which("bash")
_NEEDS = {"strace": "strace", "unshare": "unshare", "script": "script", "flock": "flock"}


def _runs_in_bash(line: str) -> bool:
    skipped = ("chroot", "VALUE", "| script")
    if BASH is None or line.startswith(("watch", "time ")) or any(s in line for s in skipped):
        # watch never exits, `time -p` is bash's keyword, chroot changes directory, the VALUE
        # lines stand for options the wrappers do not have yet, and script fed by a pipe
        # sometimes waits for a terminal that never comes
        return False
    if any(f"{tool} " in line and not shutil.which(tool) for tool in ("sudo", "doas")):
        return False
    if ("su " in line or line.startswith("echo 'rm -f x' | s")) and os.geteuid() != 0:
        return False
    tool = next((t for t in _NEEDS if line.startswith(t)), None)
    return tool is None or shutil.which(_NEEDS[tool]) is not None


@pytest.mark.parametrize("line", [line for line in HIDDEN + WRAPPED if _runs_in_bash(line)])
def test_route_really_deletes_in_bash(line: str, tmp_path: Path) -> None:
    """Control: bash runs the hidden or wrapped `rm`, so what the rules catch is real."""
    assert BASH is not None
    (tmp_path / "x").write_text("keep me")
    subprocess.run(
        [BASH, "--norc", "-c", line],
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=20,
        check=False,
    )
    if line.startswith("unshare") and (tmp_path / "x").exists():
        pytest.skip("user namespaces are not available here")
    assert not (tmp_path / "x").exists(), line
