"""The macOS Seatbelt profile, tested on its text (sandbox-exec cannot run here)."""

from __future__ import annotations

from pathlib import Path

from sandbox.launchers.seatbelt import sbpl_string, seatbelt_profile
from sandbox.policy import Policy

ROOT = Path("/Users/u/proj")
TMP = Path("/private/var/folders/xy/T/tether-cmd-1/tmp")
SECRETS = [Path("/Users/u/.ssh"), Path("/Users/u/.aws")]
PROTECTED = [ROOT / ".git/hooks", ROOT / ".git/config", ROOT / ".vscode"]


def profile(kind: str = "workspaceWrite", network: bool = False) -> str:
    policy = Policy(kind, roots=(ROOT,), network=network)  # type: ignore[arg-type]
    return seatbelt_profile(policy, tmp=TMP, secrets=SECRETS, protected=PROTECTED)


def test_denies_by_default_and_reads_everything_else() -> None:
    text = profile()
    assert text.startswith("(version 1)\n(deny default)\n")
    assert "(allow file-read*)" in text


def test_secrets_are_denied_last() -> None:
    text = profile()
    last = text.strip().splitlines()[-1]
    assert (
        last == '(deny file-read* file-write* (subpath "/Users/u/.ssh") (subpath "/Users/u/.aws"))'
    )


def test_workspace_write_carves_out_protected_paths_and_their_parents() -> None:
    text = profile()
    write = next(line for line in text.splitlines() if line.startswith("(allow file-write*"))
    assert f"(subpath {sbpl_string(str(TMP))})" in write
    assert (
        '(require-all (subpath "/Users/u/proj") (require-not (require-any '
        '(subpath "/Users/u/proj/.git/hooks") (subpath "/Users/u/proj/.git/config") '
        '(subpath "/Users/u/proj/.vscode") (literal "/Users/u/proj/.git"))))'
    ) in write


def test_read_only_writes_only_the_private_tmp() -> None:
    text = profile("readOnly")
    write = next(line for line in text.splitlines() if line.startswith("(allow file-write*"))
    assert write == f"(allow file-write* (subpath {sbpl_string(str(TMP))}))"


def test_network_only_when_allowed() -> None:
    assert "network" not in profile().replace("(deny default)", "")
    assert "(allow network* system-socket)" in profile(network=True)
    assert "(allow network*" not in profile("readOnly", network=True)


def test_strings_are_escaped() -> None:
    assert sbpl_string('/a "b"\\c') == '"/a \\"b\\"\\\\c"'
    policy = Policy("workspaceWrite", roots=(Path('/x/"); (allow default) ("'),))
    text = seatbelt_profile(policy, tmp=TMP, secrets=[], protected=[])
    assert "(allow default)" not in text.replace('\\"); (allow default) (\\"', "")
