"""Fixtures of the chaos tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.chaos.private_rabbit import PrivateRabbit, rabbit_available
from tests.conftest import broker_missing


@pytest.fixture
def rabbit() -> Iterator[PrivateRabbit]:
    """A private RabbitMQ node of its own (a test may stop and start it), stopped afterwards."""
    missing = rabbit_available()
    if missing is not None:
        broker_missing("a private RabbitMQ node", missing)
    node = PrivateRabbit()
    try:
        node.start()
    except RuntimeError as exc:
        node.stop()
        broker_missing("a private RabbitMQ node", str(exc))
    try:
        yield node
    finally:
        node.stop()
