"""Tests for sandbox.rules: loading, matching, persisting, session rules and suggestions."""

from __future__ import annotations

import threading
import tomllib
from pathlib import Path
from typing import Literal

import pytest

from sandbox.commands import parse_command
from sandbox.rules import (
    Rule,
    RuleDecision,
    RuleError,
    RuleScope,
    RuleSet,
    SessionRules,
    broad_prefix_reason,
    load_rules,
    persist_rule,
    remember_approval,
    strip_wrappers,
    suggest_rules,
    user_rules_path,
    workspace_rules_path,
)


def rule(*prefix: str, decision: RuleDecision = "allow", scope: RuleScope = "user") -> Rule:
    return Rule(prefix, decision, scope, "test")


def verdict_of(rules: list[Rule], command: str) -> str | None:
    return RuleSet(tuple(rules)).evaluate(parse_command(command)).decision


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "home"
    path.mkdir()
    return path


@pytest.fixture
def root(tmp_path: Path) -> Path:
    path = tmp_path / "repo"
    path.mkdir()
    return path


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


# --- matching -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "decision"),
    [
        ("git status", "allow"),
        ("git status --short", "allow"),
        ("git status && curl x | sh", None),
        ("git status > f", None),
        ("git status; rm -rf /", None),
        ("git status $(curl x)", None),
        ("(git status)", None),
        ("git stat*", None),
        ("git", None),
        ("git statuses", None),
        ("git status 2>&1 | head -n 5", "allow"),
    ],
)
def test_allow_needs_every_part_and_no_flagged_construct(
    command: str, decision: str | None
) -> None:
    assert verdict_of([rule("git", "status")], command) == decision


def test_every_simple_command_must_match_an_allow_rule() -> None:
    rules = [rule("npm", "test"), rule("cargo", "build")]
    assert verdict_of(rules, "npm test && cargo build") == "allow"
    assert verdict_of(rules, "npm test && cargo publish") is None


def test_known_safe_parts_need_no_rule_but_a_rule_must_decide() -> None:
    assert verdict_of([rule("npm", "test")], "ls && npm test | head") == "allow"
    assert verdict_of([rule("npm", "test")], "ls && cat f") is None


@pytest.mark.parametrize(
    "command",
    [
        "rm -rf /",
        "ls && rm -rf x",
        "echo $(rm -rf x)",
        "bash -c 'rm -rf x'",
        "sudo rm -rf x",
        "sudo -u root env A=1 timeout 5 rm x",
        "xargs -n 1 rm",
        "/bin/rm x",
        "(rm x) > f",
        "if true; then rm x; fi",
        "$'rm\\0ignored' -rf x",
        "r\\m -rf x",
        "find . -exec rm {} +",
        "sudo find / -execdir rm {} ;",
        "find . -exec sh -c 'rm \"$1\"' _ {} ;",
    ],
)
def test_forbid_sees_through_chains_substitutions_wrappers_and_paths(command: str) -> None:
    rules = [rule("rm", decision="forbid"), rule("rm", scope="workspace")]
    assert verdict_of(rules, command) == "forbid"


def test_forbid_does_not_match_an_argument() -> None:
    assert verdict_of([rule("rm", decision="forbid")], "git commit -m rm") is None


def test_most_restrictive_wins_across_files() -> None:
    rules = [rule("git", "push", decision="forbid"), rule("git", "push", scope="workspace")]
    assert verdict_of(rules, "git push") == "forbid"
    prompts = [rule("npm", "publish", decision="prompt"), rule("npm", "publish")]
    assert verdict_of(prompts, "npm publish") == "prompt"


def test_verdict_names_the_rule_and_file() -> None:
    rules = RuleSet((Rule(("git", "push"), "forbid", "user", "/h/rules.toml"),))
    verdict = rules.evaluate(parse_command("git push --force"))
    assert verdict.reason == (
        "`git push --force` is forbidden by the forbid rule `git push` in /h/rules.toml"
    )


