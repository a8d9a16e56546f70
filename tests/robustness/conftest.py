"""The robustness suite reuses the end-to-end fixtures (a workspace, the real server wired to the
scripted model server) rather than defining its own."""

from tests.e2e.conftest import tether, workspace

__all__ = ["tether", "workspace"]
