"""Measurements for notebook 07 and its deep dive 07a: one documented call each.

Loaded in a notebook as ``ref.harness`` (see ``labkit.Lab.harness``); tested by
``tests/test_harness_07.py``. The calls on the app take the lab whose project they serve, so the
learner's copy and the walk-through's copy are measured the same way.

A pool is a bounded queue per process (notebook 07):
- :func:`queue`, :func:`plot_queue`: 20 concurrent reports against a pool of 2 with a 1 s timeout;
- :func:`per_process`: 50 + 100 per process against max_connections=100, for a few deployments;
- :func:`budget`: the server's limit and its reserved slots;
- :func:`limits`: connections opened until PostgreSQL refuses, as a superuser and as an ordinary role;
- :func:`two_processes`, :func:`plot_processes`: two processes of the app under load, and the server's count.

Dead connections and waits without an end (deep dive 07a):
- :func:`outages`: requests before and after PostgreSQL ends the apps' connections;
- :func:`recycle`: what ``pool_recycle`` replaces, and what it hands out;
- :func:`ping_statements`, :func:`checkout_cost`, :func:`request_cost`: what ``pool_pre_ping`` sends and costs;
- :func:`migration_lock`, :func:`abandoned_query`, :func:`statement_bounds`, :func:`locked_request`: a lock;
- :func:`connect_bounds`, :func:`start_against_silent`: a database that accepts TCP and never answers.
"""

from __future__ import annotations

import asyncio
import inspect
import socket
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import asyncpg
import httpx
from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

import labkit
from labkit.checking import (
    ChildTimeout,
    controlled,
    exception_lines,
    own_connection,
    run_json,
    scratch_role,
)

if TYPE_CHECKING:
    from matplotlib.figure import Figure

APP = "orders-api"  # the application_name the app sets on its connections
NOTEBOOK = "notebook-07"  # the application_name of the notebook's own connections
SMALL = {"POOL_SIZE": "2", "MAX_OVERFLOW": "0", "POOL_TIMEOUT": "1"}  # a pool small enough to queue at once
SCALED = {"POOL_SIZE": "3", "MAX_OVERFLOW": "6", "POOL_TIMEOUT": "5"}  # 50 + 100, scaled down to 3 + 6
SMALL_SERVER = 12  # max_connections for the arithmetic: small enough to fill in a second
QUEUEPOOL = "QueuePool limit of size 2 overflow 0 reached"
TOO_MANY = "sorry, too many clients already"  # every PostgreSQL version says this
RESERVED = "remaining connection slots are reserved"  # 15 and 16+ differ in what follows
START_AGAINST_SILENT = Path(__file__).with_name("start_against_silent.py")
CONNECT_PATIENCE = 20.0  # as check.py: CONNECT_TIMEOUT=1 plus a start on a busy machine
SCHEMA = (
    "create table if not exists orders (id int primary key, item varchar(100) not null, quantity int not null)",
    "insert into orders select g, 'item ' || g, g % 5 + 1 from generate_series(1, 20) g on conflict do nothing",
)


def orders(pg: labkit.Postgres) -> None:
    """The app's table, 20 orders (the app does not create it)."""
    for statement in SCHEMA:
        pg.query(statement)


def logged_errors(srv: labkit.AppServer, at_least: int = 0, timeout: float = 3.0) -> list[str]:
    """The SQLAlchemy exceptions the app logged, one line each; waits up to ``timeout`` for ``at_least`` of them.

    A 500's traceback is logged just after the response is sent.
    """
    lines: list[str] = []

    def enough() -> bool:
        lines[:] = [
            line.split(" (Background on this error")[0]
            for line in exception_lines(srv.logs())
            if line.startswith("sqlalchemy.exc.")
        ]
        return len(lines) >= at_least

    try:
        labkit.wait_until(enough, timeout=timeout, interval=0.02, what="the app's errors in its log")
    except labkit.WaitTimeout:
        pass  # the caller judges what was logged
    return list(lines)


def _sample_connections(pg: labkit.Postgres, *running: Any) -> tuple[tuple[float, int], ...]:
    """(seconds, connections of the app on the server) every ~20 ms until every load has finished."""
    began, trace = time.perf_counter(), []
    while True:
        done = all(f.done() for f in running)  # asked first: the last sample is taken after the loads ended
        trace.append((time.perf_counter() - began, pg.connections(APP)))
        if done:
            return tuple(trace)
        time.sleep(0.02)


# -- a bounded queue -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Queue:
    """20 concurrent GET /report against a pool of 2 (no overflow, pool_timeout=1)."""

    load: labkit.LoadResult
    at_start: int  # the app's connections on the server once it answered /health
    after: int  # ... once the burst was over
    logged: tuple[str, ...]  # the SQLAlchemy errors the app logged

    @property
    def served(self) -> list[float]:
        return sorted(s.seconds for s in self.load.samples if s.ok)

    @property
    def failed(self) -> list[float]:
        return sorted(s.seconds for s in self.load.samples if not s.ok)

    @property
    def outcomes(self) -> dict[str, int]:
        return dict(sorted(self.load.outcomes.items()))


