"""Judge the orders API by how it uses its connection pool over real HTTP, not by how it is written.

The app is served once, with settings taken from the environment (the names the
exercise gives): a pool that asks for 10 + 10 connections, APP_PROCESSES large
enough that the server's limit allows only about 3 per process, QUERY_TIMEOUT=1
and CONNECT_TIMEOUT=1. In order:

1. Requests for orders that do not exist (404) give their connection back: none is
   left 'idle in transaction' on the server.
2. Six concurrent slow reports all answer 200, and the app never holds more
   connections than (max_connections - reserved slots) / APP_PROCESSES.
3. After its connections are terminated on the server, the next request answers 200.
4. While another session holds a lock on the orders table, a request answers (an
   error is fine) within a few seconds, not when the lock goes away.
5. With a database address that accepts TCP but never answers, the app gives up
   within a few seconds: it refuses to start, or it answers with an error.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import TYPE_CHECKING

import httpx
import psycopg2
from sqlalchemy.engine import make_url

import labkit
from labkit import _cleanup as cleanup

if TYPE_CHECKING:
    from labkit import Lab, LoadResult, Postgres

APP = "orders-api"  # the application_name the app sets on its connections
CONNECT_PATIENCE = 8.0  # seconds the app gets to give up on a silent database
MISSING = range(9001, 9007)  # order ids that do not exist: six 404s
ERROR_LINE = re.compile(r"^(?!INFO|ERROR|WARNING|DEBUG)[A-Za-z_][\w.]*: \S")
SCHEMA = (
    "create table if not exists orders (id int primary key, item varchar(100) not null, quantity int not null)",
    "insert into orders select g, 'item ' || g, g % 5 + 1 from generate_series(1, 20) g on conflict do nothing",
)


def _server(lab: Lab) -> Postgres:
    assert lab.pg is not None, "This check needs a server: labkit.Lab(name, pg=labkit.postgres())."
    return lab.pg


def _last_error(srv: labkit.AppServer) -> str:
    time.sleep(0.3)  # a 500's traceback is logged just after the response
    lines = [line for line in srv.logs().splitlines() if ERROR_LINE.match(line)]
    return lines[-1].strip()[:300] if lines else "(no exception in the app's log)"


def _per_process_limit(pg: Postgres) -> tuple[int, int]:
    """APP_PROCESSES for the check, and the most connections one process may then hold."""
    limit, superuser, reserved = (int(v) for v in pg.query(
        "select current_setting('max_connections'), current_setting('superuser_reserved_connections'), "
        "coalesce(current_setting('reserved_connections', true), '0')")[0])
    usable = limit - superuser - reserved
    processes = max(usable // 3, 1)
    return processes, usable // processes


def _leaks_nothing(pg: Postgres, srv: labkit.AppServer, client: httpx.Client) -> None:
    for order_id in MISSING:
        response = client.get(f"/orders/{order_id}")
        assert response.status_code == 404, (
            f"GET /orders/{order_id} (no such order) answered {response.status_code}, not 404. "
            f"The app logged: {_last_error(srv)}")
    left = pg.connections(APP, state="idle in transaction", wait_for=0, timeout=0.5)
    assert left == 0, (
        f"After {len(MISSING)} requests for orders that do not exist, {left} connection(s) of the app are still "
        "'idle in transaction' on the server: the 404 path never gives its session back, so every such request "
        "takes one connection out of the pool for good. Close the session on every path (a yield dependency "
        "with async with SessionLocal() as session)."
    )


def _peak_while(pg: Postgres, running: Future[LoadResult]) -> int:
    peak = 0
    while not running.done():
        peak = max(peak, pg.connections(APP))
        time.sleep(0.01)
    return peak


def _fits_the_server(pg: Postgres, srv: labkit.AppServer, processes: int, allowed: int) -> None:
    running = labkit.start_load(srv.url + "/report", requests=6, concurrency=6, timeout=15, deadline=30)
    peak = _peak_while(pg, running)
    burst = running.result()
    assert burst.outcomes == {"200": 6}, (
        f"6 concurrent GET /report gave {dict(sorted(burst.outcomes.items()))}; the app logged: {_last_error(srv)}")
    assert peak <= allowed, (
        f"With APP_PROCESSES={processes}, one process may hold at most {allowed} connection(s) "
        f"((max_connections - reserved slots) / APP_PROCESSES), but the app opened {peak}. "
        "Size the pool from the server: read max_connections (and the reserved slots) at startup, "
        "divide by APP_PROCESSES and cap pool_size + max_overflow by the result."
    )


def _survives_terminate(pg: Postgres, srv: labkit.AppServer, client: httpx.Client) -> None:
    assert client.get("/orders/1").status_code == 200, f"GET /orders/1 failed: {_last_error(srv)}"
    pg.wait_for_idle(APP)  # the request's connection is back in the pool
    killed = pg.terminate(APP)
    assert killed >= 1, "The app held no connection to terminate after a request; is application_name still set?"
    pg.connections(APP, wait_for=0)
    response = client.get("/orders/1")
    assert response.status_code == 200, (
        f"After PostgreSQL ended the app's {killed} pooled connection(s) (as a restart or failover does), "
        f"the next GET /orders/1 answered {response.status_code}. The app logged: {_last_error(srv)}\n"
        "The pool handed out a dead connection: set pool_pre_ping=True so each one is tested as it leaves the pool."
    )


def _lock_holder(pg: Postgres) -> psycopg2.extensions.connection:
    url = make_url(pg.url("psycopg2"))
    conn = psycopg2.connect(host=url.host, port=url.port, user=url.username, password=url.password,
                            dbname=url.database, application_name="lab-check-migration")
    with conn.cursor() as cur:
        cur.execute("lock table orders in access exclusive mode")  # held until rollback
    return conn


def _bounded_query(pg: Postgres, srv: labkit.AppServer, client: httpx.Client) -> None:
    holder = _lock_holder(pg)
    try:
        began = time.monotonic()
        try:
            response = client.get("/orders/1", timeout=8)
            outcome = str(response.status_code)
        except httpx.TimeoutException:
            outcome = "no answer"
        waited = time.monotonic() - began
    finally:
        holder.rollback()
        holder.close()
    assert waited < 5 and outcome != "no answer", (
        f"With the orders table locked by another session and QUERY_TIMEOUT=1, GET /orders/1 gave "
        f"{outcome} after {waited:.1f} s. A query must not wait for ever: set statement_timeout (a server "
        "setting, through connect_args server_settings) and/or asyncpg's command_timeout from QUERY_TIMEOUT."
    )
    assert client.get("/orders/1").status_code == 200, (
        f"Once the lock was released, GET /orders/1 still failed: {_last_error(srv)}")


# Runs in a child process from the work dir: start the app (its lifespan) and ask for an order,
# against a database address that never answers. Either way it must end on its own.
CONNECT_CHILD = r"""
import time, warnings
warnings.simplefilter("ignore")
from starlette.testclient import TestClient
from app.main import app
began = time.monotonic()
try:
    with TestClient(app, raise_server_exceptions=False) as client:
        outcome = f"answered {client.get('/orders/1').status_code}"
