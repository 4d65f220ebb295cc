"""Scenario 07's measurement module (notebooks/scenarios/07-connection-pool/harness.py), against a real PostgreSQL.

Each call notebook 07 and its deep dive 07a make is run here on the broken project and on the
reference steps, and must say what the notebooks' text says it does.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

import labkit
from labkit import Postgres

pytestmark = pytest.mark.integration  # real PostgreSQL, real uvicorn

SCENARIO = "07-connection-pool"


@pytest.fixture
def lab(fresh_pg: Postgres, tmp_path: Path) -> Iterator[labkit.Lab]:
    """A reference copy of the broken project, on a server of its own (max_connections changes)."""
    with labkit.Lab(SCENARIO, fresh_pg, tmp_path / SCENARIO, reference=True) as made:
        yield made


@pytest.fixture
def harness(lab: labkit.Lab):
    return lab.harness


def test_past_its_pool_a_burst_queues_then_fails_at_pool_timeout(lab: labkit.Lab, harness) -> None:
    run = harness.queue(lab)
    assert set(run.outcomes) == {"200", "500"} and len(run.served) >= 4 and len(run.failed) >= 4
    assert run.served[0] < run.served[-1] and all(0.9 < s < 5 for s in run.failed)
    assert (run.at_start, run.after) == (0, 2)
    assert set(run.logged) == {
        "sqlalchemy.exc.TimeoutError: QueuePool limit of size 2 overflow 0 reached, connection timed out, timeout 1.00"
    }
    assert harness.plot_queue(run).axes[0].get_title() == "20 reports, 2 connections"


def test_two_processes_are_refused_by_the_server_until_the_pool_is_sized_from_it(lab: labkit.Lab, harness) -> None:
    original = lab.pg.query("show max_connections")[0][0]
    lab.pg.configure(max_connections=harness.SMALL_SERVER)
    try:
        budget = harness.budget(lab.pg)
        assert budget.max_connections == 12 and budget.share(2, headroom=3) >= 1
        limits = asyncio.run(harness.limits(lab.pg))
        superuser, ordinary = limits["superuser"], limits["ordinary role"]
        assert superuser.opened == 12 - budget.others and superuser.sqlstate == "53300"
        assert harness.TOO_MANY in superuser.message
        assert ordinary.opened == superuser.opened - budget.superuser_reserved - budget.reserved
        assert ordinary.sqlstate == "53300" and harness.RESERVED in ordinary.message

        broken = harness.two_processes(lab, "broken", harness.SCALED)
        assert broken.outcomes.get("500", 0) >= 1 and broken.peak <= 12 - budget.others
        assert broken.errors == {
            "sqlalchemy.exc.DBAPIError: (sqlalchemy.dialects.postgresql.asyncpg.Error) sorry, too many clients already"
        }
        lab.apply(1)
        sized = harness.two_processes(lab, "sized", {**harness.SCALED, "APP_PROCESSES": "2"})
        assert sized.outcomes == {"200": 24} and sized.peak <= 2 * budget.share(2, headroom=3)
        assert any("pool_size=" in line for line in sized.sized)
        figure = harness.plot_processes(broken, sized, slots=11, share=3)
        assert figure.axes[0].get_ylabel() == "app connections"
    finally:
        lab.pg.configure(max_connections=original)
    table = harness.per_process()
    assert table.rows[0] == ("1", "1", "50", "150", "no")


def test_pre_ping_replaces_dead_connections_and_recycle_does_not(lab: labkit.Lab, harness) -> None:
    harness.orders(lab.pg)
    recycled = asyncio.run(harness.recycle(lab.pg))
    assert recycled.same_right_away and recycled.new_after_rest and recycled.young_kill != "answered"
    sent = asyncio.run(harness.ping_statements(lab.pg))
    assert sent == {
        "pool_pre_ping=False": ["BEGIN;", "ROLLBACK;"],
        "pool_pre_ping=True": ["BEGIN;", ";", "ROLLBACK;", "BEGIN;", "ROLLBACK;"],
    }
    cost = asyncio.run(harness.checkout_cost(lab.pg, rounds=20))
    assert [len(v) for v in cost.seconds.values()] == [20, 20]

    lab.apply(1)
    env = {**harness.SCALED}
    with lab.serve("app.main:app", ready_path="/health", env=env) as before:
        abandoned = harness.abandoned_query(lab.pg, before)
        assert abandoned.client_saw == "ReadTimeout" and set(abandoned.after) == {"idle"}
        assert [(state, wait) for state, wait, _ in abandoned.meanwhile] == [("active", "Lock")]
        lab.apply(2)
        with lab.serve("app.main:app", ready_path="/health", env=env) as after:
            seen = harness.outages(lab.pg, [before, after])
            assert set(seen) == {"pg_terminate_backend", "server restart"}
            assert all(rows == [[200, 500, 200, 200], [200, 200, 200, 200]] for rows in seen.values())
            per_request = harness.request_cost(before, after, requests=20)
            assert [len(v) for v in per_request.seconds.values()] == [10, 10]


def test_timeouts_bound_every_wait(lab: labkit.Lab, harness) -> None:
    harness.orders(lab.pg)
    bounded = asyncio.run(harness.statement_bounds(lab.pg))
    assert [b.outcome for b in bounded.values()] == [
        "still waiting after 1 s",
        "TimeoutError",
        "QueryCanceledError: canceling statement due to statement timeout",
    ]
    assert all(b.usable_after for b in bounded.values())
    connects = asyncio.run(harness.connect_bounds(lab.pg))
    assert connects.default_timeout == 60
    assert [outcome for outcome, _ in connects.rows.values()] == [
        "ConnectionRefusedError",
        "still waiting after 1 s",
        "TimeoutError",
    ]
    for _ in range(3):
        lab.apply()
    env = {"POOL_SIZE": "3", "MAX_OVERFLOW": "2", "QUERY_TIMEOUT": "1", "CONNECT_TIMEOUT": "1"}
    with lab.serve("app.main:app", ready_path="/health", env=env) as srv:
        locked = harness.locked_request(lab.pg, srv)
    assert (locked.status, locked.active_after, locked.released) == (500, 0, 200)
    assert locked.logged.endswith("canceling statement due to statement timeout")
    started = harness.start_against_silent(lab, env)
    assert started["outcome"] == "refused to start (TimeoutError)"


def test_a_burst_opens_the_overflow_and_closes_it_on_return(lab: labkit.Lab, harness) -> None:
    spike = asyncio.run(harness.burst(lab.pg))
    assert (spike.asked, spike.answered, spike.opened, spike.kept) == (20, 20, 15, 5)
    assert spike.waited == 5  # one engine opens at most pool_size + max_overflow; the rest queue
    assert lab.pg.connections(harness.NOTEBOOK) == 0


def test_pg_stat_activity_counts_more_than_the_app(lab: labkit.Lab, harness) -> None:
    seen = harness.activity(lab.pg)
    assert seen.app == 0 and seen.background > 0 and seen.clients >= 1
    assert seen.counted == seen.background + seen.clients


def test_a_bare_create_engine_is_bounded_at_15(lab: labkit.Lab, harness) -> None:
    bare = harness.bare_engine(lab.pg)
    assert (bare.pool, bare.asked, bare.answered, bare.opened) == ("QueuePool", 20, 20, 15)


def test_only_pool_recycle_replaces_connections_by_age_once_per_period(lab: labkit.Lab, harness) -> None:
    run = asyncio.run(harness.reconnects(lab.pg))
    hourly, two_hourly, report = harness.RECYCLED
    assert run.recycle == {hourly: 1, two_hourly: 2, report: -1}
    assert run.reconnects(report) == 0  # pre-ping alone never replaces a live connection
    # 1 and 2-3 on an idle machine; a loop that falls behind its schedule can add one to either
    assert 1 <= run.reconnects(two_hourly) < run.reconnects(hourly) <= 4
    assert lab.pg.connections(harness.NOTEBOOK, wait_for=0) == 0


def test_the_production_grade_pool_is_the_default_pool_plus_the_ping(lab: labkit.Lab, harness) -> None:
    settings = harness.pool_settings(lab.pg)
    assert settings.differing() == ["pool_pre_ping"]
    assert settings.rows["create_engine(url)"]["pool_size"] == "5"
    assert settings.table().rows[1] == ("pool_size", "5", "5")


def test_alter_system_max_connections_applies_only_at_a_restart_and_is_put_back(lab: labkit.Lab, harness) -> None:
    before = lab.pg.query("show max_connections")[0][0]
    limit = harness.alter_max_connections(lab.pg, (int(before), int(before) + 50))
    assert limit.context == "postmaster" and limit.before == int(before)
    assert limit.after == {int(before): (int(before), False), int(before) + 50: (int(before), True)}
    assert lab.pg.query("select setting, pending_restart from pg_settings where name = 'max_connections'") == [
        (before, False)
    ]


def test_command_timeout_ends_the_statement_on_the_server_too(lab: labkit.Lab, harness) -> None:
    ended = asyncio.run(harness.command_timeout_on_server(lab.pg))
    assert (ended.client_saw, ended.invalidated, ended.running_after) == ("TimeoutError", True, False)
    assert lab.pg.connections(harness.NOTEBOOK, wait_for=0) == 0
