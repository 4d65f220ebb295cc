"""Judge the orders API by what a load balancer and an orchestrator see during database outages.

The app is served behind a TCP relay (``relay.py``) so that the database can also be made
silent, not only stopped. Checked in this order, each with the database in a known state:

1. Database up: ``GET /live`` and ``GET /ready`` answer 200.
2. Database stopped: ``GET /live`` still answers 200 (a liveness probe that failed here would
   make an orchestrator restart a process that has nothing wrong with it), and ``GET /ready``
   answers 503 within a few seconds (a load balancer reads the status code, not the body).
3. Database started again: ``GET /ready`` turns 200, and from the first ``GET /orders`` that
   succeeds on, every request succeeds.
4. Database silent (connections stay open, no answer comes): ``GET /ready`` answers 503 within
   a few seconds instead of hanging for as long as the network stays silent.
5. Database restarted with no traffic in between: the very first requests succeed, so the
   pool hands out no connection that the server has closed.

How the app behaves when the database is down *at startup* (fail fast, or retry for a
bounded time) is a choice that depends on what runs the app, so it is not judged here;
the notebook measures both.

Only behaviour is judged: any route code, timeout mechanism or pool setting that produces
it passes.
"""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
from sqlalchemy.engine import make_url

import labkit

if TYPE_CHECKING:
    from labkit import AppServer, Lab, Postgres

PROMPT = 5.0  # seconds within which /ready must say 503 once the database is gone or silent
BURST = 5  # concurrent GET /orders after a quiet restart (the pool holds 5 connections)


def _relay_class() -> Any:
    spec = importlib.util.spec_from_file_location("labkit_relay_08", Path(__file__).with_name("relay.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.Relay


def _get(srv: AppServer, path: str, timeout: float) -> tuple[str, float]:
    """One request on a fresh connection: its status code (or the exception's name) and how long it took."""
    began = time.monotonic()
    try:
        outcome = str(httpx.get(srv.url + path, timeout=timeout).status_code)
    except httpx.HTTPError as exc:
        outcome = type(exc).__name__
    return outcome, time.monotonic() - began


def _wait_for(srv: AppServer, path: str, wanted: str, within: float) -> list[str]:
    """Ask ``path`` until it answers ``wanted`` or ``within`` seconds pass; every outcome seen, in order."""
    deadline = time.monotonic() + within
    seen: list[str] = []
    while True:
        outcome, _ = _get(srv, path, timeout=max(min(3.0, deadline - time.monotonic()), 0.5))
        seen.append(outcome)
        if outcome == wanted or time.monotonic() >= deadline:
            return seen
        time.sleep(0.2)


def _burst(srv: AppServer, n: int) -> list[str]:
    return [s.outcome for s in labkit.load(srv.url + "/orders", requests=n, concurrency=n, timeout=10).samples]


def _routes_answer(srv: AppServer) -> None:
    for path in ("/live", "/ready"):
        outcome, _ = _get(srv, path, timeout=5)
        assert outcome != "404", (
            f"GET {path} answered 404. Give the app two probe routes: /live (is the process alive? it "
            "touches nothing else) and /ready (can it serve? it asks the database, answering 503 when it cannot)."
        )
        assert outcome == "200", f"With the database up, GET {path} answered {outcome} instead of 200."


def _database_stopped(srv: AppServer, pg: Postgres) -> None:
    pg.stop()
    try:
        live, _ = _get(srv, "/live", timeout=3)
        assert live == "200", (
            f"With the database stopped, GET /live answered {live}. Liveness must not ask the database: an "
            "orchestrator restarts a process whose liveness probe fails, and a restart brings no database back."
        )
        seen = _wait_for(srv, "/ready", "503", within=PROMPT)
        assert seen[-1] == "503", (
            f"With the database stopped, GET /ready answered {', '.join(seen)} for {PROMPT:.0f} s, never 503. "
            "A load balancer reads only the status code: answer 503 when the database check fails."
        )
    finally:
        pg.start()


def _database_back(srv: AppServer) -> None:
    seen = _wait_for(srv, "/ready", "200", within=10)
    assert seen[-1] == "200", (
        f"The database was back, but GET /ready still answered {seen[-1]} after 10 s; it must recover by itself."
    )
    outcomes = [s.outcome for s in labkit.load(srv.url + "/orders", requests=20, concurrency=4, timeout=10).samples]
    failed = [o for o in outcomes if o != "200"]
    assert not failed, (
        f"After the database came back and /ready said 200, {len(failed)} of 20 GET /orders failed "
        f"({', '.join(failed)})."
    )


def _database_silent(srv: AppServer, relay: Any) -> None:
    relay.freeze()
    try:
        live, _ = _get(srv, "/live", timeout=3)
        assert live == "200", f"With the database silent, GET /live answered {live} instead of 200."
        began = time.monotonic()
        seen = _wait_for(srv, "/ready", "503", within=PROMPT)
        took = time.monotonic() - began
        assert seen[-1] == "503", (
            f"With the database silent (connected, answering nothing), GET /ready answered {', '.join(seen)} in "
            f"{took:.0f} s, never 503. A check that waits as long as the network stays silent gives no answer at "
            "all: bound it in time, and answer 503 when the time is up."
        )
    finally:
        relay.thaw()


def _no_stale_connection_after_restart(srv: AppServer, pg: Postgres) -> None:
    warm = _burst(srv, BURST)
    assert warm == ["200"] * BURST, f"GET /orders failed before the restart: {warm}"
    pg.restart()  # no request in between: the pooled connections are closed by the server, unknown to the app
    after = _burst(srv, BURST)
    failed = [o for o in after if o != "200"]
    assert not failed, (
        f"Right after a database restart with no traffic in between, {len(failed)} of {BURST} concurrent GET /orders "
        "failed: the pool handed out a connection the server had closed. Have the pool test a connection before "
        "handing it out (pool_pre_ping=True)."
    )


def check(lab: Lab) -> None:
    pg = lab.pg
    assert pg is not None, "This check needs a server: labkit.Lab(name, pg=labkit.postgres())."
    target = make_url(pg.url("asyncpg"))
    relay = _relay_class()(target.host, target.port)
    try:
        srv = lab.serve("app.main:app", ready_path="/live", timeout=30,
                        env={"DATABASE_URL": relay.url(pg.url("asyncpg"))})
        _routes_answer(srv)
        assert _burst(srv, BURST) == ["200"] * BURST, "GET /orders failed with the database up."
        _database_stopped(srv, pg)
        _database_back(srv)
        _database_silent(srv, relay)
        _no_stale_connection_after_restart(srv, pg)
    finally:
        relay.close()
