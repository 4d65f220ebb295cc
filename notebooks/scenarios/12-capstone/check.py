"""12: the interviews API judged the way production and CI see it, not by how it is written.

The app runs under uvicorn on a database of the check's own, with APP_PROCESSES leaving each process
about 8 connections and APPLICATION_NAME to count them. ``runner.py`` starts and stops the app in
one process, then runs the project's own suite there."""

from __future__ import annotations

import re
from pathlib import Path
from typing import NamedTuple

import httpx

import labkit
from labkit import AppServer, Ran
from labkit.checking import (
    Context,
    Share,
    connection_share,
    controlled,
    loop_trouble,
    outcome,
    peak_connections,
    poll_outcome,
    pytest_summary,
    requirement,
    scratch_database,
    serve_on_scratch_database,
)

RUNNER = Path(__file__).with_name("runner.py")  # the lifespan probe, then the suite, in one process
APP = "interviews-api-check"  # the application_name the check gives the app (APPLICATION_NAME)
BURST = 24
MIN_TESTS = 5  # the suite the project came with has 5 tests: deleting them is not a fix
PYTEST_ARGS = ["-q", "--color=no", "--tb=no", "-rfE", "-p", "no:cacheprovider"]  # the summary is all the check reads


class Served(NamedTuple):
    srv: AppServer
    share: Share
    env: dict[str, str]


def _served(ctx: Context) -> Served:
    def serve() -> Served:
        share = connection_share(ctx.pg, per_process=8)
        env = {"APPLICATION_NAME": APP, "APP_PROCESSES": str(share.processes)}
        srv = serve_on_scratch_database(ctx, "lab12_check", env=env, ready_path="/", timeout=20)
        return Served(srv, share, {**env, "DATABASE_URL": ctx.pg.url("asyncpg", database="lab12_check")})

    return ctx.shared("app", serve)


def _runner(ctx: Context) -> str:
    """What runner.py printed: the LIFESPAN line of the in-process start and stop, then pytest's own output."""

    def run() -> Ran:
        with scratch_database(ctx.pg, "lab12_suite") as database:
            env = {"DATABASE_URL": ctx.pg.url("asyncpg", database=database), "APPLICATION_NAME": APP}
            return ctx.lab.run(["python", str(RUNNER), *PYTEST_ARGS], env=env, timeout=90)

    return ctx.shared("runner", run).output


@requirement(
    core=True,
    edit="app/main.py",
    step=2,
    timeout=150,
    hints=(
        "Start and stop the app twice in one Python process: who closes the first engine's pool?",
        "Give FastAPI(lifespan=...) a lifespan that sets up the database before yield and awaits "
        "engine.dispose() after it (the reference goes further: create_app(settings) builds the engine there).",
    ),
)
def stops_cleanly(ctx: Context) -> None:
    """Stopped, the app closes its connections: in-process when its lifespan ends, and exit code 0 after Ctrl+C."""
    output = _runner(ctx)
    found = re.search(r"LIFESPAN status (\S+) during (\d+) after (\d+)", output)
    failed = re.search(r"LIFESPAN failed: (.*)", output)
    assert found is not None, "Starting the app with asgi_lifespan.LifespanManager(app) and stopping it failed: " + (
        failed.group(1) if failed else "no report line"
    )
    status, during, after = found.group(1), int(found.group(2)), int(found.group(3))
    assert status == "200", f"Started in-process with its lifespan, the app answered GET /questions with {status}."
    assert after == 0, (
        f"Started and stopped inside one Python process, the app still had {after} connection(s) "
        f"open after its lifespan ended ({during} while it ran): dispose() the engine at the end."
    )
    with ctx.lab.serve(ready_path="/", env=_served(ctx).env, timeout=20) as srv:
        stopped = srv.stop()
    assert stopped.exit_code == 0, f"After Ctrl+C the app exited with code {stopped.exit_code}, not 0."


@requirement(
    core=True,
    edit="app/database.py",
    step=3,
    hints=(
        "Multiply the pool (pool_size + max_overflow) by APP_PROCESSES: does it fit in the server's max_connections?",
        "At startup read max_connections and the reserved slots, divide by APP_PROCESSES, cap pool_size + max_overflow "
        "by that, and name the connections with settings.APPLICATION_NAME (connect_args server_settings).",
    ),
)
def pool_fits_the_server(ctx: Context) -> None:
    """24 concurrent GET /stats answer, within the process's share of max_connections."""
    srv, share, _ = _served(ctx)
    running = labkit.start_load(srv.url + "/stats", requests=BURST, concurrency=BURST, timeout=20, deadline=30)
    peak = peak_connections(ctx.pg, running, APP)
    burst = running.result()
    assert burst.outcomes == {"200": BURST}, (
        f"{BURST} concurrent GET /stats gave {dict(sorted(burst.outcomes.items()))}, not {BURST} x 200."
    )
    assert peak >= 1, f"No connection named {APP!r} was seen during the burst: set application_name from settings."
    assert peak <= share.allowed, (
        f"With APP_PROCESSES={share.processes}, one process may hold at most {share.allowed} connection(s), "
        f"but the app opened {peak}: size the pool from the server's max_connections."
    )