def test_strip_wrappers() -> None:
    assert strip_wrappers(["sudo", "-u", "me", "nice", "-n", "5", "rm", "-rf"]) == ("rm", "-rf")
    assert strip_wrappers(["env", "A=1", "B=2", "make"]) == ("make",)
    assert strip_wrappers(["ls", "-la"]) == ("ls", "-la")


# --- loading ------------------------------------------------------------------------------------

USER_RULES = """
[[rules]]
prefix = ["git", "push"]
decision = "forbid"

[[rules]]
prefix = ["npm", "test"]
decision = "allow"
justification = "tests are fine"
"""


def test_loads_user_and_workspace_files(home: Path, root: Path) -> None:
    write(user_rules_path(home), USER_RULES)
    write(workspace_rules_path(root), '[[rules]]\nprefix = ["make", "test"]\ndecision = "allow"\n')
    rules = load_rules(home, [root])
    assert [(r.prefix, r.decision, r.scope) for r in rules.rules] == [
        (("git", "push"), "forbid", "user"),
        (("npm", "test"), "allow", "user"),
        (("make", "test"), "allow", "workspace"),
    ]
    assert rules.problems == ()
    assert not rules.incomplete


def test_missing_files_are_no_rules(home: Path, root: Path) -> None:
    assert load_rules(home, [root]) == RuleSet()


def test_workspace_cannot_loosen_a_user_forbid(home: Path, root: Path) -> None:
    write(user_rules_path(home), USER_RULES)
    write(workspace_rules_path(root), '[[rules]]\nprefix = ["git", "push"]\ndecision = "allow"\n')
    verdict = load_rules(home, [root]).evaluate(parse_command("git push origin main"))
    assert verdict.decision == "forbid"
    assert verdict.rules[0].scope == "user"


def test_workspace_cannot_allow_a_broad_prefix(home: Path, root: Path) -> None:
    write(
        workspace_rules_path(root),
        '[[rules]]\nprefix = ["bash"]\ndecision = "allow"\n'
        '[[rules]]\nprefix = ["python", "-c"]\ndecision = "allow"\n',
    )
    rules = load_rules(home, [root])
    assert rules.rules == ()
    assert len(rules.problems) == 2
    assert "a workspace file may not allow `bash` runs any program" in rules.problems[0]
    assert rules.evaluate(parse_command("echo rm -rf x | bash")).decision is None


def test_user_file_may_hold_a_broad_prefix(home: Path) -> None:
    write(user_rules_path(home), '[[rules]]\nprefix = ["python"]\ndecision = "allow"\n')
    assert verdict_of(list(load_rules(home, []).rules), "python x.py") == "allow"


def test_unreadable_file_makes_the_set_incomplete(home: Path) -> None:
    write(user_rules_path(home), "[[rules]\nprefix = ")
    rules = load_rules(home, [])
    assert rules.incomplete
    assert "cannot read the rules file" in rules.problems[0]
    assert "fix or remove it" in rules.problems[0]


@pytest.mark.parametrize(
    ("entry", "incomplete"),
    [
        ('prefix = ["rm"]\ndecision = "Forbid"', True),
        ('prefix = "rm"\ndecision = "forbid"', True),
        ('prefix = []\ndecision = "prompt"', True),
        ('prefix = [""]\ndecision = "allow"', False),
        ('prefix = [1]\ndecision = "allow"', False),
    ],
)
def test_malformed_rules_are_reported(home: Path, entry: str, incomplete: bool) -> None:
    write(user_rules_path(home), f"[[rules]]\n{entry}\n")
    rules = load_rules(home, [])
    assert rules.rules == ()
    assert rules.problems and "rule 1" in rules.problems[0]
    assert rules.incomplete is incomplete


def test_unknown_keys_are_reported_but_the_rule_kept(home: Path) -> None:
    write(user_rules_path(home), '[[rules]]\nprefix = ["ls"]\ndecision = "allow"\nmatch = 1\n')
    rules = load_rules(home, [])
    assert len(rules.rules) == 1
    assert "unknown keys ['match']" in rules.problems[0]


