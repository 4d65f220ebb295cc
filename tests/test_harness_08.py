"""Scenario 08's measurement module (notebooks/scenarios/08-.../harness.py), against a real PostgreSQL.

Each call notebook 08 makes is run here on the broken project and on the reference steps, and must
say what the notebook's text says it does. Counts and outcomes only: never a timing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

import labkit
from labkit import Postgres

pytestmark = pytest.mark.integration  # real PostgreSQL, real uvicorn

SCENARIO = "08-health-and-outages"


@pytest.fixture
def lab(local_pg: Postgres, tmp_path: Path) -> Iterator[labkit.Lab]:
    """A reference copy of the broken project in a temporary folder."""
    with labkit.Lab(SCENARIO, local_pg, tmp_path / SCENARIO, reference=True) as made:
        yield made


@pytest.fixture
def harness(lab: labkit.Lab):
    return lab.harness


def test_the_drill_shows_200_probes_during_the_outage_then_503_once_fixed(lab: labkit.Lab, harness) -> None:
    broken = harness.drill(lab, "broken")
    assert broken.same_process and not broken.users_before.keys() - {"200"}
    assert broken.users_during["500"] >= 10 and set(broken.probes_during("/health")) == {"200"}
    assert set(broken.probed("/health")) == {"200"}
    assert set(broken.users_after) == {"200"} and broken.users_after["200"] >= 20
    assert [row[0] for row in broken.table().rows] == ["before the outage", "database down", "after recovery"]
    for _ in lab.scenario.steps:
        lab.apply()
    fixed = harness.drill(lab, "fixed", ("/health/live", "/health/ready"))
    assert fixed.same_process and set(fixed.users_after) == {"200"}
    assert fixed.users_during["503"] >= 10 and fixed.users_during["503"] > fixed.users_during["500"]
    assert set(fixed.probed("/health/live")) == {"200"}
    assert set(fixed.probes_during("/health/ready")) == {"503"}
    assert set(fixed.probes_between("/health/ready", fixed.recovered_at + 0.5, float("inf"))) == {"200"}
    figure = harness.plot(broken, fixed)
    assert len(figure.axes) == 4
    assert lab.pg.connections(harness.APP) == 0


def test_a_silent_database_hangs_the_broken_check_and_the_deadline_answers_503(lab: labkit.Lab, harness) -> None:
    broken = harness.silent(lab)
    assert broken.before["/health"][0] == "200" and broken.after["/health"][0] == "200"
    assert broken.during["/health"][0] == "ReadTimeout"
    for _ in range(3):
        lab.apply()
    fixed = harness.silent(lab, ("/health/ready", "/health/live"))
    assert fixed.during["/health/ready"][0] == "503" and fixed.during["/health/live"][0] == "200"
    assert fixed.after["/health/ready"][0] == "200"
    assert [row[0] for row in fixed.table().rows] == ["GET /health/ready", "GET /health/live"]


def test_wait_for_overshoots_its_deadline_and_the_task_does_not(local_pg: Postgres, harness) -> None:
    took = asyncio.run(harness.deadlines(local_pg, deadline=0.3))
    assert took.wait_for > took.deadline + 1.0  # SQLAlchemy's polite close of the cancelled connection
    assert took.task < took.wait_for


def test_result_scalar_changes_nothing_the_health_check_reports(lab: labkit.Lab, harness) -> None:
    checked = harness.scalar_check(lab)
    assert checked.answers == {
        "up": {"/health": "200, healthy", "/health/scalar": "200, healthy"},
        "stopped": {"/health": "200, unhealthy", "/health/scalar": "200, unhealthy"},
    }
    assert checked.same_answers and checked.scalars == {"up": (1,), "stopped": ()}
    assert [row[0] for row in checked.table().rows] == ["up", "stopped"]
