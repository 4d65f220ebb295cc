"""Judge the interviews API the way production and CI see it, not by how it is written.

The app runs under a real uvicorn (``app.main:app``) against a database of the check's own, with
``APP_PROCESSES`` set so that the server's limit leaves each process a small share (about 8
connections), and ``APPLICATION_NAME`` set so that its connections can be counted. In order:

1. each middleware runs once: every response carries one ``Server-Timing`` value, and timing is the
   outermost: a CORS preflight, which CORS answers by itself, carries it too;
2. 24 concurrent ``GET /stats`` (each holds a connection for 0.1 s) all answer 200, and the app
   never holds more connections than (max_connections - reserved slots) / APP_PROCESSES;
3. after a PostgreSQL restart with no traffic in between, the next 5 requests all answer 200;
4. with PostgreSQL stopped, ``GET /health/live`` answers 200 and ``GET /health/ready`` 503 within a
   few seconds; once PostgreSQL is back, ``/health/ready`` answers 200 again;
5. stopped with Ctrl+C, the app exits with code 0 (its connections close with the process whatever
   the code does, so whether it closes them itself is judged in 6);
6. started and stopped inside one Python process (as a test suite or a second app does), the app
   closes every connection when its lifespan ends;
7. the project's own suite (``python -m pytest``) passes, with at least 5 tests.

6 and 7 run in one child process (``runner.py`` beside this file): the probe, then the suite, with
the project's modules imported afresh. Every problem found is listed, not only the first. Only
behaviour is judged: any code that produces it passes.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

import labkit

if TYPE_CHECKING:
    from labkit import AppServer, Lab, Postgres

RUNNER = Path(__file__).with_name("runner.py")  # the lifespan probe, then the suite, in one process
DATABASE = "lab12_check"
APP = "interviews-api-check"  # the application_name the check gives the app (APPLICATION_NAME)
SHARE = 8  # about this many connections per process, from the server's limit
BURST = 24
PYTEST_SUMMARY = re.compile(r"\b(\d+ (passed|failed|errors?)|no tests ran)\b.* in \d")
MIN_TESTS = 5  # the suite the project came with has 5 tests: deleting them is not a fix
PYTEST_ARGS = ["-q", "--color=no", "--tb=no", "-rfE", "-p", "no:cacheprovider"]  # the summary is all the check reads

LOOP_HINT = (
    "Run every test and fixture on one event loop (pytest.ini: asyncio_default_test_loop_scope = session and "
    "asyncio_default_fixture_loop_scope = session), build the app in a fixture with create_app(Settings(...)) "
    "and start it with asgi_lifespan.LifespanManager, so that its engine is made and disposed on that loop."
)

def _share(pg: Postgres) -> tuple[int, int]:
    """APP_PROCESSES for the check, and the most connections one process may then hold."""
    limit, reserved = pg.query(
        "select current_setting('max_connections')::int, current_setting('superuser_reserved_connections')::int"
        " + coalesce(current_setting('reserved_connections', true), '0')::int")[0]
    usable = int(limit) - int(reserved)
    processes = max(usable // SHARE, 1)
    return processes, usable // processes


def _get(srv: AppServer, path: str, timeout: float = 5.0) -> tuple[str, httpx.Response | None]:
    """One request on a fresh connection: its status code (or the error's name) and the response."""
    try:
        response = httpx.get(srv.url + path, timeout=timeout)
    except httpx.HTTPError as exc:
        return type(exc).__name__, None
    return str(response.status_code), response


def _middleware_once(srv: AppServer) -> None:
    status, response = _get(srv, "/")
    assert response is not None and status == "200", f"GET / answered {status}."
    timings = response.headers.get_list("server-timing")
    assert len(timings) == 1, (
        f"A response carries {len(timings)} Server-Timing values ({', '.join(timings) or 'none'}), not 1: "
        "TimingMiddleware runs that many times per request. Build the stack in one list, each class once, "
        "outermost first: FastAPI(middleware=[Middleware(TimingMiddleware), Middleware(CORSMiddleware, ...)])."
    )
    preflight = httpx.options(srv.url + "/questions", timeout=5.0, headers={
        "Origin": "https://app.example", "Access-Control-Request-Method": "GET"})
    assert preflight.headers.get_list("server-timing"), (
        f"A CORS preflight (OPTIONS, answered {preflight.status_code} by CORSMiddleware itself) carries no "
        "Server-Timing: TimingMiddleware sits inside CORS, so the answers CORS gives alone are never timed. "
        "List TimingMiddleware first (outermost) in the one middleware list."
    )


def _fits_the_server(srv: AppServer, pg: Postgres, processes: int, allowed: int) -> None:
    running = labkit.start_load(srv.url + "/stats", requests=BURST, concurrency=BURST, timeout=20, deadline=30)
    peak = 0
    while not running.done():
        peak = max(peak, pg.connections(APP))
        time.sleep(0.01)
    burst = running.result()
    assert burst.outcomes == {"200": BURST}, (
        f"{BURST} concurrent GET /stats gave {dict(sorted(burst.outcomes.items()))}, not {BURST} x 200.")
    assert peak >= 1, (
        f"No connection named {APP!r} was seen during the burst: open the connections with "
        "application_name from settings.APPLICATION_NAME (connect_args server_settings).")
    assert peak <= allowed, (
        f"With APP_PROCESSES={processes}, one process may hold at most {allowed} connection(s) "
        f"((max_connections - reserved slots) / APP_PROCESSES), but the app opened {peak}. Read max_connections "
        "and the reserved slots at startup, divide by APP_PROCESSES, and cap pool_size + max_overflow by that."
    )


def _survives_restart(srv: AppServer, pg: Postgres) -> None:
    pg.restart()  # no request in between: every pooled connection is closed by the server, unknown to the app
    outcomes = [_get(srv, "/questions")[0] for _ in range(5)]
    failed = [o for o in outcomes if o != "200"]
    assert not failed, (
        f"Right after a PostgreSQL restart with no traffic in between, {len(failed)} of 5 GET /questions failed "
        f"({', '.join(outcomes)}): the pool handed out connections the server had closed. Test each connection "
        "as it leaves the pool: pool_pre_ping=True."
    )


def _ready_says_503(srv: AppServer, pg: Postgres) -> None:
    pg.stop()
    try:
        live, _ = _get(srv, "/health/live", timeout=3)
        began = time.monotonic()
        ready, _ = _get(srv, "/health/ready", timeout=6)
        took = time.monotonic() - began
    finally:
        pg.start()
    assert live == "200", (
        f"With PostgreSQL stopped, GET /health/live answered {live}. Give the app a liveness route that asks "
        "nothing of the database (an orchestrator restarts a process whose liveness fails; a restart brings no "
        "database back)."
    )
    assert ready == "503" and took < 5, (
        f"With PostgreSQL stopped, GET /health/ready answered {ready} after {took:.1f} s. A load balancer reads "
        "only the status code: answer 503, within a deadline, when the database check fails."
    )
    deadline = time.monotonic() + 5
    while (back := _get(srv, "/health/ready")[0]) != "200" and time.monotonic() < deadline:
        time.sleep(0.1)
    assert back == "200", f"PostgreSQL was back, but GET /health/ready still answered {back} after 5 s."


def _stops_cleanly(srv: AppServer) -> None:
    stopped = srv.stop()
    assert stopped.exit_code == 0, f"After Ctrl+C the app exited with code {stopped.exit_code}, not 0."


def _closes_in_process(output: str) -> None:
    found = re.search(r"LIFESPAN status (\S+) during (\d+) after (\d+)", output)
    failed = re.search(r"LIFESPAN failed: (.*)", output)
    assert found is not None, (
        "Starting the app with asgi_lifespan.LifespanManager(app), asking GET /questions and stopping it failed: "
        + (failed.group(1) if failed else "no report line"))
    status, during, after = found.group(1), int(found.group(2)), int(found.group(3))
    assert status == "200", f"Started in-process with its lifespan, the app answered GET /questions with {status}."
    assert after == 0, (
        f"Started and stopped inside one Python process, the app still had {after} connection(s) open after its "
        f"lifespan ended ({during} while it ran). A process that exits closes them anyway, but a test suite, a "
        "reload or a second app in the same process keeps them: dispose() the engine when the lifespan ends."
    )


def _suite_passes(output: str) -> None:
    lines = [line for line in output.strip().splitlines() if not line.startswith(("LIFESPAN ", "SUITE exit"))]
    exit_code = int(m.group(1)) if (m := re.search(r"^SUITE exit (-?\d+)$", output, re.MULTILINE)) else None
    # pytest's own last word ("5 passed in 0.31s"), not whatever the process printed after it
    summaries = [line for line in lines if PYTEST_SUMMARY.search(line)]
    summary = summaries[-1] if summaries else (lines[-1] if lines else "no output")
    passed = int(m.group(1)) if (m := re.search(r"(\d+) passed", summary)) else 0
    if exit_code == 0 and passed >= MIN_TESTS:
        return
    failures = [line for line in lines if line.startswith(("FAILED ", "ERROR "))]
    shown = "\n".join(f"    {line[:200]}" for line in failures[:3]) or "\n".join(lines[-6:])
    hint = LOOP_HINT if re.search(r"loop is closed|different loop|another operation is in progress",
                                  output) else "Read pytest's own words above."
    if exit_code == 0:
        hint = f"Keep at least the {MIN_TESTS} tests the project came with: deleting a test is not a fix."
    raise AssertionError(f"The project's suite did not pass (python -m pytest: {summary}):\n{shown}\n{hint}")


def check(lab: Lab) -> None:
    pg = lab.pg
    assert pg is not None, "This check needs a server: labkit.Lab(name, pg=labkit.postgres())."
    assert pg.backend != "external", (
        "This check restarts and stops PostgreSQL, which labkit never does to a server it did not start: "
        "unset LABKIT_DATABASE_URL so that labkit starts one of its own.")
    pg.query(f"drop database if exists {DATABASE} with (force)")
    pg.query(f"create database {DATABASE}")
    processes, allowed = _share(pg)
    env = {"DATABASE_URL": pg.url("asyncpg", database=DATABASE), "APPLICATION_NAME": APP,
           "APP_PROCESSES": str(processes)}
    problems: list[str] = []
    srv: AppServer | None = None

    def judge(what: Callable[[], None]) -> None:
        try:
            what()
        except AssertionError as exc:
            problems.append(str(exc))

    try:
        try:
            srv = lab.serve("app.main:app", ready_path="/", env=env, timeout=20)
        except (labkit.AppExited, labkit.AppNotAnswering) as exc:
            tail = "\n".join(exc.logs.strip().splitlines()[-6:])
            problems.append(f"uvicorn app.main:app did not start. Its last log lines:\n{tail}")
        else:
            served = srv
            judge(lambda: _middleware_once(served))
            judge(lambda: _fits_the_server(served, pg, processes, allowed))
            judge(lambda: _survives_restart(served, pg))
            judge(lambda: _ready_says_503(served, pg))
            judge(lambda: _stops_cleanly(served))
        ran = lab.run(["python", str(RUNNER), *PYTEST_ARGS], env=env, timeout=90)
        judge(lambda: _closes_in_process(ran.output))
        judge(lambda: _suite_passes(ran.output))
    finally:
        if srv is not None and srv.alive:
            srv.kill()  # its connections close with the process, before its database is dropped
        pg.query(f"drop database if exists {DATABASE} with (force)")
    if problems:
        raise AssertionError("The backend is not there yet:\n" + "\n".join(f"- {p}" for p in problems))
