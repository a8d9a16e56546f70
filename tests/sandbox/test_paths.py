"""Path checks for the backend's file tools: realpath first, escape tricks refused."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sandbox.paths import PathDenied, resolve_for_read, resolve_for_write
from sandbox.policy import Policy


@pytest.fixture
def root(tmp_path: Path) -> Path:
    ws = tmp_path / "ws"
    (ws / "src").mkdir(parents=True)
    (ws / "src" / "a.py").write_text("x = 1\n")
    (ws / ".git" / "hooks").mkdir(parents=True)
    (ws / ".git" / "config").write_text("[core]\n")
    return ws


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    path = tmp_path / "outside"
    path.mkdir()
    (path / "secret.txt").write_text("s\n")
    return path


def policy(root: Path) -> Policy:
    return Policy("workspaceWrite", roots=(root,))


def test_relative_path_resolves_against_cwd(root: Path) -> None:
    verdict = resolve_for_read("a.py", cwd=root / "src", policy=policy(root), homes=())
    assert verdict.path == root / "src" / "a.py"
    assert verdict.inside_roots and verdict.root == root
    assert verdict.protected is None and not verdict.secret


def test_outside_path_is_not_refused_but_marked(root: Path, outside: Path) -> None:
    verdict = resolve_for_read(outside / "secret.txt", cwd=root, policy=policy(root), homes=())
    assert not verdict.inside_roots and verdict.root is None


def test_dotdot_out_of_the_root_is_refused(root: Path) -> None:
    with pytest.raises(PathDenied, match=r"'\.\.' components lead outside"):
        resolve_for_write("src/../../outside/x", cwd=root, policy=policy(root), homes=())


def test_dotdot_staying_inside_is_fine(root: Path) -> None:
    verdict = resolve_for_write("src/../new.txt", cwd=root, policy=policy(root), homes=())
    assert verdict.path == root / "new.txt"


def test_symlink_pointing_out_is_refused_for_read_and_write(root: Path, outside: Path) -> None:
    (root / "link").symlink_to(outside)
    for resolve in (resolve_for_read, resolve_for_write):
        with pytest.raises(PathDenied, match=r"symlink .*link leads outside"):
            resolve("link/secret.txt", cwd=root, policy=policy(root), homes=())


def test_dangling_symlink_for_a_new_file_is_followed(root: Path, outside: Path) -> None:
    (root / "new.txt").symlink_to(outside / "created-by-write.txt")
    with pytest.raises(PathDenied):
        resolve_for_write("new.txt", cwd=root, policy=policy(root), homes=())


def test_symlink_inside_to_inside_is_fine(root: Path) -> None:
    (root / "alias").symlink_to(root / "src")
    verdict = resolve_for_read("alias/a.py", cwd=root, policy=policy(root), homes=())
    assert verdict.path == root / "src" / "a.py"


def test_hard_link_is_refused(root: Path, outside: Path) -> None:
    os.link(outside / "secret.txt", root / "hl.txt")
    with pytest.raises(PathDenied, match="2 hard links"):
        resolve_for_read("hl.txt", cwd=root, policy=policy(root), homes=())
    with pytest.raises(PathDenied):
        resolve_for_write("hl.txt", cwd=root, policy=policy(root), homes=())


@pytest.mark.parametrize("prefix", ["/proc/self/root", "/proc/1/cwd", "/proc/self/fd/0/.."])
def test_proc_aliases_are_refused(root: Path, prefix: str) -> None:
    with pytest.raises(PathDenied, match="/proc"):
        resolve_for_read(f"{prefix}{root}/src/a.py", cwd=root, policy=policy(root), homes=())


def test_symlink_into_proc_is_refused(root: Path) -> None:
    (root / "me").symlink_to("/proc/self/root")
    with pytest.raises(PathDenied, match="leads outside the workspace, to /etc/passwd"):
        resolve_for_read("me/etc/passwd", cwd=root, policy=policy(root), homes=())


@pytest.mark.parametrize(
    ("relative", "entry"),
    [
        (".git/config", ".git/config"),
        (".git/hooks/pre-commit", ".git/hooks"),
        (".GIT/Config", ".git/config"),  # a case-insensitive filesystem would open .git/config
        (".vscode/tasks.json", ".vscode"),
        (".tether/rules.toml", ".tether"),
    ],
)
def test_protected_entries_are_reported(root: Path, relative: str, entry: str) -> None:
    verdict = resolve_for_write(relative, cwd=root, policy=policy(root), homes=())
    assert verdict.inside_roots and verdict.protected == entry


def test_all_of_git_is_protected_for_the_file_tools(root: Path) -> None:
    # Commands may write .git/HEAD (sandbox.policy.GIT_WRITABLE); an edit of it asks.
    verdict = resolve_for_write(".git/HEAD", cwd=root, policy=policy(root), homes=())
    assert verdict.protected == ".git"


def test_secret_paths_are_marked(root: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    verdict = resolve_for_read(
        home / ".ssh" / "id_ed25519", cwd=root, policy=policy(root), homes=[home]
    )
    assert verdict.secret and not verdict.inside_roots


def test_secret_reached_through_a_symlink_outside_is_still_marked(
    root: Path, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    (home / ".aws").mkdir(parents=True)
    (tmp_path / "innocent").symlink_to(home / ".aws")
    verdict = resolve_for_read(
        tmp_path / "innocent" / "credentials", cwd=root, policy=policy(root), homes=[home]
    )
    assert verdict.secret


def test_root_spelled_through_an_alias_resolves_inside(root: Path, tmp_path: Path) -> None:
    (tmp_path / "other-name").symlink_to(root)
    verdict = resolve_for_read(
        tmp_path / "other-name" / "src" / "a.py", cwd=root, policy=policy(root), homes=()
    )
    assert verdict.inside_roots and verdict.path == root / "src" / "a.py"


def test_writing_a_directory_is_refused(root: Path) -> None:
    with pytest.raises(PathDenied, match="is a directory"):
        resolve_for_write("src", cwd=root, policy=policy(root), homes=())


def test_nul_byte_is_refused(root: Path) -> None:
    with pytest.raises(PathDenied, match="NUL"):
        resolve_for_read("a\0b", cwd=root, policy=policy(root), homes=())


def test_messages_tell_the_model_what_to_do(root: Path, outside: Path) -> None:
    (root / "link").symlink_to(outside)
    with pytest.raises(PathDenied) as denied:
        resolve_for_read("link/secret.txt", cwd=root, policy=policy(root), homes=())
    assert "Use the real path" in str(denied.value)
    assert str(outside / "secret.txt") in str(denied.value)


def test_protected_as_given_as_resolved_and_behind_a_protected_link(root: Path) -> None:
    """A repository shipping `.vscode -> tools/vscode` (issue 12, point 6)."""
    (root / "tools" / "vscode").mkdir(parents=True)
    (root / ".vscode").symlink_to("tools/vscode")
    given = resolve_for_write(".vscode/settings.json", cwd=root, policy=policy(root), homes=())
    behind = resolve_for_write("tools/vscode/tasks.json", cwd=root, policy=policy(root), homes=())
    plain = resolve_for_write("tools/other.json", cwd=root, policy=policy(root), homes=())
    assert given.protected == behind.protected == ".vscode"
    assert plain.protected is None
    (root / "notes").symlink_to(".git")  # resolving into .git counts as .git
    into_git = resolve_for_write("notes/config", cwd=root, policy=policy(root), homes=())
    assert into_git.protected == ".git/config"