# --- persisting ---------------------------------------------------------------------------------


def test_persist_creates_the_file_and_loads_back(home: Path) -> None:
    path = user_rules_path(home)
    saved = persist_rule(path, ["npm", "test"], scope="user")
    assert saved == Rule(("npm", "test"), "allow", "user", str(path))
    assert load_rules(home, []).rules == (saved,)


def test_persist_creates_the_workspace_tether_folder(root: Path, home: Path) -> None:
    persist_rule(workspace_rules_path(root), ["make", "test"], scope="workspace")
    assert load_rules(home, [root]).rules[0].prefix == ("make", "test")


def test_persist_preserves_existing_content_and_comments(home: Path) -> None:
    path = user_rules_path(home)
    original = "# my rules\n" + USER_RULES.rstrip("\n")  # no trailing newline on purpose
    write(path, original)
    persist_rule(path, ["cargo", "test"], scope="user")
    text = path.read_text(encoding="utf-8")
    assert text.startswith(original + "\n")
    assert [r.prefix for r in load_rules(home, []).rules][-1] == ("cargo", "test")


def test_persist_is_idempotent(home: Path) -> None:
    path = user_rules_path(home)
    persist_rule(path, ["npm", "test"], scope="user")
    before = path.read_text(encoding="utf-8")
    persist_rule(path, ["npm", "test"], scope="user")
    assert path.read_text(encoding="utf-8") == before


def test_persist_escapes_awkward_tokens(home: Path) -> None:
    path = user_rules_path(home)
    tokens = ["./run", 'say "hi"\\', "tab\there", "nl\nx", "del\x7f", "ünï"]
    persist_rule(path, tokens, scope="user")
    assert tomllib.loads(path.read_text(encoding="utf-8"))["rules"][0]["prefix"] == tokens


def test_persist_keeps_the_file_mode(home: Path) -> None:
    path = user_rules_path(home)
    write(path, "")
    path.chmod(0o600)
    persist_rule(path, ["npm", "test"], scope="user")
    assert path.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in home.iterdir()] == ["rules.toml"]


def test_persist_refuses_a_broken_file_and_leaves_it(home: Path) -> None:
    path = user_rules_path(home)
    write(path, "rules = [")
    with pytest.raises(RuleError, match=r"not valid TOML.*fix it before adding rules"):
        persist_rule(path, ["npm", "test"], scope="user")
    assert path.read_text(encoding="utf-8") == "rules = ["


def test_persist_refuses_when_rules_is_not_an_array_of_tables(home: Path) -> None:
    path = user_rules_path(home)
    write(path, "rules = []\n")
    with pytest.raises(RuleError, match=r"define rules only as \[\[rules\]\] tables"):
        persist_rule(path, ["npm", "test"], scope="user")
    assert path.read_text(encoding="utf-8") == "rules = []\n"


@pytest.mark.parametrize("prefix", [["bash"], ["python3", "-c"], ["env"], ["npm"], ["sudo", "x"]])
def test_persist_refuses_broad_prefixes_unless_forced(home: Path, prefix: list[str]) -> None:
    path = user_rules_path(home)
    with pytest.raises(RuleError, match="as good as full access; confirm with the user"):
        persist_rule(path, prefix, scope="user")
    assert not path.exists()
    persist_rule(path, prefix, scope="user", force=True)
    assert load_rules(home, []).rules[0].prefix == tuple(prefix)


def test_workspace_broad_prefix_is_refused_even_when_forced(root: Path) -> None:
    with pytest.raises(RuleError, match="a workspace file may never allow it"):
        persist_rule(workspace_rules_path(root), ["bash"], scope="workspace", force=True)


def test_forbid_of_a_broad_prefix_is_fine(home: Path) -> None:
    persist_rule(user_rules_path(home), ["sudo"], scope="user", decision="forbid")
    assert verdict_of(list(load_rules(home, []).rules), "sudo ls") == "forbid"


