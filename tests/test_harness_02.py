"""Notebook 02's measurement module (scenarios/02-lifespan-and-shutdown/harness.py) measures what the text says.

Each function is run on the broken project and on the reference fix, in work dirs of the test's own;
the numbers the notebook's text relies on are states and counts, never timings.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from labkit import Lab, Postgres

pytestmark = pytest.mark.integration  # real PostgreSQL, real uvicorn, child processes

SCENARIO = "02-lifespan-and-shutdown"


@pytest.fixture
def broken(fresh_pg: Postgres, tmp_path: Path) -> Iterator[Lab]:
    with Lab(SCENARIO, fresh_pg, tmp_path / SCENARIO) as lab:
        yield lab


def test_a_process_that_ends_leaves_no_connection_killed_or_stopped(broken: Lab) -> None:
    ended = broken.harness.stop_or_kill(broken, runs=2, slots=4)
    assert [row[1] for row in ended.rows] == ["SIGKILL", "Ctrl+C"]
    assert ended.served == [200, 200] and ended.left == [0, 0]
    assert [row[3] for row in ended.rows] == [-9, 0] and ended.warned_in_logs == 0
    assert broken.pg is not None and broken.pg.query("show max_connections")[0][0] == "100"  # put back


def test_one_process_piles_up_connections_until_refused_and_the_fix_holds_none(broken: Lab) -> None:
    leak = broken.harness.lifespans_in_one_process(broken, cycles=6, slots=4)  # admin 1, 3 for the app
    assert leak.left[:3] == [1, 2, 3] and "too many clients" in leak.refused
    assert any("on_event is deprecated" in line for line in leak.deprecations)
    assert "refused: sorry, too many clients already" in str(leak)
    for step in (1, 2, 3):
        broken.apply(step)
    fixed = broken.harness.lifespans_in_one_process(broken, cycles=6, slots=4)
    assert fixed.left == [0] * 6 and not fixed.refused and not fixed.deprecations


def test_only_an_awaited_dispose_closes_the_pool(broken: Lab) -> None:
    halves = broken.harness.shutdown_halves(broken, cycles=3)
    left = {name: c.left for name, c in halves.runs.items()}
    assert left == {"none": [1, 2, 3], "gc": [1, 1, 1], "dispose": [1, 2, 3], "await-dispose": [0, 0, 0]}
    assert halves.runs["dispose"].warnings == ["RuntimeWarning: coroutine 'AsyncEngine.dispose' was never awaited"]
    assert not halves.runs["await-dispose"].warnings


def test_without_its_database_the_broken_app_serves_and_the_fixed_one_exits(broken: Lab) -> None:
    dead = broken.harness.start_without_database(broken)
    assert (dead.exit_code, dead.health, dead.items, dead.items_after) == (None, 200, 500, 200)
    assert "database unavailable" in dead.error
    broken.apply(1)
    broken.apply(2)
    failed = broken.harness.start_without_database(broken)
    assert failed.exit_code not in (None, 0) and "startup failed" in failed.error
    assert broken.pg is not None and broken.pg.query("select 1") == [(1,)]  # PostgreSQL is back


def test_split_at_leaks_the_password_and_the_parser_does_not(broken: Lab) -> None:
    forms = broken.harness.password_forms(broken)
    assert (
        forms.by_form("user typed")[1] == "yes" and "correct%40horse-battery-staple" in forms.by_form("user typed")[2]
    )
    assert "horse-battery-staple" not in forms.by_form("user typed")[3]
    leaked = broken.harness.served_with_user_typed_url(broken)
    assert leaked.status == 200 and any("correct%40horse-battery-staple" in line for line in leaked.lines)
    for step in (1, 2, 3):
        broken.apply(step)
    masked = broken.harness.served_with_user_typed_url(broken)
    assert masked.status == 200 and "horse-battery-staple" not in " ".join(masked.lines)
    assert any("closed" in line for line in masked.lines)
    assert broken.pg is not None and not broken.pg.query("select 1 from pg_roles where rolname = 'svc@corp'")


def test_init_db_twice_keeps_the_dropped_engines_connection_until_collected(broken: Lab) -> None:
    twice = broken.harness.init_db_twice(broken)
    assert twice.counts("sync") == [1, 2, 1] and twice.counts("async") == [1, 2, 1]
    assert twice.second_works


def test_the_shutdown_code_runs_on_sigint_and_sigterm_not_on_sigkill_and_nothing_is_left(broken: Lab) -> None:
    ended = broken.harness.ended_by_signal(broken)  # the broken app has no shutdown code at all
    assert ended.ran == {"SIGINT": False, "SIGTERM": False, "SIGKILL": False} and ended.left == [0, 0, 0]
    for step in (1, 2, 3):
        broken.apply(step)
    ended = broken.harness.ended_by_signal(broken)
    assert ended.ran == {"SIGINT": True, "SIGTERM": True, "SIGKILL": False} and ended.left == [0, 0, 0]
    assert [row[1] for row in ended.rows] == [1, 1, 1]


def test_no_request_is_answered_before_the_lifespans_startup_finished(broken: Lab) -> None:
    early = broken.harness.request_during_startup(broken)
    assert [row[0] for row in early.rows] == ["uvicorn slow_startup:app", "uvicorn slow_startup:app --reload"]
    assert early.answered_early == [False, False] and early.after == [200, 200] and early.in_order == [True, True]
