"""Measurements for notebook 05 and its deep dive 05a: one documented call each.

Loaded in a notebook as ``ref.harness`` (see ``labkit.Lab.harness``); tested by
``tests/test_harness_05.py``. The calls on the app take the lab whose project they serve, so
the learner's copy and the reference walk-through's copy are measured the same way.

The session nobody closes (notebook 05):
- :func:`one_by_one`: GET /authors, one request after another, and the pool after each;
- :func:`burst`, :func:`plot`: 10 requests, 5 at a time, with the pool sampled meanwhile;
- :func:`routes`: every route of the app called once, with the exception each one logged;
- :func:`lost_session`: a session dropped without close(), and what the garbage collector does.

The quick exceptions (deep dive 05a), in the notebook's own process:
- :func:`describe`: an exception as one line; :class:`Author`, :class:`Book`: two small tables;
- :func:`factories`: session factories as the incident reports wrote them, each made and used.
"""

from __future__ import annotations

import gc
import logging
import re
import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import ForeignKey, String, text
from sqlalchemy.exc import SAWarning
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship, sessionmaker

import labkit

if TYPE_CHECKING:
    from matplotlib.figure import Figure

APP = "shelf-api"  # the application_name the app sets: pg_stat_activity tells its connections apart
# The small pool the check serves the app with: 2 connections, no overflow, a 2 s pool timeout (long
# enough for a fixed app's queued request on a busy machine, where 5 requests share 2 connections).
POOL = {"POOL_SIZE": "2", "MAX_OVERFLOW": "0", "POOL_TIMEOUT": "2"}
QUEUEPOOL = "QueuePool limit of size 2 overflow 0 reached"
# A traceback's last line, such as "sqlalchemy.exc.MissingGreenlet: ...", and its frames. A warning the
# garbage collector prints meanwhile ("RuntimeWarning: ... never awaited") is no exception: left out.
RAISED = re.compile(r"^(?:[a-z_]\w*\.)+(?P<name>[A-Z]\w*): \S", re.MULTILINE)
FRAME = re.compile(r'File "(?P<path>[^"]+)", line (?P<line>\d+)')


def _states(pg: labkit.Postgres) -> dict[str, int]:
    rows = pg.query("select state, count(*) from pg_stat_activity where application_name = %s group by state", APP)
    return {str(state): int(count) for state, count in rows}


def _checked_out(srv: labkit.AppServer) -> int:
    return int(srv.get("/debug/pool", timeout=10).json()["checked_out"])


def _pool_at_rest(srv: labkit.AppServer, pg: labkit.Postgres, settle: float) -> tuple[int, dict[str, int]]:
    """The pool and the server's view of it; waits up to ``settle`` s for every connection to be back.

    FastAPI runs the code after a dependency's ``yield`` once the response is sent, so a fixed app
    gives its connection back a moment after the answer. ``settle=0`` reads once.
    """
    seen: list[tuple[int, dict[str, int]]] = []

    def at_rest() -> bool:
        seen.append((_checked_out(srv), _states(pg)))
        return seen[-1][0] == 0 and "idle in transaction" not in seen[-1][1]

    try:
        labkit.wait_until(at_rest, timeout=settle, interval=0.05, what="the pool to be at rest")
    except labkit.WaitTimeout:
        pass  # the caller judges what was seen
    return seen[-1]


def logged_exception(srv: labkit.AppServer, since: int, timeout: float = 5.0) -> str:
    """The exception the app logged after offset ``since`` of its log, as ``file:line: module.Class: message``.

    The traceback is logged just after the 500 goes out: this waits up to ``timeout`` for it. The
    ``file:line`` is the deepest frame in the project (the work dir).
    """

    def raised() -> list[re.Match[str]]:
        return [m for m in RAISED.finditer(srv.logs()[since:]) if not m["name"].endswith("Warning")]

    try:
        found = labkit.wait_until(raised, timeout=timeout, interval=0.05, what="an exception in the app's log")
    except labkit.WaitTimeout:
        return "(no exception in the app's log)"
    text = srv.logs()[since:]
    last = found[-1]
    line = text[last.start() :].splitlines()[0].split(" (Background on this error")[0].strip()
    root = str(srv.cwd.resolve()) + "/"
    frames = [
        f"{m['path'][len(root) :]}:{m['line']}"
        for m in FRAME.finditer(text[: last.start()])
        if m["path"].startswith(root)
    ]
    return f"{frames[-1]}: {line}" if frames else line