def queue(lab: labkit.Lab, requests: int = 20) -> Queue:
    """Serve the app with :data:`SMALL` and send ``requests`` GET /report at once (each holds its connection 0.2 s).

    Counts the app's connections on the server right after startup and after the burst; the app
    is stopped at the end.
    """
    orders(lab.pg)
    lab.pg.connections(APP, wait_for=0)
    srv = lab.serve("app.main:app", ready_path="/health", env=SMALL)
    try:
        at_start = lab.pg.connections(APP)
        result = labkit.load(srv.url + "/report", requests=requests, concurrency=requests, timeout=15, deadline=60)
        logged = logged_errors(srv, at_least=result.errors)
        after = lab.pg.connections(APP, wait_for=2)
    finally:
        srv.kill()  # SIGKILL: the kernel closes its connections all the same
        lab.pg.connections(APP, wait_for=0)
    return Queue(result, at_start, after, tuple(logged))


def plot_queue(run: Queue, pool_timeout: float = 1.0) -> Figure:
    """Each request's latency, fastest first; red bars are 500s."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 3))
    ranked = sorted(run.load.samples, key=lambda s: s.seconds)
    ax.bar(
        range(1, len(ranked) + 1),
        [s.seconds for s in ranked],
        color=["tab:blue" if s.ok else "tab:red" for s in ranked],
    )
    ax.axhline(pool_timeout, color="grey", linestyle=":", label=f"pool_timeout = {pool_timeout:g} s")
    ax.set(xlabel="requests, fastest first (red: 500)", ylabel="latency (s)", title="20 reports, 2 connections")
    ax.legend(loc="upper left")
    fig.tight_layout()
    plt.close(fig)
    return fig


# -- the arithmetic --------------------------------------------------------------------------------


def per_process(
    pool_size: int = 50,
    max_overflow: int = 100,
    max_connections: int = 100,
    deployments: tuple = ((1, 1), (2, 1), (4, 1), (4, 2)),
) -> labkit.Table:
    """``pool_size`` and ``pool_size + max_overflow`` times the processes of each (workers, replicas) deployment."""
    rows = []
    for workers, replicas in deployments:
        processes = workers * replicas
        most = (pool_size + max_overflow) * processes
        rows.append(
            (
                str(workers),
                str(replicas),
                str(pool_size * processes),
                str(most),
                "yes" if most <= max_connections else "no",
            )
        )
    return labkit.Table(
        (
            "uvicorn workers",
            "replicas",
            "idle after a burst (pool_size)",
            "at most (+ max_overflow)",
            f"fits max_connections={max_connections}?",
        ),
        tuple(rows),
    )


@dataclass(frozen=True)
class Budget:
    max_connections: int
    superuser_reserved: int  # superuser_reserved_connections
    reserved: int  # reserved_connections (PostgreSQL 16+; 0 before)
    others: int  # client connections that are not the app's (labkit's admin session is one)

    def share(self, processes: int, headroom: int = 0) -> int:
        """A process's share, as the fixed app computes it: (max_connections - reserved - headroom) // processes.

        The headroom covers the others (``others``: psql, migrations, monitoring, labkit).
        """
        return (self.max_connections - self.superuser_reserved - self.reserved - headroom) // processes


def _settled_others(pg: labkit.Postgres) -> None:
    """Wait (up to 5 s) for client connections that are leaving to be gone: right after a restart the
    container backend's readiness probe can still hold one (measured: 2 instead of 1 on PostgreSQL 17)."""

    def only_labkit_left() -> bool:
        query = "select count(*) from pg_stat_activity where backend_type = 'client backend' and application_name <> %s"
        return int(pg.query(query, APP)[0][0]) <= 1

    try:
        labkit.wait_until(only_labkit_left, timeout=5, what="other clients to disconnect")
    except labkit.WaitTimeout:
        pass  # a server with clients of its own (LABKIT_DATABASE_URL): count them, as budget() does


def budget(pg: labkit.Postgres) -> Budget:
    """The server's limit, its reserved slots, and the connections already taken by others (labkit's included)."""
    _settled_others(pg)
    limit, superuser, reserved, backends = pg.query(
        "select current_setting('max_connections')::int, current_setting('superuser_reserved_connections')::int, "
        "coalesce(current_setting('reserved_connections', true), '0')::int, "
        "(select count(*) from pg_stat_activity where backend_type = 'client backend' and application_name <> %s)",
        APP,
    )[0]
    return Budget(int(limit), int(superuser), int(reserved), int(backends))


@dataclass(frozen=True)
class Refusal:
    login: str
    opened: int  # connections opened before PostgreSQL refused
    sqlstate: str  # "53300": too_many_connections
    message: str


