"""Scenario 05's measurement module (notebooks/scenarios/05-.../harness.py), against a real PostgreSQL.

Each call notebook 05 and its deep dive 05a make is run here on the broken project and on the
reference steps, and must say what the notebooks' text says it does.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import create_async_engine

import labkit
from labkit import Postgres

pytestmark = pytest.mark.integration  # real PostgreSQL, real uvicorn

SCENARIO = "05-async-session-pitfalls"


@pytest.fixture
def lab(local_pg: Postgres, tmp_path: Path) -> Iterator[labkit.Lab]:
    """A reference copy of the broken project in a temporary folder."""
    with labkit.Lab(SCENARIO, local_pg, tmp_path / SCENARIO, reference=True) as made:
        yield made


@pytest.fixture
def harness(lab: labkit.Lab):
    return lab.harness


def test_sessions_nobody_closes_exhaust_the_pool_and_closing_them_fixes_it(lab: labkit.Lab, harness) -> None:
    leaky = harness.one_by_one(lab)
    assert leaky.statuses[:2] == [200, 200] and 500 in leaky.statuses
    assert leaky.most_checked_out == 2 and leaky.idle_in_transaction == 2
    assert harness.QUEUEPOOL in leaky.logged
    assert len(leaky.table().rows) == 5

    lab.apply(1)
    closing = harness.one_by_one(lab, settle=3)
    assert closing.statuses == [200] * 5
    assert closing.most_checked_out == 0 and closing.idle_in_transaction == 0 and closing.logged == ""
    assert lab.pg.connections(harness.APP) == 0  # the app was stopped and its connections waited for


def test_a_burst_fails_on_the_leaking_app_and_passes_on_the_fixed_one(lab: labkit.Lab, harness) -> None:
    broken = harness.burst(lab, "broken")
    assert broken.most_checked_out == 2 and broken.load.errors >= 5 and broken.logged_timeouts >= 1
    lab.apply(1)
    fixed = harness.burst(lab, "fixed", settle=3)
    assert fixed.outcomes == {"200": 10} and fixed.after == 0 and fixed.logged_timeouts == 0
    assert fixed.most_checked_out <= 2
    figure = harness.plot(broken, fixed)
    assert [ax.get_title() for ax in figure.axes] == ["latency of each request", "GET /debug/pool during the burst"]


def test_every_route_names_its_exception_until_the_reference_steps_are_in(lab: labkit.Lab, harness) -> None:
    broken = harness.routes(lab)
    assert broken.status("GET /health/db") == 500 and "ArgumentError: Textual SQL" in broken.said("GET /health/db")
    assert broken.status("POST /authors") == 500 and "MissingGreenlet" in broken.said("POST /authors")
    assert broken.status("GET /authors/{id}") == 500 and "MissingGreenlet" in broken.said("GET /authors/{id}")
    assert broken.said("GET /health/db").startswith("app/main.py:")  # file:line in the project
    lab.apply()
    lab.apply()
    lab.apply()
    lab.apply()
    lab.apply()
    fixed = harness.routes(lab)
    assert [status for _, status, _ in fixed.rows] == ["200", "201", "201", "200"]
    assert fixed.books == ["Notes"]


def test_a_lost_session_keeps_its_connection_until_the_collector_runs(local_pg: Postgres, harness) -> None:
    lost = asyncio.run(harness.lost_session(local_pg))
    assert (lost.checked_out_before, lost.idle_in_transaction_before, lost.checked_out_after) == (1, 1, 0)
    assert len(lost.warnings) == 1 and "garbage collector is trying to clean up" in lost.warnings[0]


def test_the_factories_table_says_which_factory_works(local_pg: Postgres, harness) -> None:
    async def measure():
        engine = create_async_engine(local_pg.url("asyncpg"))
        try:
            return await harness.factories(engine), await harness.fresh_tables(engine)
        finally:
            await harness.drop_tables(engine)
            await engine.dispose()

    made, tables = asyncio.run(measure())
    assert made.row(0) == ("yes", "AsyncSession", "1", "0") and made.row(1) == ("yes", "AsyncSession", "1", "0")
    assert made.row(2)[:2] == ("yes", "ArgumentError: autocommit=True is no longer supported")
    assert made.row(3)[:2] == ("yes", "Session") and made.row(3)[2].startswith("TypeError")
    assert tables == ["nb05a_authors", "nb05a_books"]
    assert harness.describe(ValueError("one\ntwo (Background on this error at: x)")) == "ValueError: one"


def test_the_default_async_engine_reads_committed(lab: labkit.Lab, harness) -> None:
    assert asyncio.run(harness.isolation_level(lab.pg)) == ("read committed", "READ COMMITTED")


def test_without_greenlet_the_asyncio_extension_does_not_import_and_with_it_a_thread_switch_fails(
    local_pg: Postgres, harness
) -> None:
    made = harness.greenlets(local_pg)
    assert made.outcome("installed", "import") == "ok" and made.outcome("installed", "one thread") == "1"
    assert made.pending
    assert made.outcome("installed", "two threads").lower().startswith("greenlet.error: cannot switch to a different")
    assert made.outcome("blocked", "import").startswith("ImportError: The SQLAlchemy asyncio module requires")
    assert "'greenlet' library is installed" in made.outcome("blocked", "import")
    assert made.outcome("blocked", "two threads") == "-"
    assert made.requires and all("extra ==" in r for r in made.requires)
    assert [row[0] for row in made.table().rows] == ["installed", "blocked"]
