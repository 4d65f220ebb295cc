"""Scenario 09's measurement module (notebooks/scenarios/09-.../harness.py), against a real PostgreSQL.

Each call notebook 09 makes is run here on the broken project and on the reference steps, and
must say what the notebook's text says it does.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import labkit
from labkit import Postgres

pytestmark = pytest.mark.integration  # real PostgreSQL, real uvicorn

SCENARIO = "09-middleware-twice-and-order"
OWN_BROKEN = [
    "UsageMiddleware",
    "UsageMiddleware",
    "RateLimitMiddleware",
    "CORSMiddleware",
    "SecurityHeadersMiddleware",
]
OWN_FIXED = [
    "SecurityHeadersMiddleware",
    "CORSMiddleware",
    "RateLimitMiddleware",
    "UsageMiddleware",
    "ErrorResponseMiddleware",
]


@pytest.fixture
def lab(local_pg: Postgres, tmp_path: Path) -> Iterator[labkit.Lab]:
    """A reference copy of the broken project in a temporary folder."""
    with labkit.Lab(SCENARIO, local_pg, tmp_path / SCENARIO, reference=True) as made:
        yield made


def test_the_stack_runs_the_last_added_first_until_it_is_one_list(lab: labkit.Lab) -> None:
    harness = lab.harness
    broken = harness.stack(lab)
    assert list(broken.listed) == OWN_BROKEN and broken.own == OWN_BROKEN
    assert broken.chain[0] == "ServerErrorMiddleware" and "ExceptionMiddleware" in broken.chain[len(OWN_BROKEN) :]
    rows = broken.table().rows
    assert rows[-1] == ("(the routes)", "") and ("UsageMiddleware", "user_middleware[1]") in rows
    assert rows[0][0].startswith("ServerErrorMiddleware") and rows[0][1] == harness.FRAMEWORK
    for _ in range(5):
        lab.apply()
    fixed = harness.stack(lab)
    assert fixed.own == OWN_FIXED and fixed.chain[0] == "ServerErrorMiddleware"


def test_the_catalog_measurements_on_the_broken_app_and_the_fixed_one(lab: labkit.Lab) -> None:
    harness = lab.harness
    app = harness.Catalog(lab)
    broken = app.measure()
    one, flood, responses, cors = broken
    assert (one.status, one.writes, one.timing) == (200, 2, ("usage", "usage"))
    assert (flood.first, flood.rest, flood.writes_first, flood.writes_rest) == ({200: 5}, {429: 10}, 10, 20)
    assert [responses.short(r) for r in responses.without_headers] == ["429", "preflight", "500"]
    assert [responses.short(r) for r in responses.unreadable] == ["429", "500"]
    assert [responses.status(r) for r in responses.rows] == [200, 404, 429, 200, 500]
    assert "value out of int32 range" in responses.logged and responses.logged.startswith("app/main.py:")
    assert cors.other_site_granted and all(row[2] == "true" for row in cors.rows.values())
    assert all(row[0] == 200 for row in cors.rows.values())
    assert cors.other_site == [(harness.OTHER_SITE, "true")] * 3

    lab.apply()  # the duplicate goes
    app = app.restart()
    one, flood = app.one_request(), app.flood()
    assert (one.writes, one.timing) == (1, ("usage",))
    assert (flood.writes_first, flood.writes_rest) == (5, 10)  # the limiter still comes after the write

    lab.apply()  # one list, outermost first
    app = app.restart()
    flood, responses = app.flood(), app.responses()
    assert (flood.rest, flood.writes_first, flood.writes_rest) == ({429: 10}, 5, 0)
    assert [responses.short(r) for r in responses.without_headers] == ["500"]

    for _ in range(3):
        lab.apply()
    app = app.restart()
    fixed = app.measure()
    one, flood, responses, cors = fixed
    assert responses.without_headers == [] and responses.unreadable == []
    assert "value out of int32 range" in responses.logged  # the error still reaches the log
    assert not cors.other_site_granted and cors.other_site == [("-", "true")] * 3
    assert cors.granted(f"GET from the frontend ({harness.FRONTEND})") == harness.FRONTEND
    assert cors.rows[f"OPTIONS preflight from {harness.OTHER_SITE}"][0] == 400
    table = harness.summary(broken, fixed)
    assert [row[1:] for row in table.rows] == [
        ("2", "1"),
        ("20", "0"),
        ("429, preflight, 500", "none"),
        ("429, 500", "none"),
        ("yes", "no"),
    ]
    app.stop()
    assert not app.srv.alive


def test_a_flag_that_adds_middleware_at_startup_stops_the_app(lab: labkit.Lab) -> None:
    harness = lab.harness
    broken = harness.start(lab, REQUEST_IDS="1")
    assert broken.exit_code == 3 and not broken.request_id
    assert "RuntimeError: Cannot add middleware after an application has started" in broken.lines
    assert any("add_middleware(RequestIdMiddleware)" in line for line in broken.lines)
    assert harness.start(lab).exit_code is None  # without the flag it serves
    for _ in range(3):
        lab.apply()
    fixed = harness.start(lab, REQUEST_IDS="1")
    assert fixed.exit_code is None and fixed.request_id
    assert fixed.table().rows == (("served", "True"),)


def test_the_sources_shown_come_from_the_project(lab: labkit.Lab) -> None:
    harness = lab.harness
    piece = harness.excerpt(lab, "app/middleware.py", "ErrorResponseMiddleware")
    assert piece.text.startswith("class ErrorResponseMiddleware:") and piece.text.rstrip().endswith("raise")
    shown = harness.statements(lab, "app/main.py", "add_middleware", "FastAPI(").text
    assert "app.add_middleware(UsageMiddleware)  # TODO(1)" in shown and "async def lifespan(" in shown
    assert "allow_credentials=True," in shown and "@app.get" not in shown and "..." in shown
