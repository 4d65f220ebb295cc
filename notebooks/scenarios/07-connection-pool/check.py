"""07: the orders API judged by how it uses its connection pool over real HTTP, not by how it is written.

Served once with the exercise's settings: a pool that asks for 10 + 10 connections, APP_PROCESSES such
that the server's limit leaves about 3 per process, QUERY_TIMEOUT=1 and CONNECT_TIMEOUT=1. The core
requirement is notebook 07's (the pool sized from the server); the stretch ones are measured in deep
dive 07a (dead connections and waits without an end).
"""

from __future__ import annotations

import socket
import time
from pathlib import Path
from typing import NamedTuple

import httpx
from sqlalchemy.engine import make_url

import labkit
from labkit import AppServer
from labkit.checking import (
    ChildTimeout,
    Context,
    Share,
    app_error,
    connection_share,
    own_connection,
    peak_connections,
    requirement,
    run_json,
)

APP = "orders-api"  # the application_name the app sets on its connections
# seconds to give up on a silent database: CONNECT_TIMEOUT=1 plus a start on a busy machine (broken: 60)
CONNECT_PATIENCE = 20.0
# ... of which the app gets this many once imported (importing is the slow part of a busy start)
WAIT_AFTER_IMPORT = 10.0
SCHEMA = (
    "create table if not exists orders (id int primary key, item varchar(100) not null, quantity int not null)",
    "insert into orders select g, 'item ' || g, g % 5 + 1 from generate_series(1, 20) g on conflict do nothing",
)
START_AGAINST_SILENT = Path(__file__).with_name("start_against_silent.py")


class Settings(NamedTuple):
    share: Share
    env: dict[str, str]  # the exercise's settings, in the app's environment


def _settings(ctx: Context) -> Settings:
    def make() -> Settings:
        share = connection_share(ctx.pg, per_process=3)
        return Settings(
            share,
            {
                "POOL_SIZE": "10",
                "MAX_OVERFLOW": "10",
                "POOL_TIMEOUT": "10",
                "QUERY_TIMEOUT": "1",
                "CONNECT_TIMEOUT": "1",
                "APP_PROCESSES": str(share.processes),
            },
        )

    return ctx.shared("settings", make)


def _served(ctx: Context) -> AppServer:
    def serve() -> AppServer:
        for statement in SCHEMA:
            ctx.pg.query(statement)
        return ctx.lab.serve(ready_path="/health", env=_settings(ctx).env, timeout=15)

    return ctx.shared("app", serve)


@requirement(
    core=True,
    edit="app/db.py",
    step=1,
    hints=(
        "Multiply the pool (pool_size + max_overflow) by APP_PROCESSES: does it fit in the server's max_connections?",
        "At startup, read max_connections and the reserved slots (SHOW or current_setting), divide by APP_PROCESSES, "
        "and cap pool_size + max_overflow by the result.",
    ),
)
def pool_fits_the_server(ctx: Context) -> None:
    """Six concurrent slow reports answer, within the process's share of max_connections."""
    srv, share = _served(ctx), _settings(ctx).share
    running = labkit.start_load(srv.url + "/report", requests=6, concurrency=6, timeout=15, deadline=30)
    peak = peak_connections(ctx.pg, running, APP)
    burst = running.result()
    assert burst.outcomes == {"200": 6}, (
        f"6 concurrent GET /report gave {dict(sorted(burst.outcomes.items()))}: {app_error(srv)}"
    )
    assert peak <= share.allowed, (
        f"With APP_PROCESSES={share.processes}, one process may hold at most {share.allowed} connection(s), "
        f"but the app opened {peak}: size the pool from the server's max_connections."
    )


@requirement(
    core=False,
    edit="app/db.py",
    step=2,
    hints=(
        "PostgreSQL restarted (or a failover happened): what does the pool hand out next?",
        "pool_pre_ping=True tests each connection as it leaves the pool and replaces a dead one.",
    ),
)
def survives_terminated_connections(ctx: Context) -> None:
    """After PostgreSQL ends the app's connections, the next request succeeds."""
    srv = _served(ctx)
    assert srv.get("/orders/1").status_code == 200, f"GET /orders/1 failed: {app_error(srv)}"
    ctx.pg.wait_for_idle(APP)  # the request's connection is back in the pool
    killed = ctx.pg.terminate(APP)
    assert killed >= 1, "The app held no connection to terminate after a request; is application_name still set?"
    ctx.pg.connections(APP, wait_for=0)
    since = len(srv.logs())
    status = srv.get("/orders/1").status_code
    assert status == 200, (
        f"After PostgreSQL ended the app's {killed} pooled connection(s), the next GET /orders/1 "
        f"answered {status}: {app_error(srv, since)}"
    )


@requirement(
    core=False,
    edit="app/db.py",
    step=3,
    hints=(
        "Another session holds a lock on the orders table: how long does the app's query wait?",
        "Bound it on the server: statement_timeout from QUERY_TIMEOUT (connect_args server_settings), "
        "and/or asyncpg's command_timeout.",
    ),
)
def query_wait_is_bounded(ctx: Context) -> None:
    """With the orders table locked, a request answers within a few seconds."""
    srv = _served(ctx)
    holder = own_connection(ctx.pg, "lab-check-migration")
    holder.cursor().execute("lock table orders in access exclusive mode")  # held until the rollback below
    try:
        began = time.monotonic()
        try:
            outcome = str(srv.get("/orders/1", timeout=5).status_code)  # past 5 s it fails anyway
        except httpx.TimeoutException:
            outcome = "no answer"
        waited = time.monotonic() - began
    finally:
        holder.rollback()
        holder.close()
    assert waited < 5 and outcome != "no answer", (
        f"With the orders table locked and QUERY_TIMEOUT=1, GET /orders/1 gave {outcome} after {waited:.1f} s: "
        "a query must not wait for ever."
    )
    assert srv.get("/orders/1").status_code == 200, f"Once the lock went, GET /orders/1 failed: {app_error(srv)}"


@requirement(
    core=False,
    edit="app/db.py",
    step=3,
    hints=(
        "A database address that accepts TCP and never answers: how long does asyncpg wait to connect?",
        "asyncpg waits 60 s by default: pass timeout= (from CONNECT_TIMEOUT) in connect_args.",
    ),
)
def connect_wait_is_bounded(ctx: Context) -> None:
    """With a database that never answers, the app gives up within a few seconds."""
    env = _settings(ctx).env
    with socket.socket() as silent:  # the kernel accepts TCP connections for it; it never says a word
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        url = make_url(ctx.pg.url("asyncpg")).set(port=silent.getsockname()[1])
        try:
            ended = run_json(
                ctx.lab,
                START_AGAINST_SILENT,
                str(WAIT_AFTER_IMPORT),
                timeout=CONNECT_PATIENCE,
                env={**env, "DATABASE_URL": url.render_as_string(hide_password=False)},
            )
        except ChildTimeout:
            ended = {"outcome": f"no answer within {CONNECT_PATIENCE:.0f} s"}
        assert not ended["outcome"].startswith(("still waiting", "no answer")), (
            "With a database that accepts TCP but never answers and CONNECT_TIMEOUT=1, the app neither refused to "
            f"start nor answered: {ended['outcome']}."
        )
