"""Notebook 03's measurement module (scenarios/03-reload-crashes/harness.py) measures what the text says.

Run on the broken project and after each reference step, in a work dir of the test's own; the
numbers compared are states and counts (exit codes, start-up runs per process, connections held).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from labkit import Lab, Postgres

pytestmark = pytest.mark.integration  # real PostgreSQL, real uvicorn, child processes

SCENARIO = "03-reload-crashes"


@pytest.fixture
def lab(fresh_pg: Postgres, tmp_path: Path) -> Iterator[Lab]:
    with Lab(SCENARIO, fresh_pg, tmp_path / SCENARIO) as made:
        yield made


def test_refused_then_crashed_with_the_bootstrapping_error(lab: Lab) -> None:
    refused = lab.harness.run_dev_server(lab)
    assert refused.exit_code == 3 and "import string" in " ".join(refused.message)
    assert [(process, module) for _, process, module in refused.starts] == [("MainProcess", "__main__")]
    lab.apply(1)
    crashed = lab.harness.run_dev_server(lab)
    assert "bootstrapping phase" in " ".join(crashed.message) and crashed.workers_started == 0
    assert "multiprocessing/spawn.py: _check_not_importing_main" in crashed.frames
    assert [(p, m) for _, p, m in crashed.starts] == [("MainProcess", "__main__"), ("SpawnProcess-1", "__mp_main__")]
    assert "SpawnProcess-1" in str(crashed)


def test_guarded_runs_twice_per_worker_and_in_the_reloader_and_the_lifespan_once(lab: Lab) -> None:
    lab.apply(1)
    lab.apply(2)
    guarded = lab.harness.reloads(lab, 1)
    assert [row[1:] for row in guarded.rows] == [(3, 2, 1, 1), (5, 2, 1, 1)]
    assert guarded.runs_per_worker == [2, 2] and guarded.runs_in_reloader == 1 and guarded.bare_import_runs == 1
    cli = lab.harness.reloads(lab, 1, cli=True)
    assert cli.runs_per_worker == [1, 1] and cli.runs_in_reloader == 0 and [row[3] for row in cli.rows] == [0, 0]
    lab.apply(3)
    fixed = lab.harness.reloads(lab, 1)
    assert [row[1:] for row in fixed.rows] == [(1, 1, 0, 1), (2, 1, 0, 1)]
    assert fixed.runs_per_worker == [1, 1] and fixed.runs_in_reloader == 0 and fixed.bare_import_runs == 0
    assert fixed.disposed == 1 and fixed.left_after_stop == 0


def test_the_doctor_finds_the_lessons_on_the_broken_project_only(lab: Lab) -> None:
    for step in (1, 2, 3):
        lab.apply(step)
    table = lab.harness.doctor(lab.scenario.broken, lab)
    rules = [row[1].split()[-1] for row in table.rows]
    assert rules == [
        "engine-at-import",
        "create-all-at-import",
        "reload-with-app-object",
        "reload-without-main-guard",
        "finding)",
    ]


def test_the_reloads_workers_never_overlap(lab: Lab) -> None:
    lab.apply(1)
    lab.apply(2)
    overlap = lab.harness.reload_overlap(lab, 2)
    assert overlap.new_workers == 2 and overlap.samples > 2
    assert overlap.most_workers_at_once == 1 and overlap.overlapping_saves == 0
    assert "alive together: 0" in str(overlap)


def test_report_003s_on_event_app_closes_its_engine_and_connects_again_after_a_reload(lab: Lab) -> None:
    found = lab.harness.reload_reconnects(lab)  # its own module: the project's step does not matter
    assert found.rows[:2] == [("started", 1, 1, 0, 200), ("after a save", 2, 2, 1, 200)]
    assert found.seen == [1, 1, 0]
