"""Pytest fixtures for the scripted model server.

`model_server` is a fresh, started `ModelServer` per test with an empty script. At teardown
the test errors if a responder raised or the server hit a bug, since those would otherwise
surface only as a confusing 500 inside the code under test.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.model_server.server import ModelServer


@pytest.fixture
def model_server() -> Iterator[ModelServer]:
    with ModelServer() as server:
        yield server
    if server.errors:
        pytest.fail("scripted model server errors:\n" + "\n\n".join(server.errors))
