from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.schemas.registry_server import RegistryServer


@pytest.fixture
def registry_server() -> Iterator[RegistryServer]:
    """A fresh in-test schema registry on a free port of 127.0.0.1."""
    with RegistryServer() as server:
        yield server
