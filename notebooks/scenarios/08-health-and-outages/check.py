"""08: the orders API judged by what a load balancer and an orchestrator see during database outages.

Served behind a TCP relay (``relay.py``) that can make the database silent. How the app behaves when
the database is down *at startup* depends on what runs it: the notebook measures both choices."""

from __future__ import annotations

from typing import Any, NamedTuple

from sqlalchemy.engine import make_url

import labkit
from labkit import AppServer
from labkit.checking import Context, controlled, load_beside, outcome, poll_outcome, requirement

PROMPT = 5.0  # seconds within which /ready must say 503 once the database is gone or silent
BURST = 5  # concurrent GET /orders after a quiet restart (the pool holds 5 connections)


class Served(NamedTuple):
    srv: AppServer
    relay: Any  # relay.Relay: freeze() / thaw()


def _served(ctx: Context) -> Served:
    def serve() -> Served:
        target = make_url(ctx.pg.url("asyncpg"))
        relay = load_beside(__file__, "relay.py").Relay(target.host, target.port)
        try:
            srv = ctx.lab.serve(ready_path="/live", timeout=30, env={"DATABASE_URL": relay.url(ctx.pg.url("asyncpg"))})
        except BaseException:
            relay.close()
            raise
        ctx.on_end(relay.close)
        for path in ("/live", "/ready"):
            status = outcome(srv, path)
            assert status != "404", (
                f"GET {path} answered 404: give the app two probe routes, /live (touches "
                "nothing) and /ready (asks the database, 503 when it cannot)."
            )
            assert status == "200", f"With the database up, GET {path} answered {status} instead of 200."
        return Served(srv, relay)

    return ctx.shared("app", serve)


def _orders(srv: AppServer, requests: int, concurrency: int) -> list[str]:
    """The outcomes of a burst of GET /orders."""
    result = labkit.load(srv.url + "/orders", requests=requests, concurrency=concurrency, timeout=10)
    return [sample.outcome for sample in result.samples]


@requirement(
    core=True,
    edit="app/main.py",
    step=(1, 2),
    hints=(
        "Stop the database and ask /health: what does a load balancer read, the body or the status code?",
        "Split the probes: /live answers 200 and touches nothing; /ready asks the database and answers "
        "503 (JSONResponse(status_code=503) or Response) when it cannot.",
    ),
)
def ready_says_503_when_stopped(ctx: Context) -> None:
    """With the database stopped, /live answers 200 and /ready 503; once it is back, /ready says 200 again."""
    pg = controlled(ctx.pg)
    srv = _served(ctx).srv
    pg.stop()
    try:
        live = outcome(srv, "/live", timeout=3)
        assert live == "200", (
            f"With the database stopped, GET /live answered {live}: liveness must not ask the "
            "database, or an orchestrator restarts a process that has nothing wrong with it."
        )
        seen = poll_outcome(srv, "/ready", "503", within=PROMPT)
        assert seen[-1] == "503", (
            f"With the database stopped, GET /ready answered {', '.join(seen)} for "
            f"{PROMPT:.0f} s, never 503: a load balancer reads only the status code."
        )
    finally:
        pg.start()
    seen = poll_outcome(srv, "/ready", "200", within=10)
    assert seen[-1] == "200", f"The database was back, but GET /ready still answered {seen[-1]} after 10 s."
    failed = [o for o in _orders(srv, 20, 4) if o != "200"]
    assert not failed, f"Once /ready said 200 again, {len(failed)} of 20 GET /orders failed ({', '.join(failed)})."


@requirement(
    core=True,
    edit="app/main.py",
    step=3,
    hints=(
        "Make the database silent (connected, answering nothing): how long does GET /ready wait?",
        "Bound the check in time: asyncio.wait_for(check(), timeout=...) (and a connect timeout), "
        "and answer 503 when the time is up.",
    ),
)
def ready_says_503_when_silent(ctx: Context) -> None:
    """With the database silent, /ready answers 503 within 5 s."""
    srv, relay = _served(ctx)
    relay.freeze()
    try:
        live = outcome(srv, "/live", timeout=3)
        assert live == "200", f"With the database silent, GET /live answered {live} instead of 200."
        seen = poll_outcome(srv, "/ready", "503", within=PROMPT)
        assert seen[-1] == "503", (
            f"With the database silent (connected, answering nothing), GET /ready answered "
            f"{', '.join(seen)} within {PROMPT:.0f} s, never 503: bound the check in time."
        )
    finally:
        relay.thaw()


@requirement(
    core=False,
    edit="app/db.py",
    step=4,
    hints=(
        "Restart PostgreSQL with no request in between: what is in the pool when the next request comes?",
        "pool_pre_ping=True on the engine tests each connection as it leaves the pool and replaces a dead one.",
    ),
)
def first_requests_after_restart(ctx: Context) -> None:
    """Right after a quiet database restart, the very first requests succeed."""
    pg = controlled(ctx.pg)
    srv = _served(ctx).srv
    warm = _orders(srv, BURST, BURST)
    assert warm == ["200"] * BURST, f"GET /orders failed before the restart: {warm}"
    pg.restart()  # no request in between: the pooled connections are closed by the server, unknown to the app
    failed = [o for o in _orders(srv, BURST, BURST) if o != "200"]
    assert not failed, (
        f"Right after a database restart with no traffic in between, {len(failed)} of {BURST} "
        "GET /orders failed: the pool handed out connections the server had closed."
    )
