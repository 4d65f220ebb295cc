"""08: the orders API judged by what a load balancer and an orchestrator see during database outages.

Served behind a TCP relay (``relay.py``) that can make the database silent. The app starts with its
database up: failing fast when it is down at startup is notebook 02's subject."""

from __future__ import annotations

from typing import Any, NamedTuple

import httpx
from sqlalchemy.engine import make_url

import labkit
from labkit import AppServer
from labkit.checking import Context, controlled, load_beside, outcome, poll_outcome, requirement

PROMPT = 5.0  # seconds within which /health/ready must say 503 once the database is gone or silent


class Served(NamedTuple):
    srv: AppServer
    relay: Any  # relay.Relay: freeze() / thaw()


def _served(ctx: Context) -> Served:
    def serve() -> Served:
        target = make_url(ctx.pg.url("asyncpg"))
        relay = load_beside(__file__, "relay.py").Relay(target.host, target.port)
        try:
            srv = ctx.lab.serve(
                ready_path="/health/live", timeout=30, env={"DATABASE_URL": relay.url(ctx.pg.url("asyncpg"))}
            )
        except BaseException:
            relay.close()
            raise
        ctx.on_end(relay.close)
        for path in ("/health/live", "/health/ready"):
            status = outcome(srv, path)
            assert status != "404", (
                f"GET {path} answered 404: give the app two probe routes, /health/live (touches "
                "nothing) and /health/ready (asks the database, 503 when it cannot)."
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
        "Split the probes: /health/live answers 200 and touches nothing; /health/ready asks the database and answers "
        "503 (JSONResponse(status_code=503) or Response) when it cannot.",
    ),
)
def ready_says_503_when_stopped(ctx: Context) -> None:
    """With the database stopped, /health/live answers 200 and /health/ready 503; once it is back, 200 again."""
    pg = controlled(ctx.pg)
    srv = _served(ctx).srv
    pg.stop()
    try:
        live = outcome(srv, "/health/live", timeout=3)
        assert live == "200", (
            f"With the database stopped, GET /health/live answered {live}: liveness must not ask the "
            "database, or an orchestrator restarts a process that has nothing wrong with it."
        )
        seen = poll_outcome(srv, "/health/ready", "503", within=PROMPT)
        assert seen[-1] == "503", (
            f"With the database stopped, GET /health/ready answered {', '.join(seen)} for "
            f"{PROMPT:.0f} s, never 503: a load balancer reads only the status code."
        )
    finally:
        pg.start()
    seen = poll_outcome(srv, "/health/ready", "200", within=10)
    assert seen[-1] == "200", f"The database was back, but GET /health/ready still answered {seen[-1]} after 10 s."
    failed = [o for o in _orders(srv, 20, 4) if o != "200"]
    assert not failed, (
        f"Once /health/ready said 200 again, {len(failed)} of 20 GET /orders failed ({', '.join(failed)})."
    )


@requirement(
    core=True,
    edit="app/main.py",
    step=3,
    hints=(
        "Make the database silent (connected, answering nothing): how long does GET /health/ready wait?",
        "Bound the check in time: asyncio.wait_for(check(), timeout=...) (and a connect timeout), "
        "and answer 503 when the time is up.",
    ),
)
def ready_says_503_when_silent(ctx: Context) -> None:
    """With the database silent, /health/ready answers 503 within 5 s."""
    srv, relay = _served(ctx)
    relay.freeze()
    try:
        live = outcome(srv, "/health/live", timeout=3)
        assert live == "200", f"With the database silent, GET /health/live answered {live} instead of 200."
        seen = poll_outcome(srv, "/health/ready", "503", within=PROMPT)
        assert seen[-1] == "503", (
            f"With the database silent (connected, answering nothing), GET /health/ready answered "
            f"{', '.join(seen)} within {PROMPT:.0f} s, never 503: bound the check in time."
        )
    finally:
        relay.thaw()


@requirement(
    core=False,
    edit="app/main.py",
    step=4,
    hints=(
        "Stop the database and call GET /orders: what does a 500 tell a client, and what would a 503 tell it?",
        "An exception handler for what an unreachable database raises (OSError from asyncpg's connect, a DBAPIError "
        "with connection_invalidated) that answers JSONResponse(..., status_code=503, headers={'Retry-After': '5'}).",
    ),
)
def users_get_503_when_stopped(ctx: Context) -> None:
    """With the database stopped, GET /orders answers 503 with Retry-After, not 500."""
    pg = controlled(ctx.pg)
    srv = _served(ctx).srv
    pg.stop()
    try:
        answers = [httpx.get(srv.url + "/orders", timeout=5) for _ in range(3)]
    finally:
        pg.start()
    said = [str(r.status_code) for r in answers]
    assert said == ["503"] * 3, (
        f'With the database stopped, 3 GET /orders answered {", ".join(said)}: a 500 says "bug in this app"; '
        'a 503 says "unavailable, try again".'
    )
    assert all(r.headers.get("retry-after") for r in answers), (
        "GET /orders answered 503 without a Retry-After header: tell clients when to try again."
    )