@requirement(
    core=True,
    edit="app/database.py",
    step=4,
    hints=(
        "Restart PostgreSQL with no request in between: what is in the pool when the next request comes?",
        "pool_pre_ping=True tests each connection as it leaves the pool and replaces a dead one.",
    ),
)
def survives_restart(ctx: Context) -> None:
    """Right after a PostgreSQL restart with no traffic in between, the next 5 requests answer 200."""
    pg = controlled(ctx.pg)
    srv = _served(ctx).srv
    pg.restart()  # no request in between: every pooled connection is closed by the server, unknown to the app
    outcomes = [outcome(srv, "/questions") for _ in range(5)]
    failed = [o for o in outcomes if o != "200"]
    assert not failed, (
        f"Right after a PostgreSQL restart, {len(failed)} of 5 GET /questions failed "
        f"({', '.join(outcomes)}): the pool handed out connections the server had closed."
    )


@requirement(
    core=False,
    edit="app/routes.py",
    step=5,
    hints=(
        "Stop PostgreSQL and ask the health routes: which answer does a load balancer read?",
        "/health/live touches nothing; /health/ready runs select 1 under asyncio.wait_for and answers 503 "
        "when it fails or times out.",
    ),
)
def ready_says_503(ctx: Context) -> None:
    """With PostgreSQL stopped, /health/live answers 200 and /health/ready 503 within 5 s, then 200 once it is back."""
    pg = controlled(ctx.pg)
    srv = _served(ctx).srv
    pg.stop()
    try:
        live = outcome(srv, "/health/live", timeout=3)
        ready = poll_outcome(srv, "/health/ready", "503", within=5)
    finally:
        pg.start()
    assert live == "200", f"With PostgreSQL stopped, GET /health/live answered {live}: liveness asks no database."
    assert ready[-1] == "503", (
        f"With PostgreSQL stopped, GET /health/ready answered {', '.join(ready)} for 5 s, "
        "never 503: a load balancer reads only the status code."
    )
    back = poll_outcome(srv, "/health/ready", "200", within=5)
    assert back[-1] == "200", f"PostgreSQL was back, but GET /health/ready still answered {back[-1]} after 5 s."


@requirement(
    core=False,
    edit="app/main.py",
    step=6,
    hints=(
        "Count the Server-Timing headers of one response: how many times does TimingMiddleware run?",
        "Build the stack in one list, each class once, outermost first: "
        "FastAPI(middleware=[Middleware(TimingMiddleware), Middleware(CORSMiddleware, ...)]).",
    ),
)
def middleware_once_in_order(ctx: Context) -> None:
    """Each response carries one Server-Timing, a CORS preflight included (timing is outermost)."""
    srv = _served(ctx).srv
    response = srv.get("/")
    assert response.status_code == 200, f"GET / answered {response.status_code}."
    timings = response.headers.get_list("server-timing")
    assert len(timings) == 1, (
        f"A response carries {len(timings)} Server-Timing values, not 1: TimingMiddleware "
        "runs that many times per request."
    )
    preflight = httpx.options(
        srv.url + "/questions",
        timeout=5.0,
        headers={"Origin": "https://app.example", "Access-Control-Request-Method": "GET"},
    )
    assert preflight.headers.get_list("server-timing"), (
        f"A CORS preflight (answered {preflight.status_code} by CORSMiddleware itself) carries no Server-Timing: "
        "TimingMiddleware sits inside CORS. List it first (outermost)."
    )


@requirement(
    core=False,
    edit="tests/fixtures.py, pytest.ini",
    step=7,
    timeout=120,
    hints=(
        "Run python -m pytest in the project: read the first failure.",
        "Run every test and fixture on one event loop (pytest.ini: asyncio_default_test_loop_scope = session and "
        "asyncio_default_fixture_loop_scope = session); build the app with create_app(Settings(...)) in a fixture "
        "and start it with asgi_lifespan.LifespanManager.",
    ),
)
def suite_passes(ctx: Context) -> None:
    """The project's own suite passes, with at least 5 tests."""
    output = _runner(ctx)
    exit_code = int(m.group(1)) if (m := re.search(r"^SUITE exit (-?\d+)$", output, re.MULTILINE)) else None
    run = pytest_summary("\n".join(line for line in output.splitlines() if not line.startswith(("LIFESPAN", "SUITE"))))
    if exit_code == 0 and run.passed >= MIN_TESTS:
        return
    assert exit_code != 0, f"Keep the {MIN_TESTS} tests the project came with ({run.summary}): deleting one is no fix."
    why = "a connection used on another event loop" if loop_trouble(output) else "read pytest's own words"
    raise AssertionError(f"python -m pytest: {run.summary}: {why}.\n" + "\n".join(run.failures[:3]))
