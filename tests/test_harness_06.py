"""Scenario 06's measurements (notebooks/scenarios/06-testing-async-backends/harness.py) say what the notebooks show.

Each is run on the broken project and on the reference steps, against a local PostgreSQL of the
tests' own: the verdicts are states and counts, never timings.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from labkit import Lab, Postgres

pytestmark = pytest.mark.integration  # real PostgreSQL, child processes running pytest

SCENARIO = "06-testing-async-backends"


def project(pg: Postgres, tmp_path: Path, steps: int) -> Lab:
    """The broken project in a folder of its own, with the first ``steps`` reference steps applied."""
    lab = Lab(SCENARIO, pg, tmp_path / f"after-{steps}", reference=True)
    for step in range(1, steps + 1):
        lab.apply(step)
    return lab


@pytest.fixture(scope="module")
def broken(local_pg: Postgres, tmp_path_factory: pytest.TempPathFactory) -> Lab:
    return project(local_pg, tmp_path_factory.mktemp("h06"), 0)


def test_the_parser_reads_runs_and_tidies_their_failure_lines(broken: Lab) -> None:
    output = "\n".join(
        [
            "--- run 1 of 2",
            "ERROR tests/suite_bookmarks.py::test_a - RuntimeError: Task <Task pending name='Task-8' coro=<x()> "
            "cb=[y()]> got Future <Future pending cb=[BaseProtocol._on_waiter_completed()]> "
            "attached to a different loop",
            "1 passed, 1 warning, 1 error in 0.52s",
            "RUN 1: exit 1, http requests 3, without a started app 2, lifespan startups 1",
            "--- run 2 of 2",
            "2 passed in 0.10s",
            "RUN 2: exit 0, http requests 4, without a started app 0, lifespan startups 2",
        ]
    )
    first, second = broken.harness.parse(output)
    assert (first.verdict, first.exit) == ("1 passed, 1 errors", 1)
    assert (first.requests, first.unstarted, first.startups) == (3, 2, 1)
    assert first.pytest.failures == (
        "ERROR test_a - RuntimeError: Task <Task pending name='Task-N' ...> "
        "got Future ... attached to a different loop",
    )
    assert second.pytest.ok and second.verdict == "2 passed" and second.startups == 2


def test_the_broken_suite_fails_on_one_connection_carried_across_loops(broken: Lab) -> None:
    run = broken.harness.suite(broken)
    (only,) = run.runs
    assert (only.pytest.passed, only.pytest.counts.get("errors")) == (1, 6)
    assert "attached to a different loop" in only.pytest.failures[0]
    assert all("another operation is in progress" in line for line in only.pytest.failures[1:])
    assert run.opened == 1
    assert only.unstarted == only.requests > 0 and only.startups == 0
    assert "connections opened to the suite's database: 1" in str(run)


def test_on_one_loop_the_testclient_fails_then_the_leftovers_fail_run_two(broken: Lab) -> None:
    run = broken.harness.suite(broken, 2, one_loop=True)
    first, second = run.runs
    assert (first.pytest.passed, first.pytest.counts.get("failed")) == (6, 1)
    assert "BlockingPortal" in first.pytest.failures[0] and "different loop" in first.pytest.failures[0]
    assert not second.pytest.ok and any("409 == 201" in line for line in second.pytest.failures)
    assert run.rows_left > 0


def test_only_the_clients_that_run_the_lifespan_notice_the_missing_database(broken: Lab) -> None:
    clients = broken.harness.clients_without_database(broken)
    assert clients.outcome("AsyncClient(transport=ASGITransport(app))") == "GET /health -> 200"
    assert clients.outcome("TestClient(app)") == "GET /health -> 200"
    assert [row[1:] for row in clients.rows[2:]] == [("ConnectionRefusedError", "the app's lifespan")] * 2


def test_without_a_pool_the_suite_passes_and_the_file_is_put_back(broken: Lab) -> None:
    before = (broken.workdir / "app" / "db.py").read_text()
    run = broken.harness.suite_without_pool(broken)
    assert run.all_passed and run.runs[0].pytest.passed == 7
    assert run.opened > 1 and run.runs[0].unstarted > 0
    assert (broken.workdir / "app" / "db.py").read_text() == before


def test_the_fixed_suite_passes_twice_on_started_apps_and_leaves_nothing(local_pg: Postgres, tmp_path: Path) -> None:
    fixed = project(local_pg, tmp_path, 5)
    run = fixed.harness.suite(fixed, 2)
    assert run.all_passed and [r.pytest.passed for r in run.runs] == [7, 7]
    assert all(r.unstarted == 0 and r.startups == 7 for r in run.runs)
    assert run.rows_left == 0


def test_after_the_import_only_the_dependency_override_moves_a_test_to_its_own_database(broken: Lab) -> None:
    moved = broken.harness.database_override(broken)
    assert (moved.at_import, moved.after_change) == ("the app's database", "the app's database")
    assert moved.status == 201 and moved.row_in == ("the test's database",)
    assert moved.rows["the app's database"] == 0 and moved.lifespan_table_in_app_database
    assert "engine still on the app's database" in str(moved)


def test_event_loop_is_closed_comes_from_connections_that_outlive_their_loop(broken: Lab) -> None:
    cases = broken.harness.loop_closed(broken)
    assert cases.said_closed() == ("the pool disposed on a second loop", "a connection collected after its loop closed")
    assert cases.raised("async code called from sync code") == "nothing (RuntimeWarning: never awaited)"
    assert cases.raised("the asyncpg URL in a sync engine") == "MissingGreenlet"
    assert cases.raised("a pooled connection used again") == "RuntimeError: attached to a different loop"
