"""Scenario 12's measurement module (notebooks/scenarios/12-capstone/harness.py), against a real PostgreSQL.

Each call notebook 12 makes is run here on the broken project and on the reference, and must say
what the notebook's text says it does. The drill restarts and stops the server: a server of its own.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import labkit
from labkit import Postgres

pytestmark = pytest.mark.integration  # real PostgreSQL, real uvicorn

SCENARIO = "12-capstone"


@pytest.fixture
def lab(fresh_pg: Postgres, tmp_path: Path) -> Iterator[labkit.Lab]:
    """A reference copy of the broken project in a temporary folder, on a server the drill may restart."""
    with labkit.Lab(SCENARIO, fresh_pg, tmp_path / SCENARIO, reference=True) as made:
        yield made


def test_the_drill_shows_each_broken_pattern_and_none_once_fixed(lab: labkit.Lab) -> None:
    harness = lab.harness
    share = harness.server(lab.pg)
    assert share.share == (share.max_connections - share.reserved - harness.HEADROOM) // harness.PROCESSES
    assert f"= {share.share} connections per process" in repr(share)

    broken = harness.drill(lab, "broken")
    assert broken.timings == 2 and broken.pool_limit == 20
    assert broken.before.outcomes == {"200": harness.BURST} and broken.peak > share.share
    assert broken.errors_after >= 1 and set(broken.after.outcomes) == {"200", "500"}
    assert all(s.ok for s in broken.after.samples[-30:])  # then it recovered
    assert broken.health == {"/health": "200", "/health/live": "404", "/health/ready": "404"} and broken.unhealthy_body
    assert (broken.exit_code, broken.left, broken.baseline) == (0, 0, 0)

    for _ in lab.scenario.steps:
        lab.apply()
    fixed = harness.drill(lab, "fixed")
    assert fixed.timings == 1 and fixed.pool_limit == share.share and fixed.peak <= fixed.pool_limit
    assert fixed.before.outcomes == {"200": harness.BURST} and fixed.after.outcomes == {"200": harness.AFTER}
    assert fixed.health["/health/live"] == "200" and fixed.health["/health/ready"] == "503"
    assert (fixed.exit_code, fixed.left) == (0, 0)

    table = harness.compare(broken, fixed)
    assert table.header == ("step of the drill", "broken", "fixed") and len(table.rows) == len(broken.table().rows)
    figure = harness.plot(broken, fixed)
    assert [ax.get_title() for ax in figure.axes][:2] == [
        "broken (orange: PostgreSQL restart)",
        "fixed (orange: PostgreSQL restart)",
    ]


def test_in_process_the_broken_app_keeps_a_connection_and_its_suite_errors(lab: labkit.Lab) -> None:
    harness = lab.harness
    broken = harness.in_process(lab)
    assert (broken.status, broken.during, broken.after) == ("200", 1, 1)
    assert broken.suite_exit != 0 and broken.suite.passed == 1 and broken.suite.counts.get("errors") == 4
    said = str(broken)
    assert "Event loop is closed" in said and "another operation is in progress" in said

    for _ in lab.scenario.steps:
        lab.apply()
    fixed = harness.in_process(lab)
    assert (fixed.status, fixed.during, fixed.after) == ("200", 1, 0)
    assert fixed.suite_exit == 0 and fixed.suite.passed == 10 and fixed.suite.ok


def test_the_doctor_names_five_rules_on_the_broken_project_and_none_on_the_reference(lab: labkit.Lab) -> None:
    harness = lab.harness
    broken = harness.doctor(lab)
    assert broken.exit_code == 1 and broken.rules == [
        "duplicate-middleware",
        "engine-at-import",
        "hardcoded-db-password",
        "health-check-always-ok",
        "on-event",
    ]
    assert "learn: notebooks/01-import-time-engine.ipynb" in repr(broken)
    for _ in lab.scenario.steps:
        lab.apply()
    fixed = harness.doctor(lab, "--app", "app.main:app")
    assert fixed.exit_code == 0 and fixed.rules == [] and "lifespan: yes" in fixed.report


def test_the_sweep_finds_each_capstone_rule_in_an_earlier_scenario_and_nothing_once_fixed() -> None:
    harness = labkit.Scenario.load(SCENARIO).module("harness")
    found = harness.sweep()
    assert set(found.broken) == set(labkit.scenarios()) and found.broken["12-capstone"] == [
        "duplicate-middleware",
        "engine-at-import",
        "hardcoded-db-password",
        "health-check-always-ok",
        "on-event",
    ]
    assert all(found.homes(rule) for rule in found.broken["12-capstone"])
    assert found.homes("on-event") == ["02-lifespan-and-shutdown"]
    assert all(rules == [] for rules in found.fixed.values())
    assert len(found.table().rows) == len(found.broken)