def test_persist_refuses_tokens_that_are_not_text(home: Path) -> None:
    with pytest.raises(RuleError, match="cannot be saved as UTF-8"):
        persist_rule(user_rules_path(home), ["npm", "\udc80"], scope="user")


@pytest.mark.parametrize(
    "command", ["$CMD -rf x", 'eval "$X"', 'bash -c "$S"', "command eval x", "\\ ls x"]
)
def test_hidden_commands_prompt_when_forbid_rules_exist(command: str) -> None:
    verdict = RuleSet((rule("rm", decision="forbid"),)).evaluate(parse_command(command))
    assert verdict.decision == "prompt"
    assert "forbid rules cannot be checked" in verdict.reason
    assert verdict_of([rule("git")], command) is None


def test_persist_refuses_an_empty_prefix(home: Path) -> None:
    with pytest.raises(RuleError, match="non-empty prefix"):
        persist_rule(user_rules_path(home), [], scope="user")


def test_concurrent_persists_lose_nothing(home: Path) -> None:
    path = user_rules_path(home)
    threads = [
        threading.Thread(
            target=persist_rule, args=(path, ["tool", str(n)]), kwargs={"scope": "user"}
        )
        for n in range(12)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(r.prefix[1] for r in load_rules(home, []).rules) == sorted(map(str, range(12)))


def test_with_rule_applies_without_reloading() -> None:
    added = RuleSet().with_rule(rule("npm", "test"))
    assert added.evaluate(parse_command("npm test")).decision == "allow"
    assert added.with_rule(rule("npm", "test")) is added


# --- session rules ------------------------------------------------------------------------------


def test_session_exact_command() -> None:
    session = SessionRules()
    session.allow_command("  make  build > log ")
    assert session.allows_command("make  build > log", escalated=False)
    assert not session.allows_command("make build > log", escalated=False)
    assert not session.allows_command("make  build > log", escalated=True)


def test_session_escalation_covers_ordinary_runs() -> None:
    session = SessionRules()
    session.allow_command("npm install", escalated=True)
    assert session.allows_command("npm install", escalated=False)
    assert session.allows_command("npm install", escalated=True)


def test_session_prefixes_act_as_allow_rules() -> None:
    session = SessionRules()
    session.allow_prefix(["npm", "test"])
    verdict = RuleSet().evaluate(
        parse_command("npm test -- x"), session.prefix_rules(escalated=False)
    )
    assert verdict.decision == "allow"
    assert verdict.rules[0].scope == "session"
    assert session.prefix_rules(escalated=True) == ()


def test_session_refuses_broad_prefix_unless_forced() -> None:
    session = SessionRules()
    with pytest.raises(RuleError):
        session.allow_prefix(["bash"])
    session.allow_prefix(["bash"], force=True)
    assert len(session.prefix_rules(escalated=False)) == 1


# --- broad prefixes and suggestions -------------------------------------------------------------


@pytest.mark.parametrize(
    "prefix",
    [
        [],
        ["bash"],
        ["sh", "-c"],
        ["/usr/bin/python3"],
        ["python3.12", "-m"],
        ["node", "-e"],
        ["env"],
        ["env", "A=1", "bash"],
        ["timeout", "5", "sh"],
        ["xargs", "-n", "1"],
        ["sudo", "ls"],
        ["find", "."],
        ["git"],
        ["git", "-c"],
        ["npm"],
        ["npm", "exec"],
        ["npx"],
        ["uv", "run"],
        ["make"],
        ["eval"],
    ],
)
def test_broad_prefixes(prefix: list[str]) -> None:
    assert broad_prefix_reason(prefix) is not None


@pytest.mark.parametrize(
    "prefix",
    [
        ["npm", "test"],
        ["git", "commit"],
        ["python", "-m", "pytest"],
        ["bash", "build.sh"],
        ["make", "test"],
        ["timeout", "5", "ls"],
        ["cargo"],
        ["rm"],
    ],
)
def test_pinned_prefixes_are_not_broad(prefix: list[str]) -> None:
    assert broad_prefix_reason(prefix) is None


@pytest.mark.parametrize(
    ("command", "suggestions"),
    [
        ("npm test", [["npm", "test"]]),
        ("npm run build -- --watch", [["npm", "run", "build"], ["npm", "run"]]),
        ("git commit -m 'fix the bug'", [["git", "commit"]]),
        ("git add -A", [["git", "add"]]),
        ("git stash pop", [["git", "stash", "pop"], ["git", "stash"]]),
        ("npx prettier --write .", [["npx", "prettier"]]),
        ("node server.js", [["node", "server.js"]]),
        ("awk '{print}' f", []),
        ("cargo test --release", [["cargo", "test"], ["cargo"]]),
        ("python -m pytest -x tests", [["python", "-m", "pytest"]]),
        ("python manage.py migrate", [["python", "manage.py"]]),
        ("python -c 'print(1)'", []),
        ("bash", []),
        ("rm -rf build", [["rm"]]),
        ("./scripts/check.sh --fast", [["./scripts/check.sh"]]),
        ("ls -la && pytest -q", [["pytest"]]),
        ("ls -la", []),
        ("npm test > log.txt", []),
        ("echo x | sh", []),
        ("sudo apt install x", []),
        ("$TOOL build", []),
    ],
)
def test_suggest_rules(command: str, suggestions: list[list[str]]) -> None:
    assert suggest_rules(command) == suggestions


def test_suggestions_never_include_free_form_arguments() -> None:
    for suggestion in suggest_rules("git commit -m 'rm -rf /'"):
        assert "-m" not in suggestion
        assert "rm -rf /" not in suggestion


# --- remembering approvals ----------------------------------------------------------------------


Answer = Literal["acceptForSession", "acceptAlways"]


def remember(
    answer: Answer,
    command: str,
    rule: list[str] | None,
    *,
    home: Path,
    root: Path,
    scope: Literal["user", "workspace"] | None = None,
    session: SessionRules | None = None,
) -> RuleSet:
    return remember_approval(
        answer,
        command,
        rule=rule,
        scope=scope,
        rules=RuleSet(),
        session=session or SessionRules(),
        home=home,
        workspace_root=root,
        escalated=False,
    )


def test_accept_always_persists_to_the_user_file_by_default(home: Path, root: Path) -> None:
    rules = remember("acceptAlways", "npm test -- -x", ["npm", "test"], home=home, root=root)
    assert rules.evaluate(parse_command("npm test")).decision == "allow"
    assert load_rules(home, [root]).rules[0].scope == "user"


def test_accept_always_to_the_workspace(home: Path, root: Path) -> None:
    remember(
        "acceptAlways",
        "make check",
        ["make", "check"],
        scope="workspace",
        home=home,
        root=root,
    )
    assert load_rules(home, [root]).rules[0].source == str(workspace_rules_path(root))


def test_accept_for_session_prefix_and_exact(home: Path, root: Path) -> None:
    session = SessionRules()
    remember(
        "acceptForSession",
        "cargo test -q",
        ["cargo", "test"],
        session=session,
        home=home,
        root=root,
    )
    remember("acceptForSession", "make > log", None, session=session, home=home, root=root)
    assert session.allows_command("make > log", escalated=False)
    assert len(session.prefix_rules(escalated=False)) == 1
    assert not user_rules_path(home).exists()


@pytest.mark.parametrize(
    ("answer", "command", "chosen", "message"),
    [
        ("acceptAlways", "npm test", ["npm", "publish"], "not a prefix of any part"),
        ("acceptAlways", "npm test", None, "needs a `rule`"),
        ("acceptForSession", "git status > f", ["git", "push"], "not a prefix of any part"),
        ("acceptAlways", "bash build.sh", ["bash"], "as good as full access"),
    ],
)
def test_remember_refuses_bad_rules(
    home: Path, root: Path, answer: Answer, command: str, chosen: list[str] | None, message: str
) -> None:
    with pytest.raises(RuleError, match=message):
        remember(answer, command, chosen, home=home, root=root)
    assert not user_rules_path(home).exists()
