"""Scenario 04's measurement module (notebooks/scenarios/04-.../harness.py), against a real PostgreSQL.

Each call the notebook 04 and its deep dives 04a and 11b make is run here on the broken project and
on the reference steps, and must say what the notebooks' text says it does.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

import labkit
from labkit import Postgres

pytestmark = pytest.mark.integration  # real PostgreSQL, real uvicorn, child processes

SCENARIO = "04-sync-driver-under-async-engine"


@pytest.fixture
def lab(local_pg: Postgres, tmp_path: Path) -> Iterator[labkit.Lab]:
    """A reference copy of the broken project in a temporary folder."""
    with labkit.Lab(SCENARIO, local_pg, tmp_path / SCENARIO, reference=True) as made:
        yield made


@pytest.fixture
def harness(lab: labkit.Lab):
    return lab.harness


def test_provider_url_is_libpq_style_with_the_apps_name(lab: labkit.Lab, harness) -> None:
    url = make_url(harness.provider_url(lab, sslmode="require"))
    assert url.drivername == "postgresql"
    assert dict(url.query) == {"sslmode": "require", "channel_binding": "prefer", "application_name": harness.APP}
    assert url.password  # the app needs it; the notebooks never print this URL


def test_a_sync_driver_in_async_def_runs_the_reports_one_after_another(lab: labkit.Lab, harness) -> None:
    blocked = harness.reports_and_health(lab, "blocked")
    assert blocked.reports_ok == harness.REPORTS and blocked.errors_logged == 0
    assert blocked.connections == 1 and blocked.at_start == 0
    assert blocked.wall > 0.7 * harness.SERIAL
    assert blocked.health_median > 5 * harness.SECONDS and blocked.probes_during == harness.PROBES
    assert blocked.row()[0] == "blocked" and len(blocked.row()) == len(harness.HEADER)

    lab.apply(1)
    threaded = harness.reports_and_health(lab, "def")
    assert threaded.reports_ok == harness.REPORTS and threaded.connections >= harness.REPORTS // 2
    assert blocked.wall > 2 * threaded.wall
    assert blocked.health_median > 10 * threaded.health_median
    assert lab.pg.connections(harness.APP) == 0  # the run stopped its app and waited for its connections

    figure = harness.plot(blocked, threaded)
    assert [ax.get_title() for ax in figure.axes] == ["blocked", "def"]
    assert len(harness.table(blocked, threaded).rows) == 2


def test_on_asyncpg_the_pool_is_a_ceiling(lab: labkit.Lab, harness) -> None:
    for step in (1, 2, 3):
        lab.apply(step)
    small = harness.reports_and_health(lab, "pool 5", env={"POOL_SIZE": "5"})
    assert small.at_start == 0 and small.connections == 5
    assert small.wall > 0.8 * (harness.REPORTS / 5) * harness.SECONDS


def test_thread_limit_is_anyios_default() -> None:
    module = labkit.Scenario.load(SCENARIO).module("harness")
    assert module.thread_limit() == 40


def test_what_sqlalchemy_and_asyncpg_say_to_the_providers_url(local_pg: Postgres, harness) -> None:
    schemes = harness.engine_for_each_scheme(local_pg)
    assert schemes.outcome("create_async_engine", "postgresql+psycopg2://").startswith("InvalidRequestError")
    assert schemes.outcome("create_async_engine", "postgresql+asyncpg://") == "accepted"
    assert schemes.outcome("create_async_engine", "postgres://").startswith("NoSuchModuleError")
    assert harness.default_postgresql_driver() in {"psycopg (not installed)", "psycopg (installed)"}
    with pytest.raises(KeyError):
        schemes.outcome("create_engine", "mysql://")

    tried = asyncio.run(harness.connect_with_each_query(local_pg))
    sslmode = "TypeError: connect() got an unexpected keyword argument 'sslmode'"
    assert [tried.outcome(where) for where in ("lab server", "nothing listens", "unresolvable host")] == [sslmode] * 3
    assert tried.outcome("nothing listens", "ssl=require").startswith("ConnectionRefusedError")
    assert "'channel_binding'" in tried.outcome("lab server", "channel_binding=require")
    assert "rejected SSL upgrade" in tried.outcome("lab server", "ssl=require")
    assert tried.outcome("lab server", "ssl=prefer") == "connected (TLS in use: False)"
    assert str(make_url(local_pg.url()).port) not in repr(tried)


def test_translation_helper_against_str_replace(local_pg: Postgres, lab: labkit.Lab, harness) -> None:
    with pytest.raises(labkit.LabkitError, match="step 2"):
        harness.convert_urls(lab)  # no app/dburl.py in the broken project
    lab.apply(1)
    lab.apply(2)
    converted = harness.convert_urls(lab)
    assert len(converted.rows) == len(harness.PROVIDER_URLS)
    assert {row[2] for row in converted.rows} - {"-"} == {repr(harness.AWKWARD_PASSWORD)}
    assert converted.rows[0][1].endswith("/app?ssl=require") and converted.rows[0][4] == "channel_binding=require"
    assert converted.rows[-1][4].startswith("refused: ValueError")
    assert "%40" not in repr(converted)  # the encoded password is masked in the URLs shown

    naive = asyncio.run(harness.str_replace_each(local_pg))
    assert (
        naive.rows[0][2]
        == "engine built; first connect: TypeError: connect() got an unexpected keyword argument 'sslmode'"
    )
    assert all("Error" in row[-1] for row in naive.rows)


def test_serving_with_each_query(lab: labkit.Lab, harness) -> None:
    assert harness.serve_with_query(lab).status == 200  # psycopg2 takes every libpq parameter
    for step in (1, 2, 3):
        lab.apply(step)
    served = harness.serve_with_query(lab)
    assert served.status == 200 and "channel_binding=prefer dropped" in served.line("dropped")
    strict = harness.serve_with_query(lab, sslmode="require")
    assert strict.status == 500 and "rejected SSL upgrade" in strict.line("SSL") and "PORT" in strict.line("SSL")
    unknown = harness.serve_with_query(lab, options="-c statement_timeout=5s")
    assert not unknown.started and unknown.exit_code != 0
    assert unknown.line("ValueError").startswith("ValueError: the database URL has options=")


def test_committed_credentials_and_the_fallback(lab: labkit.Lab, harness) -> None:
    found = harness.passwords_in_urls(lab)
    assert [hit.split(":")[0] for hit in found] == [".env", "app/config.py"]
    assert not any("not-a-real-secret" in hit or "reports-dev-pw" in hit for hit in found)
    assert "db.example.invalid" in harness.settings_without_url(lab)
    for step in (1, 2, 3, 4):
        lab.apply(step)
    assert harness.passwords_in_urls(lab) == []
    assert "Field required" in harness.settings_without_url(lab)
    (lab.workdir / ".env").write_text("DATABASE_URL=postgresql://me:fake-local@localhost/app\n")
    assert harness.passwords_in_urls(lab) == []  # git-ignored: not committed, not reported