except Exception as exc:
    outcome = f"refused to start ({type(exc).__name__})"
print(f"RESULT {outcome} after {time.monotonic() - began:.1f} s")
"""


def _start_bounded_connect(lab: Lab, env: dict[str, str]) -> Callable[[bool], None]:
    """Start the app against a silent database in a child process; the returned function judges it.

    It runs while the other checks do, so that its waiting costs no extra time. Called with
    False (another check failed already), the function only stops the child.
    """
    silent = socket.socket()  # accepts TCP connections (the kernel does) and never says a word
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)
    url = make_url(_server(lab).url("asyncpg")).set(port=silent.getsockname()[1])
    child = subprocess.Popen(
        [sys.executable, "-c", CONNECT_CHILD], cwd=lab.workdir, text=True, start_new_session=True,
        env=lab.app_env({**env, "DATABASE_URL": url.render_as_string(hide_password=False)}),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    cleanup.register("pgroup", child.pid)
    began = time.monotonic()

    def judge(wanted: bool) -> None:
        output = ""
        try:
            if wanted:
                output, _ = child.communicate(timeout=max(CONNECT_PATIENCE - (time.monotonic() - began), 0.1))
        except subprocess.TimeoutExpired:
            pass
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.pid, signal.SIGKILL)
            child.communicate()
            cleanup.release("pgroup", child.pid)
            silent.close()
        if wanted:
            assert any(line.startswith("RESULT ") for line in output.splitlines()), (
                "With a database address that accepts TCP but never answers and CONNECT_TIMEOUT=1, the app "
                f"neither failed to start nor answered GET /orders/1 within {CONNECT_PATIENCE:.0f} s. asyncpg "
                "waits 60 s for a connection by default: pass timeout= (from CONNECT_TIMEOUT) in connect_args."
            )

    return judge


def check(lab: Lab) -> None:
    pg = _server(lab)
    for statement in SCHEMA:
        pg.query(statement)
    processes, allowed = _per_process_limit(pg)
    env = {"POOL_SIZE": "10", "MAX_OVERFLOW": "10", "POOL_TIMEOUT": "10", "APP_PROCESSES": str(processes),
           "QUERY_TIMEOUT": "1", "CONNECT_TIMEOUT": "1"}
    try:
        srv = lab.serve("app.main:app", ready_path="/health", env=env, timeout=15)
    except labkit.AppExited as exc:
        tail = "\n".join(exc.logs.strip().splitlines()[-6:])
        raise AssertionError(f"The app did not start (exit code {exc.exit_code}). Its last log lines:\n{tail}") from None
    except labkit.AppNotAnswering as exc:
        tail = "\n".join(exc.logs.strip().splitlines()[-6:])
        raise AssertionError(f"The app did not answer HTTP within 15 s of starting. Its last log lines:\n{tail}") from None
    # a fresh TCP connection per request: uvicorn closes a kept-alive one after a 500
    client = httpx.Client(base_url=srv.url, timeout=15, limits=httpx.Limits(max_keepalive_connections=0))
    judge_connect: Callable[[bool], None] | None = None
    passed = False
    try:
        _leaks_nothing(pg, srv, client)
        judge_connect = _start_bounded_connect(lab, env)  # runs while the next checks do
        _fits_the_server(pg, srv, processes, allowed)
        _survives_terminate(pg, srv, client)
        _bounded_query(pg, srv, client)
        passed = True
    finally:
        client.close()
        srv.kill()  # its connections close with the process
        if judge_connect is not None:
            judge_connect(passed)
