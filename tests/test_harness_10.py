"""Scenario 10's measurement module (notebooks/scenarios/10-.../harness.py), against a real PostgreSQL.

Each call notebook 10 makes is run here on the broken project and on the reference steps, and must
say what the notebook's text says it does.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import labkit
from labkit import Postgres

pytestmark = pytest.mark.integration  # real PostgreSQL, real uvicorn

SCENARIO = "10-one-app-one-database"


@pytest.fixture
def lab(local_pg: Postgres, tmp_path: Path) -> Iterator[labkit.Lab]:
    """A reference copy of the broken project in a temporary folder."""
    with labkit.Lab(SCENARIO, local_pg, tmp_path / SCENARIO, reference=True) as made:
        yield made


@pytest.fixture
def harness(lab: labkit.Lab):
    return lab.harness


def test_files_lists_every_module_with_its_docstring(lab: labkit.Lab, harness) -> None:
    table = harness.files(lab)
    files = {row[0]: row[2] for row in table.rows}
    assert len(files) == 13 and files["app/main.py"] == "The shop API: the production entry point."


def test_no_entry_point_serves_every_route_until_one_is_left(lab: labkit.Lab, harness) -> None:
    entries = harness.entry_points(lab)
    assert [p.module for p in entries.points] == [
        "app.main",
        "app.main_incremental",
        "app.main_minimal",
        "app.main_simple",
    ]
    assert entries.serving_every_route == []
    assert entries["app.main"].routes == ("/health", "/orders", "/users") and entries.reports_status == 404
    assert "router reports not loaded: cannot import name 'get_db'" in entries["app.main"].said
    assert entries["app.main_minimal"].exit_code not in (None, 0)
    crashed = entries["app.main_minimal"].said
    assert "circular import" in crashed and str(lab.workdir) not in crashed
    assert entries["app.main_simple"].routes == ("/health", "/users")
    lab.apply(1)
    lab.apply(2)
    fixed = harness.entry_points(lab)
    assert fixed.serving_every_route == ["app.main"] and len(fixed.points) == 1 and fixed.reports_status == 200


def test_two_database_modules_keep_two_connections_and_one_keeps_one(lab: labkit.Lab, harness) -> None:
    broken = harness.one_at_a_time(lab, ("/users", "/orders", "/users", "/orders"))
    assert broken.statuses == [200] * 4 and broken.connections == [1, 2, 2, 2] and broken.after_stop == 0
    lab.apply(1)
    lab.apply(2)
    fixed = harness.one_at_a_time(lab, ("/users", "/orders", "/reports/daily") * 2)
    assert fixed.statuses == [200] * 6 and fixed.connections == [1] * 6 and fixed.after_stop == 0
    assert fixed.table().header[2] == "the app's connections on the server"


def test_the_probe_names_each_stretch_problem_until_the_reference_fixes_it(lab: labkit.Lab, harness) -> None:
    broken = harness.probe(lab)
    assert sorted(broken.failures) == ["app.logger", "app.main_minimal", "app.routers.reports"]
    assert "(most likely due to a circular import) (app/logger.py)" in broken.failures["app.logger"]
    assert broken.raw["apps"] == ["app.main", "app.main_incremental", "app.main_simple"]
    assert broken.broken_router == "starts anyway, serving /health /orders /users"
    assert broken.no_url == "NameError: name '_get_secret' is not defined"
    assert broken.factory == "missing: app.main has no create_app"
    assert [row[0] for row in broken.table().rows] == ["1", "5", "5", "5", "3", "4", "1, 7"]
    lab.apply(1)
    one_app = harness.probe(lab)
    assert one_app.raw["apps"] == ["app.main"] and one_app.factory == "create_app() takes no settings"
    for _ in range(7):
        lab.apply()
    fixed = harness.probe(lab)
    assert fixed.failures == {} and fixed.raw["apps"] == ["app.main"]
    assert fixed.broken_router.startswith("stops: ImportError")
    assert fixed.no_url.startswith("ValidationError") and "DATABASE_URL" in fixed.no_url
    assert fixed.factory == "GET /docs 200 for development settings, 404 for production ones"


def test_the_import_graph_has_the_config_logger_cycle_until_step_5(lab: labkit.Lab, harness) -> None:
    broken = harness.imports(lab)
    assert broken.cycle == ["app.config", "app.logger", "app.config"]
    assert broken.table().rows[-1] == ("cycle", "app.config -> app.logger -> app.config")
    for _ in range(5):
        lab.apply()
    fixed = harness.imports(lab)
    assert fixed.cycle == [] and fixed.graph["app.logger"] == set()


def test_each_environment_variable_gives_half_production_until_one_switch(lab: labkit.Lab, harness) -> None:
    broken = harness.environments(lab, "nothing", "ENVIRONMENT=production", "PRODUCTION=true")
    assert broken.rows == (
        ("nothing", "200", "*", "yes"),
        ("ENVIRONMENT=production", "200", "(none)", "no"),
        ("PRODUCTION=true", "404", "*", "yes"),
    )
    for _ in range(6):
        lab.apply()
    fixed = harness.environments(lab, "ENVIRONMENT=production", "PRODUCTION=true")
    assert fixed["ENVIRONMENT=production"] == ("404", "(none)", "no")
    assert fixed["PRODUCTION=true"] == ("200", "*", "yes")
