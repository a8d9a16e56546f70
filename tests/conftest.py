"""Shared pytest configuration: the scripted model server fixtures, and the sandbox matrix.

The matrix runs the sandbox suite and the end-to-end mode tests once per cell of {bwrap,
landlock} x {root, a normal user}, plus a cell where bwrap is installed but cannot make user
namespaces (tests/sandbox/test_matrix.py starts each cell as its own pytest run). A test joins
the matrix with `@pytest.mark.sandbox_matrix` (or by living in one of `MATRIX_MODULES`) and
learns the cell it runs in from the `sandbox_cell` fixture.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import pytest

from sandbox.launchers import LauncherSetting

pytest_plugins = ["tests.model_server.pytest_plugin"]

CELL_ENV = "TETHER_MATRIX_CELL"
"""Set by the matrix runner in each cell's pytest run: the cell's name."""

MATRIX_MODULES = (
    "tests/sandbox/test_escapes.py",
    "tests/sandbox/test_legit_work.py",
    "tests/sandbox/test_guard.py",
    "tests/sandbox/test_landlock.py",
    "tests/e2e/test_modes.py",
    "tests/e2e/test_task.py",
)
"""The suites every cell runs: escape battery, legitimate work, guard, Landlock, mode table and
the 20-step task."""


@dataclass(frozen=True)
class SandboxCell:
    """One cell of the matrix: the launcher forced on the server and the sandbox suite, and
    whether the tests run as root or as a normal user."""

    name: str
    launcher: LauncherSetting
    as_root: bool
    userns_blocked: bool = False
    """bwrap is installed but the kernel refuses it user namespaces (auto picks Landlock)."""


CELLS: dict[str, SandboxCell] = {
    cell.name: cell
    for cell in (
        SandboxCell("bwrap-root", "bwrap", as_root=True),
        SandboxCell("landlock-root", "landlock", as_root=True),
        SandboxCell("bwrap-user", "bwrap", as_root=False),
        SandboxCell("landlock-user", "landlock", as_root=False),
        SandboxCell("no-userns-root", "auto", as_root=True, userns_blocked=True),
    )
}


def current_cell() -> SandboxCell:
    """The cell this run is in; outside the matrix runner, the machine as it is."""
    name = os.environ.get(CELL_ENV)
    if name in CELLS:
        return CELLS[name]
    forced = os.environ.get("TETHER_SANDBOX_LAUNCHER", "auto")
    launcher: LauncherSetting = forced if forced in ("bwrap", "landlock", "none") else "auto"  # type: ignore[assignment]
    return SandboxCell("host", launcher, as_root=os.geteuid() == 0)


@pytest.fixture
def sandbox_cell() -> SandboxCell:
    return current_cell()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "sandbox_matrix: also run this test in every cell of the sandbox matrix "
        "(launcher x user); see tests/conftest.py",
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if any(str(item.path).endswith(module) for module in MATRIX_MODULES):
            item.add_marker(pytest.mark.sandbox_matrix)
