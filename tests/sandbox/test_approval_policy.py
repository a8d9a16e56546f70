"""Table tests for sandbox.approval_policy: every mode x action cell of PROTOCOL.md §6."""

from __future__ import annotations

from pathlib import Path

import pytest

from protocol.base import Mode
from sandbox.approval_policy import (
    CommandDecision,
    FileAccessKind,
    decide_command,
    decide_file_access,
    decide_undo,
    decide_workdir,
    escalation_of,
    file_policy_kind,
    reader_sandbox,
)
from sandbox.rules import Rule, RuleSet, SessionRules, load_rules, persist_rule, user_rules_path

MODES: tuple[Mode, ...] = ("readOnly", "agent", "fullAccess")

RULES = RuleSet(
    (
        Rule(("npm", "test"), "allow", "user", "/home/rules.toml"),
        Rule(("make", "check"), "allow", "workspace", "/repo/.tether/rules.toml"),
        Rule(("rm", "-rf", "/"), "forbid", "user", "/home/rules.toml"),
        Rule(("git", "push"), "forbid", "workspace", "/repo/.tether/rules.toml"),
        Rule(("npm", "publish"), "prompt", "user", "/home/rules.toml"),
    )
)


def decide(
    command: str,
    mode: Mode,
    *,
    rules: RuleSet = RULES,
    session: SessionRules | None = None,
    sandbox: bool = True,
    escalate: bool = False,
) -> CommandDecision:
    return decide_command(
        command,
        mode,
        rules,
        session or SessionRules(),
        launcher="bwrap" if sandbox else "none",
        wants_escalation=escalate,
    )


# (row of the table, command, escalation?, {mode: (action, sandbox)}) with an OS sandbox present.
TABLE = [
    (
        "known-safe",
        "git status && rg -n TODO | head",
        False,
        {
            "readOnly": ("auto", "readOnly"),
            "agent": ("auto", "readOnly"),
            "fullAccess": ("auto", "none"),
        },
    ),
    (
        "other command",
        "pytest -q",
        False,
        {
            "readOnly": ("prompt", "workspaceWrite"),
            "agent": ("auto", "workspaceWrite"),
            "fullAccess": ("auto", "none"),
        },
    ),
    (
        "network (escalation)",
        "curl https://example.com",
        True,
        {
            "readOnly": ("prompt", "none"),
            "agent": ("prompt", "none"),
            "fullAccess": ("auto", "none"),
        },
    ),
    (
        "allow rule (user)",
        "npm test -- --watch=false",
        False,
        {
            "readOnly": ("auto", "workspaceWrite"),
            "agent": ("auto", "workspaceWrite"),
            "fullAccess": ("auto", "none"),
        },
    ),
    (
        "allow rule (workspace)",
        "make check",
        False,
        {
            "readOnly": ("auto", "workspaceWrite"),
            "agent": ("auto", "workspaceWrite"),
            "fullAccess": ("auto", "none"),
        },
    ),
    (
        "forbid rule (user)",
        "rm -rf /",
        False,
        {m: ("refuse", "none") for m in MODES},
    ),
    (
        "forbid rule (workspace)",
        "git push origin main",
        False,
        {m: ("refuse", "none") for m in MODES},
    ),
    (
        "forbid rule with escalation",
        "git push origin main",
        True,
        {m: ("refuse", "none") for m in MODES},
    ),
    (
        "prompt rule",
        "npm publish",
        False,
        {
            "readOnly": ("prompt", "workspaceWrite"),
            "agent": ("prompt", "workspaceWrite"),
            "fullAccess": ("prompt", "none"),
        },
    ),
]

# The same rows on a machine with no OS sandbox.
TABLE_NO_SANDBOX = [
    (
        "known-safe",
        "git status && ls -la",
        False,
        {
            "readOnly": ("prompt", "none"),
            "agent": ("prompt", "none"),
            "fullAccess": ("auto", "none"),
        },
    ),
    (
        "other command",
        "pytest -q",
        False,
        {
            "readOnly": ("prompt", "none"),
            "agent": ("prompt", "none"),
            "fullAccess": ("auto", "none"),
        },
    ),
    (
        "network (escalation)",
        "curl https://example.com",
        True,
        {
            "readOnly": ("prompt", "none"),
            "agent": ("prompt", "none"),
            "fullAccess": ("auto", "none"),
        },
    ),
    ("allow rule (user)", "npm test", False, {m: ("auto", "none") for m in MODES}),
    (
        "allow rule (workspace)",
        "make check",
        False,
        {
            "readOnly": ("prompt", "none"),
            "agent": ("prompt", "none"),
            "fullAccess": ("auto", "none"),
        },
    ),
    ("forbid rule", "rm -rf /", False, {m: ("refuse", "none") for m in MODES}),
]


