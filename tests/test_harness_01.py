"""Scenario 01's measurements (notebooks/scenarios/01-import-time-engine/harness.py) say what the notebooks show.

Each is run on the broken project and on the reference steps, against a local PostgreSQL of the
tests' own: the verdicts are states and counts, never timings.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from labkit import Lab, Postgres

pytestmark = pytest.mark.integration  # real PostgreSQL, real uvicorn, child processes

SCENARIO = "01-import-time-engine"


def project(pg: Postgres, tmp_path: Path, steps: int) -> Lab:
    """The broken project in a folder of its own, with the first ``steps`` reference steps applied."""
    lab = Lab(SCENARIO, pg, tmp_path / f"after-{steps}", reference=True)
    for step in range(1, steps + 1):
        lab.apply(step)
    return lab


@pytest.fixture(scope="module")
def broken(local_pg: Postgres, tmp_path_factory: pytest.TempPathFactory) -> Lab:
    return project(local_pg, tmp_path_factory.mktemp("h01"), 0)


@pytest.fixture(scope="module")
def fixed(local_pg: Postgres, tmp_path_factory: pytest.TempPathFactory) -> Lab:
    return project(local_pg, tmp_path_factory.mktemp("h01"), 3)


def test_the_probe_sees_the_import_connect_and_create_one_table(broken: Lab) -> None:
    probe = broken.harness.import_probe(broken, "t_broken")
    assert [count for _, count, _ in probe.moments] == [0, 1, 1, 1]
    assert any(sql.startswith("CREATE TABLE users") for sql in probe.sql("after import"))
    assert probe.tables == ("users",)
    shown = str(probe)
    assert "after shutdown" in shown and "tables in the database now: ['users']" in shown


def test_the_probe_sees_a_quiet_import_and_a_closed_pool_once_fixed(fixed: Lab) -> None:
    probe = fixed.harness.import_probe(fixed, "t_fixed")
    assert [count for _, count, _ in probe.moments] == [0, 0, 1, 0]
    assert probe.sql("after import") == ()
    assert probe.tables == ("notes", "users")


def test_step_one_alone_leaves_the_engine_open_after_shutdown(local_pg: Postgres, tmp_path: Path) -> None:
    lab = project(local_pg, tmp_path, 1)
    probe = lab.harness.import_probe(lab, "t_step1")
    assert (probe.connections("after import"), probe.connections("after shutdown")) == (0, 1)


def test_imports_without_a_server_or_a_url(broken: Lab, fixed: Lab) -> None:
    before = broken.harness.imports(broken)
    assert before["app.db"].ok
    assert before.get("app.main", "no server at DATABASE_URL").error.startswith("sqlalchemy.exc.OperationalError")
    assert "port PORT" in before.get("app.main", "no server at DATABASE_URL").error  # the port is masked
    assert "ValidationError" in before.get("app.main", "no DATABASE_URL").error
    after = fixed.harness.imports(fixed)
    assert all(
        run.ok and run.paths == ("/health", "/notes", "/users") for run in after.runs if run.module == "app.main"
    )


def test_users_and_notes_over_http(broken: Lab, fixed: Lab) -> None:
    before = broken.harness.users_and_notes(broken, "t_served_broken")
    assert (before.tables, before.users, before.notes) == (("users",), 201, 500)
    assert "UndefinedTable" in before.error and before.started.endswith("no error")
    after = fixed.harness.users_and_notes(fixed, "t_served_fixed")
    assert (after.tables, after.users, after.notes, after.error) == (("notes", "users"), 201, 201, "(no error)")


def test_simultaneous_starts_give_only_started_or_duplicates_and_none_fail_with_the_lock(
    local_pg: Postgres, tmp_path: Path, broken: Lab
) -> None:
    raced = broken.harness.start_together(broken, rounds=4)
    assert len(raced.rounds) == 4 and all(len(outcome) == 2 for outcome in raced.rounds)
    assert all("already exists" in e or "duplicate key value" in e for e in raced.errors), raced
    locked = project(local_pg, tmp_path, 4)
    assert locked.harness.start_together(locked, rounds=4).failed == 0


def test_the_demo_databases_are_named_apart(local_pg: Postgres, broken: Lab) -> None:
    url = broken.harness.empty_database(broken, "t_named")
    assert "/demo01_t_named" in url
    assert broken.harness.tables(url) == []


def test_after_the_fix_a_model_in_an_imported_module_gets_its_table_the_others_nothing(fixed: Lab) -> None:
    lab = fixed
    added = lab.harness.new_models(lab, "t_newmodels")
    assert added.tables_before == ("notes", "users") and added.started.endswith("no error")
    assert added.tables_after == ("notes", "tags", "users") and "email" not in added.user_columns
    assert "labels.py" not in [p.name for p in (lab.workdir / "app").iterdir()]
