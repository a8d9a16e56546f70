"""The writer resolves beneath its root without following symlinks, in one openat2 call and in
the component-by-component fallback, and a directory swapped for a symlink in a loop while it
writes never redirects a write (the control: a plain path write does get redirected)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from server.edits import atomic
from server.edits.atomic import UnsafePathError, atomic_delete, atomic_write, make_symlink
from tests.edits.swapper import swapping as swapping_dir


@pytest.fixture(params=["openat2", "walk"])
def resolver(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "openat2" and not atomic._openat2_available():
        pytest.skip("this kernel has no openat2")
    if request.param == "walk":
        monkeypatch.setattr(atomic, "_openat2_available", lambda: False)
    return str(request.param)


def test_symlinked_directory_is_refused(tmp_path: Path, resolver: str) -> None:
    root, outside = tmp_path / "root", tmp_path / "outside"
    (root / "sub").mkdir(parents=True)
    outside.mkdir()
    (root / "sub" / "x").symlink_to(outside)
    with pytest.raises(UnsafePathError, match="symbolic link"):
        atomic_write(root / "sub" / "x" / ".bash_login", "payload", beneath=root)
    with pytest.raises(UnsafePathError):
        make_symlink(root / "sub" / "x" / "l", "/etc/passwd", beneath=root)
    (outside / "victim").write_text("keep")
    with pytest.raises(UnsafePathError):
        atomic_delete(root / "sub" / "x" / "victim", beneath=root)
    assert sorted(p.name for p in outside.iterdir()) == ["victim"]
    # Control: without `beneath` the same write follows the link (Tether's own state files).
    atomic_write(root / "sub" / "x" / ".bash_login", "payload")
    assert (outside / ".bash_login").read_text() == "payload"


def test_writes_below_root_create_parents(tmp_path: Path, resolver: str) -> None:
    root = tmp_path / "root"
    root.mkdir()
    atomic_write(root / "a" / "b" / "f.txt", "x", beneath=root)
    assert (root / "a" / "b" / "f.txt").read_text() == "x"
    atomic_delete(root / "a" / "b" / "f.txt", beneath=root)
    assert not (root / "a" / "b" / "f.txt").exists()
    with pytest.raises(UnsafePathError, match="not inside"):
        atomic_write(tmp_path / "elsewhere.txt", "x", beneath=root)


@pytest.fixture
def swapping(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    """root/sub/d swapped for a symlink to `outside` and back, in a loop, by another process."""
    root, outside = tmp_path / "root", tmp_path / "outside"
    (root / "sub" / "d").mkdir(parents=True)
    outside.mkdir()
    with swapping_dir(root / "sub", outside):
        yield root, outside


def test_race_with_a_swapped_directory_never_escapes(
    swapping: tuple[Path, Path], resolver: str
) -> None:
    root, outside = swapping
    written = refused = 0
    # At least 1,000 tries, and on until the swap has been met at least once (proof the race
    # ran while writing, whatever the machine's load).
    while written + refused < 1000 or (refused == 0 and written + refused < 50_000):
        try:
            atomic_write(root / "sub" / "d" / f"f{written + refused}", "x", beneath=root)
            written += 1
        except OSError:
            refused += 1
    assert list(outside.iterdir()) == []
    assert refused > 0
    print(f"{resolver}: {written} written, {refused} refused, 0 outside")


def test_race_control_plain_writes_escape(swapping: tuple[Path, Path]) -> None:
    root, outside = swapping
    for i in range(20000):  # escapes in a few % of tries; stop at the first
        with contextlib.suppress(OSError):
            (root / "sub" / "d" / f"f{i}").write_text("x")
        if any(outside.iterdir()):
            break
    assert any(outside.iterdir())