@dataclass(frozen=True, repr=False)
class Limits(labkit.Tabular):
    """Connections opened until refused, once as the lab's superuser and once as an ordinary role."""

    rows: tuple[Refusal, ...]

    def __getitem__(self, login: str) -> Refusal:
        return next(r for r in self.rows if r.login == login)

    def table(self) -> labkit.Table:
        return labkit.Table(
            ("logged in as", "connections opened", "then: SQLSTATE", "message"),
            tuple((r.login, str(r.opened), r.sqlstate, r.message) for r in self.rows),
        )


async def _open_until_refused(login: str, **connect: Any) -> Refusal:
    opened = []
    sqlstate, message = "-", "(none)"
    try:
        while len(opened) < 500:
            opened.append(await asyncpg.connect(**connect, server_settings={"application_name": NOTEBOOK}))
    except asyncpg.PostgresError as exc:
        sqlstate, message = exc.sqlstate, str(exc)
    finally:
        for conn in opened:
            await conn.close()
    return Refusal(login, len(opened), sqlstate, message)


def _connect_kw(pg: labkit.Postgres) -> dict[str, Any]:
    url = make_url(pg.url("asyncpg"))
    return {
        "host": url.host,
        "port": url.port,
        "user": url.username,
        "password": url.password,
        "database": url.database,
    }


async def limits(pg: labkit.Postgres) -> Limits:
    """Open connections until PostgreSQL refuses: as the lab's superuser, then as a scratch ordinary role.

    Only on a server labkit started (it fills the server up for a moment); the connections are closed at once.
    """
    controlled(pg)
    kw = _connect_kw(pg)
    rows = [await _open_until_refused("superuser", **kw)]
    with scratch_role(pg, "orders_app", "orders-app-pw") as role:
        rows.append(await _open_until_refused("ordinary role", **{**kw, "user": role, "password": "orders-app-pw"}))
    pg.connections(NOTEBOOK, wait_for=0)
    return Limits(tuple(rows))


@dataclass(frozen=True, repr=False)
class Processes(labkit.Tabular):
    """Two processes of the app, each under its own load of concurrent reports, and the server's count meanwhile."""

    label: str
    loads: tuple[labkit.LoadResult, ...]
    trace: tuple[tuple[float, int], ...]  # (seconds, the app's connections on the server)
    logged: tuple[tuple[str, ...], ...]  # the SQLAlchemy errors each process logged
    sized: tuple[str, ...]  # what each process logged about its pool (the fixed app logs its budget)

    @property
    def errors(self) -> set[str]:
        """Every distinct SQLAlchemy error either process logged."""
        return {line for lines in self.logged for line in lines}

    @property
    def peak(self) -> int:
        return max(n for _, n in self.trace)

    @property
    def outcomes(self) -> dict[str, int]:
        total: Counter[str] = Counter()
        for load in self.loads:
            total.update(load.outcomes)
        return dict(sorted(total.items()))

    def table(self) -> labkit.Table:
        return labkit.Table(
            ("process", "outcomes", "peak connections of both", "errors logged"),
            tuple(
                (str(i), str(dict(sorted(load.outcomes.items()))), str(self.peak), str(dict(Counter(lines))))
                for i, (load, lines) in enumerate(zip(self.loads, self.logged, strict=True), start=1)
            ),
        )


def two_processes(
    lab: labkit.Lab, label: str, env: dict[str, str], requests: int = 12, concurrency: int = 9
) -> Processes:
    """Start two processes of the app side by side (as two workers or replicas), load each with GET /report.

    Each gets ``requests`` reports, ``concurrency`` at a time; the app's connections on the server are
    sampled every ~20 ms meanwhile. Both processes are killed at the end and their connections waited for.
    """
    orders(lab.pg)
    lab.pg.connections(APP, wait_for=0)
    with ThreadPoolExecutor(2) as starting:
        pair = list(starting.map(lambda _: lab.serve("app.main:app", ready_path="/health", env=env), range(2)))
    try:
        running = [
            labkit.start_load(p.url + "/report", requests=requests, concurrency=concurrency, timeout=15, deadline=60)
            for p in pair
        ]
        trace = _sample_connections(lab.pg, *running)
        loads = tuple(r.result() for r in running)
        logged = tuple(tuple(logged_errors(p, at_least=load.errors)) for p, load in zip(pair, loads, strict=True))
        sized = tuple(line for p in pair for line in p.logs().splitlines() if line.startswith("INFO:     app.db:"))
    finally:
        for p in pair:
            p.kill()  # SIGKILL: the kernel closes its connections all the same
        lab.pg.connections(APP, wait_for=0)
    return Processes(label, loads, trace, logged, sized)