def cells(table: list[tuple[str, str, bool, dict[str, tuple[str, str]]]]) -> list[object]:
    return [
        pytest.param(command, escalate, mode, expected, id=f"{row}-{mode}")
        for row, command, escalate, by_mode in table
        for mode, expected in by_mode.items()
    ]


@pytest.mark.parametrize(("command", "escalate", "mode", "expected"), cells(TABLE))
def test_command_table(command: str, escalate: bool, mode: Mode, expected: tuple[str, str]) -> None:
    decision = decide(command, mode, escalate=escalate)
    assert (decision.action, decision.sandbox) == expected, decision.reason


@pytest.mark.parametrize(("command", "escalate", "mode", "expected"), cells(TABLE_NO_SANDBOX))
def test_command_table_without_os_sandbox(
    command: str, escalate: bool, mode: Mode, expected: tuple[str, str]
) -> None:
    decision = decide(command, mode, sandbox=False, escalate=escalate)
    assert (decision.action, decision.sandbox) == expected, decision.reason
    if decision.action != "refuse" and mode != "fullAccess" and not escalate:
        assert "no OS sandbox is available" in decision.reason


def test_every_mode_and_row_is_covered() -> None:
    for table in (TABLE, TABLE_NO_SANDBOX):
        for _row, _command, _escalate, by_mode in table:
            assert set(by_mode) == set(MODES)


# --- the cases --------------------------------------------------------------------------

GIT_STATUS_ALLOWED = RuleSet((Rule(("git", "status"), "allow", "user", "rules.toml"),))


@pytest.mark.parametrize("command", ["git status && curl x | sh", "git status > f"])
def test_allow_rule_for_git_status_does_not_approve_more(command: str) -> None:
    decision = decide(command, "readOnly", rules=GIT_STATUS_ALLOWED)
    assert decision.action == "prompt"


def test_redirection_reason_names_the_construct() -> None:
    decision = decide("git status > f", "readOnly", rules=GIT_STATUS_ALLOWED)
    assert "redirection `> f`" in decision.reason


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("escalate", [False, True])
def test_forbid_refuses_everywhere_even_after_session_approval(mode: Mode, escalate: bool) -> None:
    session = SessionRules()
    session.allow_command("sudo rm -rf /", escalated=True)
    decision = decide("sudo rm -rf /", mode, session=session, escalate=escalate)
    assert decision.action == "refuse"
    assert "forbidden by the forbid rule `rm -rf /` in /home/rules.toml" in decision.reason
    assert decision.suggested_rules == []


def test_prompt_rule_with_escalation_runs_unsandboxed_once_approved() -> None:
    decision = decide("npm publish", "agent", escalate=True)
    assert (decision.action, decision.sandbox) == ("prompt", "none")


@pytest.mark.parametrize("mode", MODES)
def test_hidden_command_asks_when_forbid_rules_exist(mode: Mode) -> None:
    decision = decide('eval "$CMD"', mode)
    assert decision.action == "prompt"
    assert "forbid rules cannot be checked" in decision.reason


def test_forbid_inside_a_chain_forbids_the_whole() -> None:
    assert decide("npm test && rm -rf /", "fullAccess").action == "refuse"


# --- suggestions --------------------------------------------------------------------------------


def test_prompt_offers_suggested_rules() -> None:
    decision = decide("npm run build", "readOnly")
    assert decision.suggested_rules == [["npm", "run", "build"], ["npm", "run"]]


@pytest.mark.parametrize(
    ("command", "escalate"),
    [("curl https://x", True), ("npm publish", False), ("npm test > log", False)],
)
def test_no_suggestions_where_a_rule_would_not_help(command: str, escalate: bool) -> None:
    assert decide(command, "readOnly", escalate=escalate).suggested_rules == []


def test_auto_decisions_carry_no_suggestions() -> None:
    assert decide("pytest", "agent").suggested_rules == []


# --- session approvals --------------------------------------------------------------------------


def test_accept_for_session_exact_command() -> None:
    session = SessionRules()
    session.allow_command("make build > build.log")
    decision = decide("make build > build.log", "readOnly", session=session)
    assert (decision.action, decision.sandbox) == ("auto", "workspaceWrite")
    assert decide("make build > other.log", "readOnly", session=session).action == "prompt"


def test_accept_for_session_prefix() -> None:
    session = SessionRules()
    session.allow_prefix(["cargo", "test"])
    assert decide("cargo test --release", "readOnly", session=session).action == "auto"
    assert decide("cargo bench", "readOnly", session=session).action == "prompt"


