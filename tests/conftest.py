"""Shared fixtures: one local PostgreSQL for the tests that only read and count."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from labkit._postgres._local import LocalServer
from labkit._postgres import Postgres

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="session")
def local_pg() -> Iterator[Postgres]:
    """A local server of the tests' own (not the kernel singleton), removed at the end."""
    pg = Postgres(LocalServer(), "tests")
    yield pg
    pg.close()


@pytest.fixture
def fresh_pg() -> Iterator[Postgres]:
    """A server a test may stop, restart and reconfigure."""
    pg = Postgres(LocalServer(), "tests")
    yield pg
    pg.close()
pytest_plugins = ["learner_copies"]