def plot_processes(*runs: Processes, slots: int, share: int) -> Figure:
    """The app's connections on the server over time, for each run, against the server's free slots."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 3))
    for run in runs:
        ax.step([t for t, _ in run.trace], [n for _, n in run.trace], where="post", label=run.label)
    ax.axhline(slots, color="tab:red", linestyle=":", label=f"slots left on the server ({slots})")
    ax.axhline(2 * share, color="grey", linestyle=":", label=f"2 processes x {share}")
    ax.set(xlabel="time (s)", ylabel="app connections", title="two processes, 9 concurrent reports each")
    ax.legend(loc="lower right", fontsize="small")
    fig.tight_layout()
    plt.close(fig)
    return fig


# -- dead connections (deep dive 07a) ----------------------------------------------------------------


def outages(pg: labkit.Postgres, servers: list[labkit.AppServer]) -> dict[str, list[list[int]]]:
    """For each outage: one request per app, the outage, then three more; the statuses, per app.

    The outages: ``pg_terminate_backend`` on the apps' connections, and a restart of PostgreSQL
    (only on a server labkit started).
    """
    kinds = {"pg_terminate_backend": lambda: pg.terminate(APP)}
    if pg.server.controllable:
        kinds["server restart"] = pg.restart
    seen = {}
    for name, outage in kinds.items():
        statuses = [[s.get("/orders/1", timeout=15).status_code] for s in servers]  # a connection in each pool
        pg.wait_for_idle(APP)  # ... back in its pool, nothing in flight
        outage()
        pg.connections(APP, wait_for=0)  # the server has ended the apps' sessions
        for s, row in zip(servers, statuses, strict=True):
            row += [s.get("/orders/1", timeout=15).status_code for _ in range(3)]
        seen[name] = statuses
    return seen


def _engine(pg: labkit.Postgres, **pool: Any) -> AsyncEngine:
    """An async engine of the notebook's own: one connection, unless ``pool`` says otherwise."""
    return create_async_engine(
        pg.url("asyncpg"),
        **{
            "pool_size": 1,
            "max_overflow": 0,
            "connect_args": {"server_settings": {"application_name": NOTEBOOK}},
            **pool,
        },
    )


@dataclass(frozen=True)
class Recycle:
    same_right_away: bool  # two checkouts in a row got the same backend
    new_after_rest: bool  # after 1.2 s of rest (pool_recycle=1), a new one
    young_kill: str  # the next checkout after the young connection was killed: "answered" or an exception name


async def recycle(pg: labkit.Postgres) -> Recycle:
    """An engine with ``pool_recycle=1``: the backend's pid at three checkouts (the last after 1.2 s of rest),
    then the (young) connection killed and one more checkout."""
    engine = _engine(pg, pool_recycle=1)

    async def backend_pid() -> int:
        async with engine.connect() as conn:
            return int(await conn.scalar(text("select pg_backend_pid()")))

    try:
        first, again = await backend_pid(), await backend_pid()
        await asyncio.sleep(1.2)
        rested = await backend_pid()
        pg.terminate(NOTEBOOK)
        pg.connections(NOTEBOOK, wait_for=0)
        try:
            await backend_pid()
            young_kill = "answered"
        except Exception as exc:  # the dead connection, as the driver reports it
            young_kill = type(exc).__name__
    finally:
        await engine.dispose()
    return Recycle(again == first, rested != first, young_kill)