def test_ordinary_session_approval_does_not_cover_escalation() -> None:
    session = SessionRules()
    session.allow_command("npm install")
    session.allow_prefix(["npm", "install"])
    assert decide("npm install", "agent", session=session, escalate=True).action == "prompt"


def test_escalation_approved_for_session() -> None:
    session = SessionRules()
    session.allow_prefix(["npm", "install"], escalated=True)
    decision = decide("npm install left-pad", "agent", session=session, escalate=True)
    assert (decision.action, decision.sandbox) == ("auto", "none")


def test_allow_rule_does_not_cover_escalation() -> None:
    assert decide("npm test", "readOnly", escalate=True).action == "prompt"


# --- rules files that could not be read ---------------------------------------------------------


def test_unreadable_rules_file_stops_auto_approval(tmp_path: Path) -> None:
    user_rules_path(tmp_path).write_text("[[rules]\n", encoding="utf-8")
    rules = load_rules(tmp_path, [])
    for mode in MODES:
        decision = decide("ls", mode, rules=rules)
        assert decision.action == "prompt"
        assert "could not be read" in decision.reason
        assert "fix the file" in decision.reason


def test_persisted_rule_applies_to_the_next_decision(tmp_path: Path) -> None:
    assert decide("npm ci", "readOnly", rules=RuleSet()).action == "prompt"
    rule = persist_rule(user_rules_path(tmp_path), ["npm", "ci"], scope="user")
    assert decide("npm ci", "readOnly", rules=RuleSet().with_rule(rule)).action == "auto"
    assert decide("npm ci", "readOnly", rules=load_rules(tmp_path, [])).action == "auto"


# --- reasons ------------------------------------------------------------------------------------


def test_readonly_reason_for_flagged_construct() -> None:
    decision = decide("echo $(date)", "readOnly")
    assert decision.reason == (
        "Read-only mode: this command needs approval "
        "(command substitution `$(date)` cannot be checked); once approved, it can write in "
        "this folder, no network"
    )


def test_agent_without_sandbox_says_what_to_do() -> None:
    decision = decide("pytest", "agent", sandbox=False)
    assert "switch to Full access" in decision.reason
    assert decision.suggested_rules == [["pytest"]]


# --- files --------------------------------------------------------------------------------------

# (kind, inside_roots, protected, session_edits_ok) -> {mode: action}
FILE_TABLE: list[tuple[FileAccessKind, bool, bool, bool, dict[Mode, str]]] = [
    ("read", True, False, False, {"readOnly": "auto", "agent": "auto", "fullAccess": "auto"}),
    ("read", True, True, False, {"readOnly": "auto", "agent": "auto", "fullAccess": "auto"}),
    ("read", False, False, False, {"readOnly": "prompt", "agent": "prompt", "fullAccess": "auto"}),
    ("write", True, False, False, {"readOnly": "prompt", "agent": "auto", "fullAccess": "auto"}),
    ("write", True, False, True, {"readOnly": "auto", "agent": "auto", "fullAccess": "auto"}),
    ("write", True, True, False, {"readOnly": "prompt", "agent": "prompt", "fullAccess": "auto"}),
    ("write", True, True, True, {"readOnly": "prompt", "agent": "prompt", "fullAccess": "auto"}),
    ("write", False, False, False, {"readOnly": "prompt", "agent": "prompt", "fullAccess": "auto"}),
    ("write", False, False, True, {"readOnly": "prompt", "agent": "prompt", "fullAccess": "auto"}),
]


@pytest.mark.parametrize(
    ("kind", "inside", "protected", "session_ok", "mode", "expected"),
    [
        pytest.param(
            kind, inside, protected, ok, mode, action, id=f"{kind}-{inside}-{protected}-{ok}-{mode}"
        )
        for kind, inside, protected, ok, by_mode in FILE_TABLE
        for mode, action in by_mode.items()
    ],
)
def test_file_table(
    kind: FileAccessKind, inside: bool, protected: bool, session_ok: bool, mode: Mode, expected: str
) -> None:
    decision = decide_file_access(kind, inside, protected, mode, session_ok)
    assert decision.action == expected, decision.reason
    assert decision.reason


def test_protected_edit_reason_says_why() -> None:
    decision = decide_file_access("write", True, True, "agent", True)
    assert "protected" in decision.reason


# --- the realistic 20-step task ---------------------------------------------------------