def _server(states: dict[str, int]) -> str:
    return ", ".join(f"{state}: {count}" for state, count in sorted(states.items())) or "-"


# -- one request after another --------------------------------------------------------------------


@dataclass(frozen=True)
class Reading:
    number: int
    status: int
    checked_out: int  # the app's pool, read through GET /debug/pool
    states: dict[str, int]  # the app's connections in pg_stat_activity, by state


@dataclass(frozen=True, repr=False)
class OneByOne(labkit.Tabular):
    """GET /authors, one request after another, and the pool after each."""

    readings: tuple[Reading, ...]
    logged: str  # the app's pool time-out line, "" if none

    @property
    def statuses(self) -> list[int]:
        return [r.status for r in self.readings]

    @property
    def most_checked_out(self) -> int:
        return max(r.checked_out for r in self.readings)

    @property
    def idle_in_transaction(self) -> int:
        return max(r.states.get("idle in transaction", 0) for r in self.readings)

    def table(self) -> labkit.Table:
        return labkit.Table(
            ("request", "status", "checked out of the pool", "the app's connections on the server"),
            tuple((str(r.number), str(r.status), str(r.checked_out), _server(r.states)) for r in self.readings),
        )


def one_by_one(lab: labkit.Lab, requests: int = 5, *, settle: float = 0.0) -> OneByOne:
    """Serve the app with :data:`POOL`, send ``requests`` GET /authors one after another, read the pool after each.

    After each answer, ``GET /debug/pool`` says how many connections are checked out of the app's
    pool, and ``pg_stat_activity`` what state the app's connections are in; ``settle`` (seconds)
    waits for the pool to be at rest first (0: one reading, right after the answer). The app is
    stopped at the end and its connections are waited for.
    """
    lab.pg.connections(APP, wait_for=0)  # a previous app's connections are gone
    srv = lab.serve("app.main:app", ready_path="/health", env=POOL)
    try:
        readings = []
        for number in range(1, requests + 1):
            status = srv.get("/authors", timeout=15).status_code
            readings.append(Reading(number, status, *_pool_at_rest(srv, lab.pg, settle)))
        failed = any(r.status >= 500 for r in readings)
        line = srv.wait_for_log("TimeoutError:") if failed else ""
    finally:
        srv.stop()
        lab.pg.connections(APP, wait_for=0)
    return OneByOne(tuple(readings), line.split(" (Background on this error")[0].strip())


# -- a burst ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Burst:
    """``requests`` GET /authors, 5 at a time, and the pool sampled every 50 ms meanwhile."""

    label: str
    load: labkit.LoadResult
    trace: tuple[tuple[float, int], ...]  # (seconds since the burst began, connections checked out)
    after: int  # connections still checked out once the burst was over (and settled)
    logged_timeouts: int  # pool time-out lines in the app's log

    @property
    def most_checked_out(self) -> int:
        return max(n for _, n in self.trace)

    @property
    def outcomes(self) -> dict[str, int]:
        return dict(sorted(self.load.outcomes.items()))


