"""Tests for sandbox.commands (shell parsing) and sandbox.safe_commands (the known-safe list)."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sandbox.commands import Construct, parse_command
from sandbox.safe_commands import is_known_safe, is_read_only_sed_script, long_option_matches


def argvs(source: str) -> list[tuple[str, ...]]:
    return [command.argv for command in parse_command(source).commands]


def constructs(source: str) -> set[Construct]:
    return {flag.construct for flag in parse_command(source).flags}


# --- splitting --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("git status", [("git", "status")]),
        ("git status && curl x | tee f", [("git", "status"), ("curl", "x"), ("tee", "f")]),
        ("a; b || c && d", [("a",), ("b",), ("c",), ("d",)]),
        ("ls |& cat", [("ls",), ("cat",)]),
        ("! grep -q x f", [("grep", "-q", "x", "f")]),
        ("ls\npwd", [("ls",), ("pwd",)]),
        ("ls # a comment; rm -rf /", [("ls",)]),
        ("# only a comment\nls", [("ls",)]),
        ("ls \\\n  -la", [("ls", "-la")]),
    ],
)
def test_splits_lists_and_pipelines(source: str, expected: list[tuple[str, ...]]) -> None:
    parsed = parse_command(source)
    assert [c.argv for c in parsed.commands] == expected
    assert parsed.plain


@pytest.mark.parametrize(
    ("source", "argv"),
    [
        ("""ls "a b" 'c d' e\\ f""", ("ls", "a b", "c d", "e f")),
        ('echo "a\\"b\\\\c\\$d\\e"', ("echo", 'a"b\\c$d\\e')),
        ("""echo a"b"'c'd""", ("echo", "abcd")),
        ("echo $'a\\nb\\x41\\'\\101'", ("echo", "a\nbA'A")),
        ('git log --format="%H %s"', ("git", "log", "--format=%H %s")),
        ('echo "x\ny"', ("echo", "x\ny")),
        ("echo \\*", ("echo", "*")),
        ("echo '$HOME'", ("echo", "$HOME")),
        ("echo $'a\\0b'c $'\\x00z'", ("echo", "ac", "")),
    ],
)
def test_resolves_quotes_and_escapes(source: str, argv: tuple[str, ...]) -> None:
    parsed = parse_command(source)
    assert [c.argv for c in parsed.commands] == [argv]
    assert parsed.plain
    assert parsed.commands[0].exact


@pytest.mark.parametrize(
    ("source", "pattern_words"),
    [
        ("ls *.py", ["*.py"]),
        ("ls src/*.[ch]", ["src/*.[ch]"]),
        ("ls a?b", ["a?b"]),
        ("ls a{b,c}d x{1..3}", ["a{b,c}d", "x{1..3}"]),
        ("ls '*.py' \\*.py \"a?\"", []),
        ("ls [ x", []),
    ],
)
def test_marks_glob_and_brace_words(source: str, pattern_words: list[str]) -> None:
    (command,) = parse_command(source).commands
    assert [w.text for w in command.words if w.pattern] == pattern_words


# --- flagged constructs -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "construct"),
    [
        ("git status > f", Construct.REDIRECTION),
        ("git status >> f", Construct.REDIRECTION),
        ("ls 2> err.txt", Construct.REDIRECTION),
        ("ls &> out", Construct.REDIRECTION),
        ("ls >& out", Construct.REDIRECTION),
        ("ls 2>1", Construct.REDIRECTION),
        ("> f ls", Construct.REDIRECTION),
        ("sort < in", Construct.REDIRECTION),
        ("cat <<EOF\nhi\nEOF", Construct.REDIRECTION),
        ("cat <<< hi", Construct.REDIRECTION),
        ('ls >"/dev/null"', Construct.REDIRECTION),
        ("echo $(whoami)", Construct.COMMAND_SUBSTITUTION),
        ('echo "$(whoami)"', Construct.COMMAND_SUBSTITUTION),
        ("echo `whoami`", Construct.COMMAND_SUBSTITUTION),
        ("diff <(ls a) <(ls b)", Construct.PROCESS_SUBSTITUTION),
        ("(cd x && rm -rf y)", Construct.SUBSHELL),
        ("echo $HOME", Construct.EXPANSION),
        ('echo "${A:-x}"', Construct.EXPANSION),
        ("echo $((1+2))", Construct.EXPANSION),
        ("$CMD -rf /", Construct.DYNAMIC_COMMAND_NAME),
        ("l* -la", Construct.DYNAMIC_COMMAND_NAME),
        ("GIT_PAGER=sh git log", Construct.ASSIGNMENT),
        ("PATH=.; ls", Construct.ASSIGNMENT),
        ("export PATH=.", Construct.ASSIGNMENT),
        ("unset PATH", Construct.ASSIGNMENT),
        ("command eval ls", Construct.EVAL),
        ("eval ls", Construct.EVAL),
        ("sh -c", Construct.NESTED_SHELL),
        ('bash -c "$SCRIPT"', Construct.NESTED_SHELL),
        ("if true; then ls; fi", Construct.COMPOUND),
        ("for f in *; do rm $f; done", Construct.COMPOUND),
        ("f() { ls; }", Construct.COMPOUND),
        ("{ ls; }", Construct.COMPOUND),
        ("[[ -f x ]]", Construct.COMPOUND),
        ("sleep 100 &", Construct.BACKGROUND),
        ("ls & rm x", Construct.BACKGROUND),
        ("ls )", Construct.SYNTAX_ERROR),
        ("echo 'unterminated", Construct.SYNTAX_ERROR),
        ('echo $"x"', Construct.UNSUPPORTED),
        ("\\ ls x", Construct.UNSUPPORTED),
        ("ls x \\ ", Construct.SYNTAX_ERROR),
    ],
)
def test_flags_constructs_rules_cannot_see(source: str, construct: Construct) -> None:
    parsed = parse_command(source)
    assert construct in {flag.construct for flag in parsed.flags}, parsed.flags
    assert not parsed.plain


@pytest.mark.parametrize(
    "source",
    [
        "ls 2>&1",
        "ls >&2",
        "ls 3>&1 1>&2 2>&3",
        "ls 2>&-",
        "ls >/dev/null",
        "ls 2>/dev/null",
        "ls &>/dev/null",
        "ls >>/dev/null",
        "ls </dev/null",
        "ls 2>&1 | head -n 3",
    ],
)
def test_descriptor_duplication_and_dev_null_are_not_flagged(source: str) -> None:
    assert parse_command(source).plain


def test_describe_flags_quotes_the_source() -> None:
    parsed = parse_command("git status > f")
    assert parsed.describe_flags() == "redirection `> f`"


# --- nested commands are still found -----------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "hidden"),
    [
        ("echo $(rm -rf x)", ("rm", "-rf", "x")),
        ('echo "$(rm -rf x)"', ("rm", "-rf", "x")),
        ("echo ${A:-$(rm -rf x)}", ("rm", "-rf", "x")),
        ("(rm -rf x)", ("rm", "-rf", "x")),
        ("if true; then rm -rf x; fi", ("rm", "-rf", "x")),
        ("for i in 1; do rm -rf x; done", ("rm", "-rf", "x")),
        ("ls > $(rm -rf x)", ("rm", "-rf", "x")),
        ("cat <<EOF\n$(rm -rf x)\nEOF", ("rm", "-rf", "x")),
        ("ls ) ; rm -rf x", ("rm", "-rf", "x")),
        ("f() { rm -rf x; }", ("rm", "-rf", "x")),
    ],
)
def test_commands_inside_constructs_are_collected(source: str, hidden: tuple[str, ...]) -> None:
    assert hidden in argvs(source)


def test_find_exec_commands_are_collected_beside_find() -> None:
    source = "find . -name '*.tmp' -exec rm -f {} \\; -execdir wc -l {} +"
    found = argvs(source)
    assert found[0][:2] == ("find", ".")
    assert found[1:] == [("rm", "-f", "{}"), ("wc", "-l", "{}")]


def test_bash_c_is_parsed_recursively() -> None:
    parsed = parse_command("bash -c 'ls -la && rm -rf build'")
    assert [c.argv for c in parsed.commands] == [("ls", "-la"), ("rm", "-rf", "build")]
    assert parsed.plain


@pytest.mark.parametrize(
    "source", ["sh -lc 'ls'", "/bin/bash -ec 'ls'", "zsh -o pipefail -c 'ls'", "bash -c -- ls"]
)
def test_shell_option_forms_are_unwrapped(source: str) -> None:
    assert argvs(source) == [("ls",)]


@pytest.mark.parametrize(
    "source",
    ["sudo bash -c 'rm -rf x'", "env A=1 sh -c 'rm -rf x'", "timeout 5 bash -lc 'rm -rf x'"],
)
def test_wrapped_shell_keeps_the_wrapper_and_exposes_the_script(source: str) -> None:
    found = argvs(source)
    assert ("rm", "-rf", "x") in found
    assert found[0][0] in ("sudo", "env", "timeout")


def test_shell_with_unknown_option_cluster_is_flagged() -> None:
    assert Construct.NESTED_SHELL in constructs("bash -Zc 'rm -rf x'")


def test_flags_inside_bash_c_propagate() -> None:
    assert Construct.REDIRECTION in constructs("bash -c 'git status > f'")


def test_shell_running_a_file_is_an_ordinary_command() -> None:
    parsed = parse_command("bash build.sh")
    assert [c.argv for c in parsed.commands] == [("bash", "build.sh")]
    assert parsed.plain


def test_deeply_nested_shells_are_flagged() -> None:
    source = 'bash -c "bash -c \'bash -c \\"bash -c ls\\"\'"'
    assert Construct.NESTED_SHELL in constructs(source)


@given(st.text(max_size=80))
def test_never_raises_on_arbitrary_input(source: str) -> None:
    parsed = parse_command(source)
    assert parsed.source == source


@pytest.mark.parametrize("source", ["echo \ud800 \udcff", "ls\x00x", "\ufeffls"])
def test_odd_text_does_not_raise(source: str) -> None:
    assert parse_command(source).source == source


def test_nesting_deeper_than_the_stack_is_flagged_not_raised() -> None:
    parsed = parse_command("echo " + "$(" * 1000 + "rm x" + ")" * 1000)
    assert Construct.UNSUPPORTED in {flag.construct for flag in parsed.flags}
    assert len(parsed.describe_flags()) < 2000


# --- the known-safe list -----------------------------------------------------------------------

SAFE = [
    "ls -la",
    "ls *.py",
    "cat README.md | head -n 20",
    "wc -l src/*.py",
    "grep -rn TODO . 2>/dev/null",
    "rg -n 'def main' --type py",
    "rg --pretty foo",
    "find . -name '*.py' -type f",
    "find . -maxdepth 2 -print",
    "git status",
    "git status --short",
    "git diff HEAD~1 -- src",
    "git log --oneline -n 5",
    "git --no-pager log -p",
    "git show HEAD:README.md",
    "git branch",
    "git branch -vv --all",
    "git branch --list 'feat/*'",
    "git branch --contains HEAD",
    "git tag",
    "git tag -l 'v*'",
    "git remote -v",
    "git stash list",
    "git config --get user.name",
    "git rev-parse --show-toplevel",
    "git --version",
    "sed -n '1,200p' file.py",
    "sed -n -e '/start/,/end/p' f",
    "sed 's/a/b/g' f",
    "sed -ne 's/[/]/x/p' f",
    "sed -n '$p;1~2p' f",
    "sed -E -n '/x/I{p;q}' f",
    "sort -u names.txt",
    "uniq -c",
    "date +%s",
    "tree -L 2",
    "cd src && ls",
    "echo done",
    "pwd; ls",
    "find . -name '*.py' | xargs wc -l",
    "git ls-files -z | xargs -0 -n 50 grep -l TODO",
    "ls | xargs",
    "command -v rg",
]

UNSAFE = [
    "rm -rf build",
    "curl https://example.com",
    "ls > listing.txt",
    "cat $(which python)",
    "find . -exec rm {} ;",
    "find . -name '*.pyc' -delete",
    "find . -fprint out",
    "find *",
    "rg --pre=sh foo",
    "rg --pre sh foo",
    "rg -z foo",
    "rg --search-zip foo",
    "rg foo *",
    "git commit -m x",
    "git push",
    "git -c core.pager=sh log",
    "git -C /elsewhere status",
    "git --git-dir=/x log",
    "git diff --output=patch",
    "git log --outp=patch",
    "git diff --ext-diff",
    "git grep -O foo",
    "git grep --open-files-in-pager foo",
    "git branch new-feature",
    "git branch -D main",
    "git branch -m old new",
    "git branch --set-upstream-to=origin/main",
    "git tag v1.0",
    "git tag -d v1.0",
    "git remote add x y",
    "git stash",
    "git stash pop",
    "git reflog expire --all",
    "git config user.name x",
    "git config --unset --get x",
    "git",
    "git log *.py",
    "sed -i 's/a/b/' f",
    "sed --in-place 's/a/b/' f",
    "sed -n 's/a/b/w out' f",
    "sed -n 's/[/]/x/w out' f",
    "sed -n '1e id' f",
    "sed 'w out' f",
    "sed -n '1r /etc/passwd' f",
    "sed -f script.sed f",
    "sed -n 1p *",
    "sed",
    "sort -o out in",
    "sort --output=out in",
    "sort --o=out in",
    "sort --compress-program=sh in",
    "uniq in out",
    "date -s 2020-01-01",
    "date 01010000",
    "tree -o out",
    "file -C -m magic",
    "fd -x rm",
    "env ls",
    "xargs rm",
    "xargs -I{} cat {}",
    "xargs sh -c 'cat'",
    "xargs -n 1 sed -i s/a/b/",
    "xargs git log",
    "xargs -p cat",
    "command rm x",
    "command -v",
    "bash -c 'ls'; python -c 1",
    "awk '{print}' f",
    "tee out",
    "ls &",
    "FOO=1 ls",
    "./ls",
    "",
]


@pytest.mark.parametrize("source", SAFE)
def test_known_safe(source: str) -> None:
    assert is_known_safe(parse_command(source)), source


@pytest.mark.parametrize("source", UNSAFE)
def test_not_known_safe(source: str) -> None:
    assert not is_known_safe(parse_command(source)), source


@pytest.mark.parametrize(
    ("script", "read_only"),
    [
        ("p", True),
        ("1,5p", True),
        ("/a/,/b/{p;n}", True),
        ("\\%x%p", True),
        ("s/a/b/gI;p", True),
        ("y/abc/xyz/", True),
        ("s/[[:digit:]/]/x/2", True),
        ("# comment\np", True),
        (r":a;N;$!ba;s/\n/ /g", True),
        ("/x/b end;p;:end", True),
        ("ba;w f", False),
        (":a w f", False),
        (":;p", False),
        ("s/a/b/w f", False),
        ("s/a/b/e", False),
        ("s/a/b/ge", False),
        ("1w f", False),
        ("W f", False),
        ("e id", False),
        ("r f", False),
        ("s/a/b", False),
        ("s/[a/b/", False),
        ("1,", False),
        ("a text", False),
    ],
)
def test_sed_script_scanner(script: str, read_only: bool) -> None:
    assert is_read_only_sed_script(script) is read_only


def _gnu_sed() -> str | None:
    sed = shutil.which("sed")
    if sed is None:
        return None
    version = subprocess.run([sed, "--version"], capture_output=True, text=True, check=False)
    return sed if "GNU sed" in version.stdout else None


SED = _gnu_sed()
_SED_PIECES = st.sampled_from(
    [
        *("", "1", "$", "/x/", "1,2", "\\%x%", "/[/]/", "!", "p", "s/x/y/", "s/[/]/y/", "s/x/y/g"),
        *("s/x/y/w f", "s/x/y/e", "s|x|y|w f", "w f", "r f", "e id", "y/x/y/", ":a", "ba", "{"),
        *("}", "q", "s/[[:alpha:]/]/y/w f", "s/x/[/", "W f", "\\", ";", "\n", " ", "I", "w"),
    ]
)
SED_SCRIPTS = st.lists(_SED_PIECES, max_size=6).map("".join)


@pytest.mark.skipif(SED is None, reason="needs GNU sed, whose --sandbox mode is the oracle")
@settings(max_examples=150, deadline=None)
@given(st.one_of(st.text(alphabet="sywWeErRpq/;{}!$1,\\ \nx[]:bI", max_size=14), SED_SCRIPTS))
def test_sed_scanner_agrees_with_gnu_sed_sandbox(script: str) -> None:
    """Whatever the scanner accepts, GNU sed --sandbox (which rejects e, r, w) must accept too."""
    if not is_read_only_sed_script(script):
        return
    assert SED is not None
    run = subprocess.run(
        [SED, "--sandbox", "-n", "-e", script, "/dev/null"],
        capture_output=True,
        text=True,
        check=False,
        timeout=5,
    )
    assert "disabled in sandbox mode" not in run.stderr, script


@pytest.mark.parametrize(
    ("arg", "hit"),
    [("--output", True), ("--output=f", True), ("--out", True), ("--o", True), ("--pretty", False)],
)
def test_long_option_abbreviations(arg: str, hit: bool) -> None:
    assert long_option_matches(arg, frozenset({"--output", "--pre"})) is hit


# --- differential test against real bash --------------------------------------------------------

_PLAIN_CHARS = "abcXYZ019-_./=:,@%+é"  # no "~": tilde expansion is kept as written
_QUOTED_CHARS = _PLAIN_CHARS + "~ \t\r\n;|&<>(){}*?[]#!'\"\\$`"
_WORD_PART = st.one_of(
    st.text(alphabet=_PLAIN_CHARS, min_size=1, max_size=5),
    st.text(alphabet=_QUOTED_CHARS.replace("'", ""), max_size=5).map(lambda t: f"'{t}'"),
    st.text(alphabet=_QUOTED_CHARS, max_size=5).map(
        lambda t: '"' + t.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$") + '"'
    ),
    st.sampled_from(_QUOTED_CHARS).map(lambda c: "\\" + c),
    st.sampled_from(["$'\\n'", "$'\\t\\x41'", "$'\\''", "$'\\101b'", "$'a\\\\b'", '"\\a"']),
    st.sampled_from(["$'a\\0b'", "$'\\x00'", "$'\\7'"]),
)
_WORDS = st.lists(st.lists(_WORD_PART, min_size=1, max_size=3).map("".join), max_size=4)
BASH = shutil.which("bash")
_SHOW_ARGV = 'show() { for a in "$@"; do printf "%s\\0" "$a"; done; }; eval "$1"'


@pytest.mark.skipif(BASH is None, reason="needs bash as the oracle")
@settings(max_examples=100, deadline=None)
@given(_WORDS)
def test_argv_matches_what_bash_passes(words: list[str]) -> None:
    """For every line we call plain and exact, our argv is the argv bash really builds."""
    source = " ".join(["show", *words])
    parsed = parse_command(source)
    if not parsed.plain or len(parsed.commands) != 1 or not parsed.commands[0].exact:
        return
    assert BASH is not None
    run = subprocess.run(
        [BASH, "--norc", "-c", _SHOW_ARGV, "_", source],
        capture_output=True,
        check=False,
        timeout=5,
    )
    expected = run.stdout.decode().split("\0")[:-1]
    assert list(parsed.commands[0].argv[1:]) == expected, source