TWENTY_STEPS = [
    "ls -la",
    "cat README.md",
    "rg -n 'def parse' src",
    "git status",
    "sed -n '1,80p' src/app.py",
    "find . -name '*.py' -not -path './.venv/*'",
    "sed -i 's/old_name/new_name/g' src/app.py",
    "python -m pytest -q",
    "git diff",
    "git add -A",
    "git commit -m 'Rename old_name to new_name'",
    "mkdir -p build",
    "python -m build --outdir build",
    "ls build",
    "rm -rf build",
    "curl -sS https://pypi.org/simple/",
    "git log --oneline -n 3",
    "wc -l src/app.py",
    "grep -rn new_name src | head",
    "python -m pytest -q 2>&1 | tail -n 5",
]


def test_twenty_step_task_needs_no_prompt_in_agent_mode() -> None:
    decisions = [decide(step, "agent", rules=RuleSet()) for step in TWENTY_STEPS]
    assert [d.action for d in decisions] == ["auto"] * 20
    sandboxes = {step: d.sandbox for step, d in zip(TWENTY_STEPS, decisions, strict=True)}
    # Edits, the commit and the clean-up run in the workspace sandbox (revertable with the turn);
    # the network step runs there too, where it is blocked, unless the model asks to escalate.
    assert sandboxes["rm -rf build"] == sandboxes["curl -sS https://pypi.org/simple/"]
    assert sandboxes["git commit -m 'Rename old_name to new_name'"] == "workspaceWrite"
    assert sandboxes["git status"] == "readOnly"
    escalated = decide("curl -sS https://pypi.org/simple/", "agent", rules=RuleSet(), escalate=True)
    assert escalated.action == "prompt"


def test_twenty_step_task_in_read_only_mode_asks_only_for_changes() -> None:
    asked = [s for s in TWENTY_STEPS if decide(s, "readOnly", rules=RuleSet()).action == "prompt"]
    assert asked == [
        "sed -i 's/old_name/new_name/g' src/app.py",
        "python -m pytest -q",
        "git add -A",
        "git commit -m 'Rename old_name to new_name'",
        "mkdir -p build",
        "python -m build --outdir build",
        "rm -rf build",
        "curl -sS https://pypi.org/simple/",
        "python -m pytest -q 2>&1 | tail -n 5",
    ]


def test_known_safe_without_sandbox_asks_and_offers_a_rule() -> None:
    """launcher `none`: git status could run a workspace's fsmonitor, so even it asks."""
    decision = decide("git status", "readOnly", sandbox=False)
    assert decision.action == "prompt"
    assert "core.fsmonitor" in decision.reason
    assert decision.suggested_rules == [["git", "status"]]
    allowed = RuleSet((Rule(("git", "status"), "allow", "user", "/home/rules.toml"),))
    assert decide("git status", "agent", rules=allowed, sandbox=False).action == "auto"
    session = SessionRules()
    session.allow_command("git status")
    assert decide("git status", "readOnly", session=session, sandbox=False).action == "auto"
    # Control: with a sandbox the same command runs by itself in the read-only one.
    assert decide("git status", "readOnly").sandbox == "readOnly"


# --- what fullAccess makes an exception of --------------------------------------------------


@pytest.mark.parametrize("mode", ["readOnly", "agent"])
def test_outside_full_access_secrets_are_refused_without_asking(mode: Mode) -> None:
    for kind in ("read", "write"):
        decision = decide_file_access(kind, True, False, mode, session_edits_ok=True, secret=True)
        assert decision.action == "refuse" and "secret" in decision.reason
    assert (
        decide_file_access("read", True, False, "fullAccess", False, secret=True).action == "auto"
    )


def test_commands_and_undo_stay_in_the_roots_unless_full_access() -> None:
    assert not decide_workdir(inside_roots=False, mode="agent")
    assert decide_workdir(inside_roots=False, mode="fullAccess")
    assert decide_workdir(inside_roots=True, mode="readOnly")
    assert decide_undo(True, None, False, "agent") is None
    assert "protected (.git)" in (decide_undo(True, ".git", False, "agent") or "")
    assert "outside the workspace" in (decide_undo(False, None, False, "readOnly") or "")
    assert "secret" in (decide_undo(True, None, True, "agent") or "")
    assert decide_undo(False, ".git", True, "fullAccess") is None


def test_the_policies_the_agent_runs_its_own_readers_and_file_tools_under() -> None:
    assert [file_policy_kind(m) for m in ("readOnly", "agent", "fullAccess")] == [
        "workspaceWrite",
        "workspaceWrite",
        "fullAccess",
    ]
    assert [reader_sandbox(m) for m in ("readOnly", "agent", "fullAccess")] == [
        "readOnly",
        "readOnly",
        "none",
    ]
    assert escalation_of(True, "none", "agent") == "network"
    assert escalation_of(False, "none", "agent") == "noSandbox"
    assert escalation_of(False, "none", "fullAccess") is None
    assert escalation_of(False, "workspaceWrite", "readOnly") is None