async def _one_checkout(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        await conn.execute(text("select 1"))


async def ping_statements(pg: labkit.Postgres) -> dict[str, list[str]]:
    """The statements one checkout of a pooled connection sends by the simple protocol, with and without the pre-ping.

    asyncpg's query logger, attached to the engine's connections, records them (the prepared
    ``select 1`` itself does not appear there).
    """
    sent = {}
    for name, ping in (("pool_pre_ping=False", False), ("pool_pre_ping=True", True)):
        engine = _engine(pg, pool_pre_ping=ping)
        seen: list[str] = []

        @event.listens_for(engine.sync_engine, "connect")
        def log_queries(dbapi_connection: Any, record: Any, seen: list[str] = seen) -> None:
            dbapi_connection.driver_connection.add_query_logger(lambda query: seen.append(query.query))

        try:
            await _one_checkout(engine)  # opens the connection (a ping is only sent on reuse)
            seen.clear()
            await _one_checkout(engine)
            await asyncio.sleep(0.05)  # the logger is called soon after, not inside, the statement
            sent[name] = list(seen)
        finally:
            await engine.dispose()
    return sent


def ms(values: list[float], q: float) -> float:
    """The ``q``th percentile of ``values`` (seconds), in milliseconds."""
    return sorted(values)[int(q / 100 * (len(values) - 1))] * 1000


@dataclass(frozen=True, repr=False)
class Cost(labkit.Tabular):
    """Timings of two variants, interleaved so that both see the same machine noise."""

    seconds: dict[str, list[float]]

    @property
    def added(self) -> float:
        """Median of the second variant minus median of the first, in ms."""
        plain, pinged = self.seconds.values()
        return ms(pinged, 50) - ms(plain, 50)

    def table(self) -> labkit.Table:
        return labkit.Table(
            ("variant", "runs", "median ms", "p95 ms"),
            tuple(
                (name, str(len(values)), f"{ms(values, 50):.3f}", f"{ms(values, 95):.3f}")
                for name, values in self.seconds.items()
            ),
        )


async def checkout_cost(pg: labkit.Postgres, rounds: int = 200) -> Cost:
    """``rounds`` checkouts (each runs ``select 1``) on two engines, without and with the pre-ping, alternating."""
    engines = {"pool_pre_ping=False": _engine(pg), "pool_pre_ping=True": _engine(pg, pool_pre_ping=True)}
    timings: dict[str, list[float]] = {name: [] for name in engines}
    try:
        for i in range(rounds):
            order = list(engines.items())
            for name, engine in order if i % 2 else order[::-1]:
                began = time.perf_counter()
                await _one_checkout(engine)
                timings[name].append(time.perf_counter() - began)
    finally:
        for engine in engines.values():
            await engine.dispose()
    return Cost(timings)


def request_cost(before: labkit.AppServer, after: labkit.AppServer, requests: int = 120) -> Cost:
    """``requests`` GET /orders/{n}, one after another, alternating between the apps (without, with the pre-ping)."""
    timings: dict[str, list[float]] = {"no pre-ping": [], "pre-ping": []}
    with httpx.Client(timeout=15) as client:
        for i in range(requests):
            target, name = (before, "no pre-ping") if i % 2 else (after, "pre-ping")
            began = time.perf_counter()
            client.get(f"{target.url}/orders/{i % 20 + 1}").raise_for_status()
            timings[name].append(time.perf_counter() - began)
    return Cost(timings)


# -- waits without an end (deep dive 07a) -----------------------------------------------------------


@contextmanager
def migration_lock(pg: labkit.Postgres) -> Iterator[None]:
    """Another session takes the lock an ``ALTER TABLE orders`` would take, and keeps it until the block ends."""
    holder = own_connection(pg, "migration")
    try:
        with holder.cursor() as cur:
            cur.execute("lock table orders in access exclusive mode")
        yield
    finally:
        holder.rollback()
        holder.close()


@dataclass(frozen=True)
class Abandoned:
    client_saw: str  # what the client got within its 1 s: "an answer" or the exception's name
    meanwhile: tuple[tuple[str, str, str], ...]  # the app's active sessions: (state, wait_event_type, query)
    after: tuple[str, ...]  # the states of the app's connections once the lock was released


def abandoned_query(pg: labkit.Postgres, srv: labkit.AppServer) -> Abandoned:
    """With the orders table locked, a client asks for an order and gives up after 1 s; what does the app do?"""
    with migration_lock(pg):
        try:
            httpx.get(srv.url + "/orders/1", timeout=1.0)
            client_saw = "an answer"
        except httpx.TimeoutException as exc:
            client_saw = type(exc).__name__
        time.sleep(0.2)
        meanwhile = pg.query(
            "select state, wait_event_type, trim(split_part(query, E'\\n', 1)) from pg_stat_activity "
            "where application_name = %s and state = 'active'",
            APP,
        )
    pg.wait_for_idle(APP)
    after = sorted(
        state for (state,) in pg.query("select state from pg_stat_activity where application_name = %s", APP)
    )
    return Abandoned(client_saw, tuple(tuple(map(str, row)) for row in meanwhile), tuple(after))  # type: ignore[misc]


@dataclass(frozen=True)
class Bounded:
    outcome: str
    seconds: float
    usable_after: bool  # the connection still answered select 1


async def _blocked_read(pg: labkit.Postgres, **connect: Any) -> Bounded:
    conn = await asyncpg.connect(**_connect_kw(pg), **connect)
    began = time.perf_counter()
    try:
        await asyncio.wait_for(conn.fetch("select count(*) from orders"), 1.0)  # the notebook's own patience
        outcome = "answered"
    except TimeoutError:
        outcome = "TimeoutError" if "command_timeout" in connect else "still waiting after 1 s"
    except asyncpg.PostgresError as exc:
        outcome = f"{type(exc).__name__}: {exc}"
    waited = time.perf_counter() - began
    usable = await conn.fetchval("select 1") == 1
    await conn.close()
    return Bounded(outcome, waited, usable)


STATEMENT_SETTINGS = {
    "no timeout (the defaults)": {},
    "command_timeout=0.5 (asyncpg, client side)": {"command_timeout": 0.5},
    "statement_timeout=500 ms (server setting)": {"server_settings": {"statement_timeout": "500"}},
}


async def statement_bounds(pg: labkit.Postgres) -> dict[str, Bounded]:
    """Three connections of the notebook's own read the locked table at once, one per :data:`STATEMENT_SETTINGS`."""
    with migration_lock(pg):
        results = await asyncio.gather(*(_blocked_read(pg, **kw) for kw in STATEMENT_SETTINGS.values()))
    return dict(zip(STATEMENT_SETTINGS, results, strict=True))


@dataclass(frozen=True)
class Locked:
    status: int  # what the app answered while the table was locked
    seconds: float
    active_after: int  # the app's statements still running right after the answer
    logged: str  # the last error the app logged
    released: int  # the status once the lock was gone


def locked_request(pg: labkit.Postgres, srv: labkit.AppServer) -> Locked:
    """GET /orders/1 while the table is locked (the client waits up to 8 s), then once the lock is gone."""
    with migration_lock(pg):
        began = time.perf_counter()
        status = srv.get("/orders/1", timeout=8).status_code
        seconds = time.perf_counter() - began
        active = pg.query("select count(*) from pg_stat_activity where application_name = %s and state = 'active'", APP)
    released = srv.get("/orders/1", timeout=15).status_code
    errors = logged_errors(srv, at_least=1)
    return Locked(status, seconds, int(active[0][0]), errors[-1] if errors else "", released)


@contextmanager
def _silent_server() -> Iterator[int]:
    """A port where the kernel completes the TCP handshake and nobody ever reads or writes (a paused server)."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        yield silent.getsockname()[1]


async def _try_connect(pg: labkit.Postgres, port: int, patience: float, **connect: Any) -> tuple[str, float]:
    began = time.perf_counter()
    try:
        conn = await asyncio.wait_for(asyncpg.connect(**{**_connect_kw(pg), "port": port}, **connect), patience)
        await conn.close()
        outcome = "connected"
    except TimeoutError:
        outcome = "TimeoutError" if "timeout" in connect else f"still waiting after {patience:.0f} s"
    except OSError as exc:
        outcome = type(exc).__name__
    return outcome, time.perf_counter() - began


@dataclass(frozen=True, repr=False)
class Connects(labkit.Tabular):
    default_timeout: float  # asyncpg.connect's default timeout, in seconds
    rows: dict[str, tuple[str, float]]  # server -> (outcome, seconds)

    def table(self) -> labkit.Table:
        return labkit.Table(("server", "outcome"), tuple((k, v[0]) for k, v in self.rows.items()))


async def connect_bounds(pg: labkit.Postgres) -> Connects:
    """asyncpg.connect to a closed port, to a silent server (default timeout, waited 1 s) and with timeout=0.5."""
    with _silent_server() as silent:
        got = await asyncio.gather(
            _try_connect(pg, labkit.free_port(), 2.0),
            _try_connect(pg, silent, 1.0),
            _try_connect(pg, silent, 2.0, timeout=0.5),
        )
    names = ("nothing listens on the port", "silent server, default timeout", "silent server, timeout=0.5")
    default = inspect.signature(asyncpg.connect).parameters["timeout"].default
    return Connects(float(default), dict(zip(names, got, strict=True)))


def start_against_silent(lab: labkit.Lab, env: dict[str, str]) -> dict[str, Any]:
    """Start the app (its lifespan, then GET /orders/1) against a silent database, in a child process.

    ``start_against_silent.py`` (also the check's) prints how it ended: ``{"outcome": "refused to
    start (TimeoutError)" | "answered 500" | "still waiting after 10 s", "seconds": ...}``, its clock
    started once the app was imported; a child that has not said so after :data:`CONNECT_PATIENCE`
    seconds is stopped and reported as ``{"outcome": "no answer"}``.
    """
    with _silent_server() as silent:
        url = make_url(lab.pg.url("asyncpg")).set(port=silent).render_as_string(hide_password=False)
        try:
            return dict(
                run_json(lab, START_AGAINST_SILENT, "10", timeout=CONNECT_PATIENCE, env={**env, "DATABASE_URL": url})
            )
        except ChildTimeout:
            return {"outcome": "no answer", "seconds": CONNECT_PATIENCE}


# -- a burst on pool_size + max_overflow (report 000's "max_overflow handles traffic spikes") -------------


@dataclass(frozen=True)
class Burst:
    """A burst of checkouts on one engine: the connections it opened during the burst, and those it kept."""

    asked: int  # checkouts started at once
    answered: int  # those that got a connection and ran their query
    opened: int  # distinct backends (connections) that served them
    kept: int  # connections PostgreSQL still sees once every checkout has returned (the engine not disposed)

    @property
    def waited(self) -> int:
        """Checkouts that got a connection another checkout had used first (they waited in the pool's queue)."""
        return self.answered - self.opened


async def burst(pg: labkit.Postgres, pool_size: int = 5, max_overflow: int = 10, asked: int = 20) -> Burst:
    """``asked`` checkouts at once, each holding its connection 0.3 s, on an engine of ``pool_size`` +
    ``max_overflow``; then, with every connection returned, PostgreSQL's count of the engine's connections."""
    engine = create_async_engine(
        pg.url("asyncpg"),
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_timeout=30,
        connect_args={"server_settings": {"application_name": NOTEBOOK}},
    )

    async def checkout() -> int:
        async with engine.connect() as conn:
            return int(await conn.scalar(text("select pg_backend_pid() from pg_sleep(0.3)")))

    try:
        pids = await asyncio.gather(*(checkout() for _ in range(asked)), return_exceptions=True)
        kept = pg.connections(NOTEBOOK, wait_for=engine.pool.checkedin())
    finally:
        await engine.dispose()
    pg.connections(NOTEBOOK, wait_for=0)
    served = [pid for pid in pids if isinstance(pid, int)]
    return Burst(asked, len(served), len(set(served)), kept)


# -- what `SELECT count(*) FROM pg_stat_activity` counts (report 003's monitoring query) -----------------


@dataclass(frozen=True)
class Activity:
    """``pg_stat_activity`` on a server where the app holds no connection."""

    counted: int  # what `SELECT count(*) FROM pg_stat_activity` answers
    background: int  # of those, PostgreSQL's own processes (backend_type other than 'client backend')
    clients: int  # of those, client sessions: here only the query's own and labkit's
    app: int  # of those, the app's (application_name NOTEBOOK)


def activity(pg: labkit.Postgres) -> Activity:
    """The report's monitoring query, and what its count is made of, with none of the app's connections open."""
    pg.connections(NOTEBOOK, wait_for=0)
    counted, background, clients, app = pg.query(
        "select count(*), count(*) filter (where backend_type <> 'client backend'),"
        " count(*) filter (where backend_type = 'client backend'),"
        " count(*) filter (where application_name = %s) from pg_stat_activity",
        NOTEBOOK,
    )[0]
    return Activity(int(counted), int(background), int(clients), int(app))


# -- a bare create_engine(url) (report 000's "No pool size limits") --------------------------------------


@dataclass(frozen=True)
class Bare:
    """``asked`` checkouts at once on ``create_engine(url)`` with no pool arguments (psycopg2, one thread each)."""

    pool: str  # the pool class SQLAlchemy chose
    asked: int
    answered: int
    opened: int  # distinct backends (connections) that served them


def bare_engine(pg: labkit.Postgres, asked: int = 20) -> Bare:
    """``create_engine(url)`` as report 000's broken app builds it; ``asked`` threads check out a connection
    at once, each holding it 0.3 s; counts the distinct backend pids that served them."""
    from sqlalchemy import create_engine

    engine = create_engine(pg.url("psycopg2"), connect_args={"application_name": NOTEBOOK})

    def checkout() -> int:
        with engine.connect() as conn:
            return int(conn.scalar(text("select pg_backend_pid() from pg_sleep(0.3)")))

    try:
        with ThreadPoolExecutor(max_workers=asked) as pool:
            futures = [pool.submit(checkout) for _ in range(asked)]
            pids = [future.result() for future in futures]
    finally:
        engine.dispose()
    return Bare(type(engine.pool).__name__, asked, len(pids), len(set(pids)))


# -- the reports' other pool claims (07a: recycling by age, the "production-grade" pool, command_timeout) ---


RECYCLED = {  # engine -> its pool arguments; an hour scaled to 1 s
    "pool_recycle=1 (3600 scaled)": {"pool_recycle": 1},
    "pool_recycle=2 (7200 scaled)": {"pool_recycle": 2},
    "report 000's pool: pre-ping, 5 + 10, no pool_recycle": {"pool_pre_ping": True, "pool_size": 5, "max_overflow": 10},
}


@dataclass(frozen=True)
class Reconnects:
    """The same checkouts, one at a time on a fixed schedule, on each engine of :data:`RECYCLED`."""

    seconds: float  # how long the schedule ran
    checkouts: int  # checkouts per engine
    recycle: dict[str, int]  # engine -> its pool's recycle setting (-1: never by age)
    opened: dict[str, int]  # engine -> connections it opened (distinct backend pids)

    def reconnects(self, engine: str) -> int:
        """Connections the engine opened after its first: each one replaced an older one."""
        return self.opened[engine] - 1


async def reconnects(pg: labkit.Postgres, checkouts: int = 20, every: float = 0.2) -> Reconnects:
    """``checkouts`` checkouts (``select pg_backend_pid()``), one every ``every`` s on an absolute schedule, on
    each engine of :data:`RECYCLED` at once; counts the distinct backends each engine's checkouts got.

    With 20 checkouts every 0.2 s (3.8 s), pool_recycle=1 replaces its connection at most 3 times (each
    replacement needs an age above 1 s) and pool_recycle=2 exactly once."""
    engines = {name: _engine(pg, **pool) for name, pool in RECYCLED.items()}
    start = time.perf_counter()

    async def run(engine: AsyncEngine) -> set[int]:
        pids = set()
        for i in range(checkouts):
            await asyncio.sleep(max(0.0, start + i * every - time.perf_counter()))
            async with engine.connect() as conn:
                pids.add(int(await conn.scalar(text("select pg_backend_pid()"))))
        return pids

    try:
        seen = await asyncio.gather(*(run(engine) for engine in engines.values()))
        seconds = time.perf_counter() - start
    finally:
        for engine in engines.values():
            await engine.dispose()
    recycle = {name: int(engine.pool._recycle) for name, engine in engines.items()}
    return Reconnects(seconds, checkouts, recycle, {name: len(p) for name, p in zip(engines, seen, strict=True)})


@dataclass(frozen=True, repr=False)
class PoolSettings(labkit.Tabular):
    """What two engines' pools are configured to do, read from the pools SQLAlchemy built (nothing connects)."""

    rows: dict[str, dict[str, str]]  # engine -> setting -> value

    def differing(self) -> list[str]:
        """The settings whose values differ between the engines."""
        first, *others = self.rows.values()
        return [name for name in first if any(other[name] != first[name] for other in others)]

    def table(self) -> labkit.Table:
        names = list(next(iter(self.rows.values())))
        return labkit.Table(("setting", *self.rows), tuple((n, *(r[n] for r in self.rows.values())) for n in names))


def pool_settings(pg: labkit.Postgres) -> PoolSettings:
    """Report 000's broken ``create_engine(url)`` and its "production-grade" one (pre-ping, 5 + 10), as SQLAlchemy
    builds them: pool class, size, overflow, timeout, recycle and pre-ping."""
    from sqlalchemy import create_engine

    url = pg.url("psycopg2")
    engines = {
        "create_engine(url)": create_engine(url),
        "pre-ping, 5 + 10": create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10),
    }
    rows = {}
    for name, engine in engines.items():
        pool: Any = engine.pool
        rows[name] = {
            "pool": type(pool).__name__,
            "pool_size": str(pool.size()),
            "max_overflow": str(pool._max_overflow),
            "pool_timeout": str(pool._timeout),
            "pool_recycle": str(pool._recycle),
            "pool_pre_ping": str(pool._pre_ping),
        }
        engine.dispose()
    return PoolSettings(rows)


@dataclass(frozen=True)
class ServerLimit:
    """``ALTER SYSTEM SET max_connections`` and a reload, as report 001 suggests, then restored."""

    before: int  # max_connections in force
    after: dict[int, tuple[int, bool]]  # value set -> (max_connections in force after the reload, pending_restart)
    context: str  # pg_settings.context: 'postmaster' means only a restart applies it


def alter_max_connections(pg: labkit.Postgres, values: tuple[int, ...] = (100, 200)) -> ServerLimit:
    """For each value: ``ALTER SYSTEM SET max_connections = value``, ``pg_reload_conf()``, then what is in force
    and whether PostgreSQL says a restart is pending. The server's ``postgresql.auto.conf`` entry is put back
    as it was (and reloaded) afterwards, so nothing is pending once it returns."""
    setting = "select setting::int, pending_restart, context from pg_settings where name = 'max_connections'"
    before, _, context = pg.query(setting)[0]
    saved = pg.query(
        "select setting from pg_file_settings"
        " where name = 'max_connections' and sourcefile like '%postgresql.auto.conf'"
    )
    after = {}
    try:
        for value in values:
            pg.query("alter system set max_connections = %s", str(value))
            pg.query("select pg_reload_conf()")
            for _ in range(100):  # the reload reaches the session at its next statement, soon after the signal
                now, pending, _ = pg.query(setting)[0]
                if pending == (value != before):
                    break
                time.sleep(0.02)
            after[value] = (int(now), bool(pending))
    finally:
        if saved:
            pg.query("alter system set max_connections = %s", saved[-1][0])
        else:
            pg.query("alter system reset max_connections")
        pg.query("select pg_reload_conf()")
        for _ in range(100):
            if not pg.query(setting)[0][1]:
                break
            time.sleep(0.02)
    return ServerLimit(int(before), after, str(context))


@dataclass(frozen=True)
class CommandTimeout:
    """A statement that outlives ``command_timeout`` on report 003's async engine (scaled: 0.5 s for 60 s)."""

    client_saw: str  # the exception the caller got
    invalidated: bool  # SQLAlchemy discarded the connection
    running_after: bool  # the statement was still active on the server 3 s after that (it sleeps 10 s)
    server_saw: str  # the backend afterwards: "ended" (its connection closed) or its state


async def command_timeout_on_server(pg: labkit.Postgres, timeout: float = 0.5) -> CommandTimeout:
    """``select pg_sleep(10)`` on an async engine with ``connect_args={"command_timeout": timeout}``; after the
    caller's error, polls ``pg_stat_activity`` for up to 8 s, less than the sleep (the event loop runs
    meanwhile, as in an app):
    does the statement go on running on the server?"""
    engine = _engine(pg, connect_args={"command_timeout": timeout, "server_settings": {"application_name": NOTEBOOK}})
    pid = 0
    try:
        async with engine.connect() as conn:
            pid = int(await conn.scalar(text("select pg_backend_pid()")))
            try:
                await conn.execute(text("select pg_sleep(10)"))
                client_saw = "an answer"
            except Exception as exc:  # what the driver raised, through SQLAlchemy
                client_saw = type(exc).__name__
            invalidated = conn.invalidated

            def state() -> str:
                rows = pg.query("select state from pg_stat_activity where pid = %s", pid)
                return str(rows[0][0]) if rows else "ended"

            deadline = time.perf_counter() + 8.0
            while (server_saw := state()) != "ended" and time.perf_counter() < deadline:
                if server_saw != "active" and not invalidated:
                    break  # stopped, on a connection that stays open
                await asyncio.sleep(0.05)
    finally:
        if pid:
            pg.query("select pg_cancel_backend(%s)", pid)  # nothing of it outlives the measurement
        await engine.dispose()
    return CommandTimeout(client_saw, invalidated, server_saw == "active", server_saw)
