"""04: the reports API judged by what it does, not by which driver or keyword it uses.

A plain ``def`` route on psycopg2 passes, as does asyncpg with an awaited query."""

from __future__ import annotations

import time

from sqlalchemy.engine import make_url

import labkit
from labkit.checking import Context, app_error, exception_lines, passwords_in_urls, requirement, start_once

REPORTS = 20
SECONDS = 0.2
SERIAL = REPORTS * SECONDS  # what the reports take when they run one after another
HEALTH_LIMIT = 1.0  # s: a free event loop answers /health in milliseconds
TRANSLATE = (
    "asyncpg takes no libpq parameters: translate the URL (sslmode -> ssl, drop channel_binding) "
    "with make_url, URL.set and URL.update_query_dict."
)


def provider_url(ctx: Context, **query: str) -> str:
    """The lab's server as a provider's dashboard writes it: postgresql:// and libpq parameters."""
    url = make_url(ctx.pg.url("psycopg2")).set(drivername="postgresql").update_query_dict(query)
    return url.render_as_string(hide_password=False)


@requirement(
    core=True,
    edit="app/main.py",
    step=1,
    hints=(
        "While 20 reports run, GET /health waits too: what does a blocking psycopg2 call do inside an async def route?",
        "Make the route a plain def (FastAPI runs it in a worker thread), or use an async driver (asyncpg) "
        "and await the query.",
    ),
)
def loop_stays_free(ctx: Context) -> None:
    """While 20 slow reports run, GET /health answers at once and the reports run side by side."""
    srv = ctx.lab.serve(
        ready_path="/health",
        timeout=20,
        env={"DATABASE_URL": provider_url(ctx, sslmode="prefer", channel_binding="prefer")},
    )
    status = srv.get("/report", params={"seconds": 0}).status_code
    assert status == 200, (
        f"With DATABASE_URL=postgresql://...?sslmode=prefer&channel_binding=prefer, GET /report "
        f"answered {status}: {app_error(srv)}. {TRANSLATE}"
    )
    running = labkit.start_load(
        f"{srv.url}/report?seconds={SECONDS}", requests=REPORTS, concurrency=REPORTS, timeout=15, deadline=20
    )
    try:
        ctx.pg.wait_for_query()  # the reports reach the database: measure /health from here
    except labkit.LabkitError:
        raise AssertionError(
            f"{REPORTS} concurrent GET /report never reached PostgreSQL "
            f"(answers: {dict(running.result().outcomes)}): {app_error(srv)}"
        ) from None
    time.sleep(0.05)  # the rest of the burst, sent in the same instant, reaches the app
    health = labkit.load(f"{srv.url}/health", requests=5, concurrency=5, timeout=15, deadline=20)
    burst = running.result()
    assert burst.errors == 0 and health.errors == 0, (
        f"Requests failed under load: reports {dict(burst.outcomes)}, /health {dict(health.outcomes)}."
    )
    slowest = max(health.latencies)
    assert slowest < HEALTH_LIMIT, (
        f"While {REPORTS} reports of {SECONDS} s ran, GET /health took up to {slowest:.1f} s: the event loop is "
        "blocked by a psycopg2 call inside an async def route."
    )
    # one after another they cannot take less than SERIAL; 0.8 of it leaves a busy machine room to start 20 connections
    assert burst.wall_seconds < SERIAL * 0.8, (
        f"{REPORTS} reports of {SECONDS} s took {burst.wall_seconds:.1f} s in all; one after another they take "
        f"{SERIAL:.0f} s. Is the pool (pool_size + max_overflow) smaller than {REPORTS}?"
    )


@requirement(
    core=False,
    edit="app/dburl.py",
    step=(2, 3),
    hints=(
        "Moving to asyncpg? Its connect() knows neither sslmode nor channel_binding: what must become of each?",
        'Rebuild the URL with make_url(url).set(drivername="postgresql+asyncpg").update_query_dict(...): '
        "sslmode becomes ssl (same mode names), channel_binding goes; never drop a TLS demand.",
    ),
)
def keeps_tls_demand(ctx: Context) -> None:
    """With sslmode=require and a server without TLS, the app refuses to talk plaintext."""
    start = start_once(
        ctx.lab,
        "/report?seconds=0",
        ready_path="/health",
        timeout=20,
        env={"DATABASE_URL": provider_url(ctx, sslmode="require")},
    )
    assert start.status != 200, (
        "With sslmode=require, against a server without TLS, GET /report answered 200: the "
        "app talked plaintext although the URL demands TLS. Translate sslmode; never drop it."
    )
    errors = exception_lines(start.logs)  # refusing (at startup or per request) is right, unless for the keyword
    assert not any("unexpected keyword argument" in e for e in errors), (
        f"With sslmode=require the app failed with: {errors[-1][:200]}. Translate sslmode to asyncpg's ssl."
    )


@requirement(
    core=False,
    edit="app/config.py",
    step=4,
    hints=(
        "Search the project for '://' : which files hold a user:password@ URL, and who can read them?",
        "Read DATABASE_URL from the environment with no default (a SecretStr), git-ignore .env and "
        "commit a .env.example with a placeholder instead.",
    ),
)
def no_password_in_files(ctx: Context) -> None:
    """No file of the project holds a password inside a URL."""
    found = passwords_in_urls(ctx.workdir)
    assert not found, (
        f"A password is written in a URL in {', '.join(found)}: anyone who can read the repository can read it, "
        "and git keeps it. Read DATABASE_URL from the environment only, and keep .env out of git."
    )