def burst(lab: labkit.Lab, label: str, *, requests: int = 10, settle: float = 0.0) -> Burst:
    """Serve the app with :data:`POOL` and send ``requests`` GET /authors, 5 at a time (the check sends 20).

    A thread reads ``GET /debug/pool`` every 50 ms while the load runs (``labkit.load``), and a
    moment after it, then the connections still checked out are read (``settle``: seconds to wait
    for the pool to be at rest; 0 reads once). The app is stopped at the end.
    """
    lab.pg.connections(APP, wait_for=0)
    srv = lab.serve("app.main:app", ready_path="/health", env=POOL)
    trace: list[tuple[float, int]] = []
    done = threading.Event()
    began = time.perf_counter()

    def sample() -> None:
        while not done.is_set():
            trace.append((time.perf_counter() - began, _checked_out(srv)))
            done.wait(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        result = labkit.load(srv.url + "/authors", requests=requests, concurrency=5, timeout=15, deadline=60)
        done.wait(0.3)  # a few samples after the burst: what is left checked out?
        done.set()
        sampler.join()
        after = _pool_at_rest(srv, lab.pg, settle)[0]
        timeouts = srv.logs().count(QUEUEPOOL)
    finally:
        done.set()
        srv.stop()
        lab.pg.connections(APP, wait_for=0)
    return Burst(label, result, tuple(trace), after, timeouts)


def plot(*bursts: Burst) -> Figure:
    """Left: each request's latency against when it started; right: the pool during each burst."""
    import matplotlib.pyplot as plt

    fig, (latency, pool) = plt.subplots(1, 2, figsize=(11, 3.2))
    for run in bursts:
        run.load.plot(ax=latency, label=run.label)
        pool.step([t for t, _ in run.trace], [n for _, n in run.trace], where="post", label=run.label)
    latency.set_title("latency of each request")
    pool.axhline(int(POOL["POOL_SIZE"]), color="grey", linestyle=":", label="pool size")
    pool.set_xlabel("time (s)")
    pool.set_ylabel("connections checked out")
    pool.set_title("GET /debug/pool during the burst")
    pool.legend()
    fig.tight_layout()
    plt.close(fig)
    return fig


# -- every route once ------------------------------------------------------------------------------


@dataclass(frozen=True, repr=False)
class Routes(labkit.Tabular):
    """Each route called once: (request, status, the answer or the exception the app logged)."""

    rows: tuple[tuple[str, str, str], ...]
    books: list[str] = field(default_factory=list)  # the book titles GET /authors/{id} listed

    def status(self, request: str) -> int:
        return int(next(status for req, status, _ in self.rows if req == request))

    def said(self, request: str) -> str:
        return next(said for req, _, said in self.rows if req == request)

    def table(self) -> labkit.Table:
        return labkit.Table(("request", "status", "the answer, or the exception the app logged"), self.rows)


def routes(lab: labkit.Lab) -> Routes:
    """Serve the app (its default pool: the leak does not get in the way of 5 requests) and call each route once.

    GET /health/db; POST /authors (an author named Ann); POST a book for her; GET /authors/{id}.
    For a 500, the exception the app logged for it (:func:`logged_exception`); for a
    success, the answer without its ids. The author's id comes from GET /authors, since a failed
    POST answers none.
    """
    lab.pg.connections(APP, wait_for=0)
    srv = lab.serve("app.main:app", ready_path="/health")
    rows: list[tuple[str, str, str]] = []

    def call(method: str, path: str, shown: str, body: dict[str, str] | None = None) -> Any:
        since = len(srv.logs())
        response = srv.request(method, path, json=body, timeout=15)
        if response.status_code >= 500:
            said = logged_exception(srv, since)
        else:
            answer = response.json()
            said = str({k: v for k, v in answer.items() if k != "id"} if isinstance(answer, dict) else answer)
        rows.append((f"{method} {shown}", str(response.status_code), said))
        return response.json() if response.status_code < 500 else None

    try:
        call("GET", "/health/db", "/health/db")
        call("POST", "/authors", "/authors", {"name": "Ann"})
        listed = srv.get("/authors", params={}, timeout=15).json()
        ann = max(a["id"] for a in listed if a["name"] == "Ann")  # the newest Ann: the table may hold older ones
        call("POST", f"/authors/{ann}/books", "/authors/{id}/books", {"title": "Notes"})
        page = call("GET", f"/authors/{ann}", "/authors/{id}")
    finally:
        srv.stop()
        lab.pg.connections(APP, wait_for=0)
    return Routes(tuple(rows), list(page["books"]) if page else [])


# -- the garbage collector --------------------------------------------------------------------------


@dataclass(frozen=True)
class Lost:
    """A session dropped without close(): the pool and the server before and after ``gc.collect()``."""

    checked_out_before: int
    idle_in_transaction_before: int
    checked_out_after: int
    warnings: tuple[str, ...]  # what the collector warned, addresses removed


async def lost_session(pg: labkit.Postgres) -> Lost:
    """A function that opens a session, runs ``select 1`` and returns without closing it; then ``gc.collect()``.

    Automatic collection is off meanwhile, so nothing reclaims the session before we look. The
    engine is the notebook's own (application_name ``notebook-05``), disposed at the end.
    """
    name = "notebook-05"
    engine = create_async_engine(pg.url("asyncpg"), connect_args={"server_settings": {"application_name": name}})
    sessions = async_sessionmaker(engine)

    async def request_without_close() -> None:
        session = sessions()
        await session.scalar(text("select 1"))  # begins a transaction: a connection is checked out

    gc.disable()
    try:
        await request_without_close()
        before = engine.pool.checkedout()
        idle = pg.connections(name, state="idle in transaction")
        logging.disable(logging.ERROR)  # the pool logs the same warning; keep one copy
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            gc.collect()
    finally:
        logging.disable(logging.NOTSET)
        gc.enable()
    after = engine.pool.checkedout()
    await engine.dispose()
    said = tuple(
        re.sub(r" at 0x[0-9a-f]+", "", str(w.message)).split(".  ")[0]
        for w in seen
        if issubclass(w.category, SAWarning)
    )
    return Lost(before, idle, after, said)


# -- deep dive 05a: the quick exceptions, in the notebook's own process -----------------------------


def describe(exc: BaseException) -> str:
    """The class and the first line of the message, without SQLAlchemy's "(Background on this error ...)" link."""
    return f"{type(exc).__name__}: {str(exc).splitlines()[0].split(' (Background on this error')[0]}"


class Base(DeclarativeBase):
    pass


class Author(Base):
    __tablename__ = "nb05a_authors"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    books: Mapped[list[Book]] = relationship(back_populates="author")


class Book(Base):
    __tablename__ = "nb05a_books"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    author_id: Mapped[int] = mapped_column(ForeignKey("nb05a_authors.id"))
    author: Mapped[Author] = relationship(back_populates="books")


async def fresh_tables(engine: AsyncEngine) -> list[str]:
    """Drop and create :class:`Author` and :class:`Book`'s tables; their names."""
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.drop_all)
        await conn.run_sync(Base.metadata.create_all)
    return list(Base.metadata.tables)


