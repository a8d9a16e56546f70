"""Every request of the method table has its handler, and nothing else does."""

from protocol.methods import REQUESTS
from server.handlers import HANDLERS


def test_every_method_of_the_table_has_a_handler() -> None:
    assert set(HANDLERS) == set(REQUESTS)