async def drop_tables(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.drop_all)


def _factories(engine: AsyncEngine) -> dict[str, Callable[[], Any]]:
    return {
        "sessionmaker(engine, class_=AsyncSession, autocommit=False, autoflush=False)": lambda: sessionmaker(
            engine, class_=AsyncSession, autocommit=False, autoflush=False
        ),
        "async_sessionmaker(engine, autocommit=False, autoflush=False)": lambda: async_sessionmaker(
            engine, autocommit=False, autoflush=False
        ),
        "async_sessionmaker(engine, autocommit=True)": lambda: async_sessionmaker(engine, autocommit=True),
        "sessionmaker(bind=engine)": lambda: sessionmaker(bind=engine),
    }


async def _try_factory(make: Callable[[], Any]) -> tuple[str, str, str, str]:
    made, session_made, query = "-", "-", "-"
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        try:
            factory = make()
            made = "yes"
            session = factory()
            session_made = type(session).__name__
            async with session:
                query = str(await session.scalar(text("select 1")))
        except Exception as exc:  # which step raised what is the measurement
            if made == "-":
                made = describe(exc)
            elif session_made == "-":
                session_made = describe(exc)
            else:
                query = describe(exc)
    relevant = [w for w in seen if issubclass(w.category, (DeprecationWarning, PendingDeprecationWarning, SAWarning))]
    return made, session_made, query, str(len(relevant))


@dataclass(frozen=True, repr=False)
class Factories(labkit.Tabular):
    """Each factory: made? a session made? ``select 1`` through it? warnings recorded."""

    rows: tuple[tuple[str, str, str, str, str], ...]

    def row(self, number: int) -> tuple[str, str, str, str]:
        return self.rows[number][1:]

    def table(self) -> labkit.Table:
        return labkit.Table(
            ("factory", "factory made", "session made", "select 1", "deprecation or SQLAlchemy warnings"), self.rows
        )


async def factories(engine: AsyncEngine) -> Factories:
    """Make each factory, a session from it, and run ``select 1`` with it; record every warning meanwhile.

    The factories: the two that incident reports wrote (``sessionmaker(class_=AsyncSession)`` with
    ``autocommit=False, autoflush=False``, and ``async_sessionmaker`` with the same), then
    ``autocommit=True``, then a plain ``sessionmaker`` with no ``class_``.
    """
    rows = [(name, *await _try_factory(make)) for name, make in _factories(engine).items()]
    return Factories(tuple(rows))


# -- the default isolation level (report 003's "Isolation Level: Default (READ COMMITTED)") ---------------


async def isolation_level(pg: labkit.Postgres) -> tuple[str, str]:
    """``SHOW transaction_isolation`` inside an ``AsyncSession`` of an async engine built with no options, and
    the isolation level SQLAlchemy reads for that engine's connection: the defaults, as the report's engine."""
    engine = create_async_engine(pg.url("asyncpg"))
    try:
        async with AsyncSession(engine) as session:
            shown = str(await session.scalar(text("show transaction_isolation")))
            conn = await session.connection()
            read = str(await conn.get_isolation_level())
    finally:
        await engine.dispose()
    return shown, read


# -- the greenlet package (report 003: "Add greenlet to requirements.txt", "greenlet.error: cannot switch ...") --

# Run in a new process (argv: the database URL, "installed" or "blocked"); prints one JSON object. With
# "blocked", ``sys.modules["greenlet"] = None`` makes every ``import greenlet`` raise ImportError, as in an
# environment without the package. Two threads share one event loop, as sync code (a ``def`` route in a
# thread pool, a worker thread) that drives a module-level loop with ``run_until_complete`` does: the first
# starts ``session.execute(select 1)`` as a task and runs the loop one turn (the task is then waiting for the
# connection, inside SQLAlchemy's greenlet), the second runs the same loop until that task is done. The first
# thread waits until the second is done, so that it is still alive when the task resumes.
GREENLET_PROBE = r"""
import asyncio, json, sys, threading
if sys.argv[2] == "blocked":
    sys.modules["greenlet"] = None

def said(exc):
    name = type(exc).__name__ if type(exc).__module__ == "builtins" else f"{type(exc).__module__}.{type(exc).__name__}"
    return f"{name}: {str(exc).split('  ')[0].splitlines()[0]}"

out = {"import": "ok", "one thread": "-", "two threads": "-"}
try:
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
except ImportError as exc:
    out["import"] = said(exc)
else:
    engine = create_async_engine(sys.argv[1])

    async def one_thread():
        async with AsyncSession(engine) as session:
            return str((await session.execute(text("select 1"))).scalar())

    try:
        out["one thread"] = asyncio.run(one_thread())
    except Exception as exc:
        out["one thread"] = said(exc)

    # A new engine: the first one's pooled connection belongs to asyncio.run's loop, now closed.
    loop, session = asyncio.new_event_loop(), AsyncSession(create_async_engine(sys.argv[1]))
    task, done = [], threading.Event()

    def first():
        task.append(loop.create_task(session.execute(text("select 1"))))
        loop.run_until_complete(asyncio.sleep(0))
        out["pending after the first thread"] = not task[0].done()
        done.wait(60)

    def second():
        try:
            out["two threads"] = str(loop.run_until_complete(task[0]).scalar())
        except BaseException as exc:
            out["two threads"] = said(exc)
        done.set()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    threads[0].start()
    while "pending after the first thread" not in out and threads[0].is_alive():
        threads[0].join(0.01)
    threads[1].start()
    for thread in threads:
        thread.join()
print(json.dumps(out))
"""


@dataclass(frozen=True, repr=False)
class Greenlets(labkit.Tabular):
    """The probe's outcome with greenlet installed and with it blocked, and SQLAlchemy's own greenlet requirement."""

    rows: tuple[tuple[str, str, str, str], ...]  # greenlet, import, select 1 on one thread, then across two
    pending: bool  # the two-thread task was still waiting (inside the greenlet) when the first thread stopped
    requires: tuple[str, ...]  # SQLAlchemy's Requires-Dist entries that name greenlet

    def outcome(self, greenlet: str, column: str) -> str:
        """``outcome("installed", "two threads")``: one cell of the table."""
        index = {"import": 1, "one thread": 2, "two threads": 3}[column]
        return next(row[index] for row in self.rows if row[0] == greenlet)

    def table(self) -> labkit.Table:
        across = "select 1, started on one thread, finished on another"
        return labkit.Table(("greenlet", "import sqlalchemy.ext.asyncio", "select 1, one thread", across), self.rows)


def greenlets(pg: labkit.Postgres) -> Greenlets:
    """Run :data:`GREENLET_PROBE` in two new processes, greenlet installed then blocked; read SQLAlchemy's metadata.

    Each process imports SQLAlchemy's asyncio extension, runs ``select 1`` in an ``AsyncSession`` on one
    thread, then the same query started on one thread and finished on another (one event loop for both).
    """
    import importlib.metadata
    import json
    import subprocess
    import sys

    rows, pending = [], False
    for mode in ("installed", "blocked"):
        ran = subprocess.run(
            [sys.executable, "-c", GREENLET_PROBE, pg.url("asyncpg"), mode], capture_output=True, text=True, timeout=120
        )
        lines = ran.stdout.strip().splitlines()
        if ran.returncode != 0 or not lines:
            raise RuntimeError(f"the greenlet probe ({mode}) failed:\n{ran.stderr[-2000:]}")
        out = json.loads(lines[-1])
        rows.append((mode, out["import"], out["one thread"], out["two threads"]))
        pending = pending or bool(out.get("pending after the first thread"))
    requires = tuple(r for r in importlib.metadata.requires("sqlalchemy") or () if r.startswith("greenlet"))
    return Greenlets(tuple(rows), pending, requires)
