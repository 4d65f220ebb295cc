"""Measurements for notebook 08: one documented call each.

Loaded in a notebook as ``ref.harness`` (see ``labkit.Lab.harness``); tested by
``tests/test_harness_08.py``. The calls on the app take the lab whose project they serve, so the
learner's copy and the reference walk-through's copy are measured the same way. Every app is served
with its database up (failing fast at startup is notebook 02's subject) and stopped at the end.

- :func:`drill`, :func:`plot`: steady traffic while PostgreSQL is stopped and started again, as the
  users and a load balancer see it;
- :func:`silent`: the health routes while the database is connected but answers nothing;
- :func:`deadlines`: ``asyncio.wait_for`` against a task with ``asyncio.wait`` on a silent connection;
- :func:`scalar_check`: report 003's health check with and without ``result.scalar()``, database up and down.

``pool_pre_ping`` and dead connections after a restart are measured in deep dive 07a, their home.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import httpx
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

import labkit
from labkit.checking import controlled, load_beside

if TYPE_CHECKING:
    from matplotlib.figure import Figure

APP = "orders-api"  # the application_name the app sets: pg_stat_activity tells its connections apart
RATE, PROBE_RATE = 20, 4  # requests per second: users on /orders, a load balancer on each probed route
STOP_AT, DOWN_FOR = 1.0, 1.5  # PostgreSQL is stopped 1 s into the load and started again 1.5 s later
AFTER = 2.0  # seconds of traffic once PostgreSQL answers again
IN_FLIGHT = 0.3  # a request that left shortly before the stop may still be running when the server goes
PROBE_TIMEOUT = 2.0  # seconds a load balancer's probe waits for an answer (the app's readiness deadline is 1 s)
COLOURS = {"200": "tab:green", "503": "tab:orange"}  # anything else (500, a time-out): red


def _relay(pg: labkit.Postgres) -> Any:
    """A TCP relay to the lab's server (``relay.py``): ``freeze()`` keeps connections open and passes nothing."""
    target = make_url(pg.url("asyncpg"))
    return load_beside(__file__, "relay.py").Relay(target.host, target.port)


def _ask(srv: labkit.AppServer, path: str, timeout: float) -> tuple[str, float]:
    """One GET on a fresh connection, as a probe sends it: (status code or exception name, seconds)."""
    began = time.perf_counter()
    try:
        said = str(httpx.get(srv.url + path, timeout=timeout).status_code)
    except httpx.HTTPError as exc:
        said = type(exc).__name__
    return said, time.perf_counter() - began


# -- the outage drill ------------------------------------------------------------------------------


@dataclass(frozen=True, repr=False)
class Drill(labkit.Tabular):
    """Users on GET /orders and a load balancer on its routes while PostgreSQL went down and came back.

    Times are seconds since the load began.
    """

    label: str
    users: tuple[Shot, ...]  # GET /orders
    probes: dict[str, tuple[Shot, ...]]  # route -> what the load balancer got
    stopped_at: float  # pg.stop() called
    down_at: float  # pg.stop() returned: the server is gone
    restart_at: float  # pg.start() called: the server was gone until about now
    back_at: float  # pg.start() returned: the server answers again
    same_process: bool  # the app never restarted: one pid, alive, one startup in its log

    @property
    def recovered_at(self) -> float:
        """When the first GET /orders that succeeded after the server had gone down answered.

        Its answer, not its start: a request sent while PostgreSQL was still starting can wait in
        connect and succeed a second later, while requests sent after it still fail fast (measured on
        the container backend, whose port forwarding accepts connections before PostgreSQL listens).
        """
        return min(
            (s.started + s.seconds for s in self.users if s.outcome == "200" and s.started >= self.down_at),
            default=float("inf"),
        )

    def users_between(self, start: float, end: float) -> Counter[str]:
        return Counter(s.outcome for s in self.users if start <= s.started < end)

    def probes_between(self, path: str, start: float, end: float) -> Counter[str]:
        return Counter(s.outcome for s in self.probes[path] if start <= s.started < end)

    @property
    def users_before(self) -> Counter[str]:
        """GET /orders sent before the outage (those still in flight at the stop left out)."""
        return self.users_between(0, self.stopped_at - IN_FLIGHT)

    @property
    def users_during(self) -> Counter[str]:
        """GET /orders sent from the stop until the first success after it."""
        return self.users_between(self.stopped_at - IN_FLIGHT, self.recovered_at)

    @property
    def users_after(self) -> Counter[str]:
        """GET /orders sent from the first success after the outage on."""
        return self.users_between(self.recovered_at, float("inf"))

    def probed(self, path: str) -> Counter[str]:
        """Every outcome the load balancer got on ``path``, the whole drill long."""
        return Counter(s.outcome for s in self.probes[path])

    def probes_during(self, path: str) -> Counter[str]:
        """What the load balancer got on ``path`` while the server was certainly down."""
        return self.probes_between(path, self.down_at, self.restart_at)

    def table(self) -> labkit.Table:
        """One row per window: what the users got, and what the load balancer saw."""

        def said(counts: Counter[str]) -> str:
            return ", ".join(f"{outcome}: {n}" for outcome, n in sorted(counts.items())) or "-"

        windows = (
            ("before the outage", 0, self.stopped_at - IN_FLIGHT),
            ("database down", self.down_at, self.restart_at),
            ("after recovery", self.recovered_at, float("inf")),
        )
        rows = tuple(
            (
                name,
                said(self.users_between(start, end)),
                *(said(self.probes_between(p, start, end)) for p in self.probes),
            )
            for name, start, end in windows
        )
        return labkit.Table(("window", "GET /orders (users)", *(f"GET {p} (probes)" for p in self.probes)), rows)


class Shot(NamedTuple):
    """One request of the drill: when it left (seconds since the drill began), how long it took, what came back."""

    started: float
    seconds: float
    outcome: str  # "200", "503", ... or the exception's name, such as "ReadTimeout"


class _Traffic:
    """Steady GETs in a thread, on the drill's clock, until :meth:`end` says when to stop sending.

    ``plan``: path -> (requests per second, timeout). Request ``n`` of a path leaves at ``origin +
    n / rate`` (``time.perf_counter``, which the drill reads too, so the plot puts every request
    where it was), each on a fresh connection. :meth:`end` sets the last second to send at and
    returns path -> the shots, in order, once every request has come back.
    """

    def __init__(self, url: str, plan: dict[str, tuple[float, float]], origin: float) -> None:
        self.url, self.plan, self.origin = url, plan, origin
        self.until = float("inf")  # seconds since origin; set by end()
        self.seen: dict[str, list[Shot]] = {path: [] for path in plan}
        self.failed: BaseException | None = None
        self.thread = threading.Thread(target=self._work, name="drill-traffic", daemon=True)
        self.thread.start()

    def end(self, at: float, timeout: float = 60.0) -> dict[str, tuple[Shot, ...]]:
        self.until = at
        self.thread.join(timeout)
        if self.failed is not None:
            raise self.failed
        return {path: tuple(sorted(shots)) for path, shots in self.seen.items()}

    def _work(self) -> None:
        try:
            asyncio.run(self._run())
        except BaseException as exc:  # handed to end()
            self.failed = exc

    async def _run(self) -> None:
        limits = httpx.Limits(max_connections=200, max_keepalive_connections=0)
        async with httpx.AsyncClient(limits=limits) as client:

            async def one(path: str, timeout: float) -> None:
                began = time.perf_counter()
                try:
                    said = str((await client.get(self.url + path, timeout=timeout)).status_code)
                except httpx.HTTPError as exc:
                    said = type(exc).__name__
                self.seen[path].append(Shot(began - self.origin, time.perf_counter() - began, said))

            async def stream(path: str, rate: float, timeout: float) -> None:
                sent: list[asyncio.Task[None]] = []
                for n in itertools.count():
                    if n / rate > self.until:
                        break
                    await asyncio.sleep(max(self.origin + n / rate - time.perf_counter(), 0))
                    sent.append(asyncio.create_task(one(path, timeout)))
                await asyncio.gather(*sent)

            await asyncio.gather(*(stream(path, rate, timeout) for path, (rate, timeout) in self.plan.items()))


def drill(lab: labkit.Lab, label: str, probes: tuple[str, ...] = ("/health",)) -> Drill:
    """Serve the app, send it steady traffic, stop PostgreSQL 1 s in and start it again 1.5 s later.

    The users send :data:`RATE` GET /orders per second and a load balancer :data:`PROBE_RATE` GET
    per second to each route in ``probes`` (a probe gives up after :data:`PROBE_TIMEOUT` s), each
    request on a fresh connection, until :data:`AFTER` s after PostgreSQL answers again (however
    long it takes to start). The app itself is never touched.
    """
    pg = controlled(lab.pg)
    srv = lab.serve("app.main:app", ready_path=probes[0])
    try:
        pid = srv.pid
        began = time.perf_counter() + 0.2  # the traffic's thread is running by then
        plan = {"/orders": (RATE, 5.0)} | {path: (PROBE_RATE, PROBE_TIMEOUT) for path in probes}
        traffic = _Traffic(srv.url, plan, began)
        time.sleep(max(began + STOP_AT - time.perf_counter(), 0))
        stopped_at = time.perf_counter() - began
        try:
            pg.stop()
            down_at = time.perf_counter() - began
            time.sleep(DOWN_FOR)
        finally:
            restart_at = time.perf_counter() - began
            pg.start()
        back_at = time.perf_counter() - began
        seen = traffic.end(back_at + AFTER)
        same = srv.alive and srv.pid == pid and srv.logs().count("Application startup complete") == 1
    finally:
        srv.stop()
        pg.connections(APP, wait_for=0)
    users = seen.pop("/orders")
    return Drill(label, users, seen, stopped_at, down_at, restart_at, back_at, same)


def plot(*drills: Drill) -> Figure:
    """Each drill in a column: GET /orders per half second by outcome (top), every probe as a dot (bottom).

    The grey band is the outage, from ``pg.stop()`` until ``pg.start()`` returned.
    """
    import matplotlib.pyplot as plt

    rows = max(len(d.probes) for d in drills)
    fig, axes = plt.subplots(
        2,
        len(drills),
        figsize=(5.5 * len(drills), 2.6 + 0.45 * rows),
        sharex=True,
        squeeze=False,
        gridspec_kw={"height_ratios": [3, 0.5 + 0.5 * rows]},
    )
    for column, d in enumerate(drills):
        top, bottom = axes[0][column], axes[1][column]
        for ax in (top, bottom):
            ax.axvspan(d.stopped_at, d.back_at, color="grey", alpha=0.25, zorder=0)
        bins: dict[float, Counter[str]] = {}
        for s in d.users:
            bins.setdefault(s.started // 0.5 * 0.5, Counter())[s.outcome] += 1
        starts = sorted(bins)
        below = [0] * len(starts)
        for name, colour, picks in (
            ("200", COLOURS["200"], lambda c: c["200"]),
            ("503", COLOURS["503"], lambda c: c["503"]),
            ("500 or no answer", "tab:red", lambda c: sum(n for o, n in c.items() if o not in COLOURS)),
        ):
            heights = [picks(bins[t]) for t in starts]
            top.bar(starts, heights, width=0.45, align="edge", bottom=below, color=colour, label=name)
            below = [b + h for b, h in zip(below, heights, strict=True)]
        top.set_ylim(0, RATE * 0.5 * 1.5)
        top.set_title(f"{d.label} (grey: PostgreSQL down)", fontsize=10)
        top.legend(loc="upper right", ncol=3, fontsize=7)
        for row, result in enumerate(d.probes.values()):
            bottom.scatter(
                [s.started for s in result],
                [row] * len(result),
                s=16,
                c=[COLOURS.get(s.outcome, "tab:red") for s in result],
            )
        bottom.set_yticks(range(len(d.probes)), [f"GET {p}" for p in d.probes], fontsize=8)
        bottom.set_ylim(-0.7, len(d.probes) - 0.3)
        bottom.set_xlabel("seconds into the drill (probes: green 200, orange 503, red anything else)", fontsize=8)
    axes[0][0].set_ylabel("GET /orders per 0.5 s")
    fig.tight_layout()
    plt.close(fig)
    return fig


# -- a silent database -----------------------------------------------------------------------------


@dataclass(frozen=True, repr=False)
class Silent(labkit.Tabular):
    """The health routes before, while and after the database was silent: (outcome, seconds) each."""

    before: dict[str, tuple[str, float]]
    during: dict[str, tuple[str, float]]
    after: dict[str, tuple[str, float]]

    def table(self) -> labkit.Table:
        return labkit.Table(
            ("request", "database answering", "database silent", "answering again"),
            tuple(
                (f"GET {path}", self.before[path][0], self.during[path][0], self.after[path][0]) for path in self.before
            ),
        )


def silent(lab: labkit.Lab, paths: tuple[str, ...] = ("/health",)) -> Silent:
    """Serve the app behind a relay, ask each route, make the database silent, ask again, then let it answer.

    The app reaches PostgreSQL through ``relay.py``; ``relay.freeze()`` keeps every connection open
    but passes no more bytes, as a hung server or a network that drops packets does. Each route is
    asked as a load balancer's probe asks it: a fresh connection, :data:`PROBE_TIMEOUT` s to answer.
    No server is stopped, so this runs on any server.
    """
    relay = _relay(lab.pg)
    try:
        srv = lab.serve("app.main:app", ready_path=paths[0], env={"DATABASE_URL": relay.url(lab.pg.url("asyncpg"))})
        try:
            before = {path: _ask(srv, path, PROBE_TIMEOUT) for path in paths}
            relay.freeze()
            try:
                during = {path: _ask(srv, path, PROBE_TIMEOUT) for path in paths}
            finally:
                relay.thaw()
            after = {path: _ask(srv, path, 5.0) for path in paths}
        finally:
            srv.stop()
    finally:
        relay.close()
    return Silent(before, during, after)


# -- how long a deadline takes -----------------------------------------------------------------------


@dataclass(frozen=True, repr=False)
class Deadlines(labkit.Tabular):
    """A deadline of ``deadline`` s on ``select 1`` over a silent connection: seconds until each way gave up."""

    deadline: float
    wait_for: float  # asyncio.wait_for(query, deadline)
    task: float  # a task, asyncio.wait({task}, timeout=deadline), then cancel: what ping() in app/db.py does

    def table(self) -> labkit.Table:
        return labkit.Table(
            ("deadline", "way", "gave up after"),
            (
                (f"{self.deadline} s", "asyncio.wait_for(query, deadline)", f"{self.wait_for:.2f} s"),
                (f"{self.deadline} s", "a task, asyncio.wait, cancel (ping())", f"{self.task:.2f} s"),
            ),
        )


async def _select_one(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        await conn.execute(text("select 1"))


async def _give_up(engine: AsyncEngine, relay: Any, deadline: float, with_wait_for: bool) -> float:
    await _select_one(engine)  # an open connection in the pool, which then goes silent
    relay.freeze()
    began = time.perf_counter()
    if with_wait_for:
        try:
            await asyncio.wait_for(_select_one(engine), deadline)
        except TimeoutError:
            pass
    else:
        task = asyncio.ensure_future(_select_one(engine))
        await asyncio.wait({task}, timeout=deadline)
        task.cancel()
    took = time.perf_counter() - began
    relay.thaw()
    await asyncio.sleep(0.1)  # the cancelled query's clean-up ends
    return took


async def deadlines(pg: labkit.Postgres, deadline: float = 0.3) -> Deadlines:
    """Give ``select 1`` a deadline on an open pooled connection that goes silent, both ways; the seconds each took.

    The connection goes through ``relay.py`` (frozen for each try); the engine is the notebook's own.
    """
    relay = _relay(pg)
    engine = create_async_engine(relay.url(pg.url("asyncpg")))
    try:
        wait_for = await _give_up(engine, relay, deadline, with_wait_for=True)
        task = await _give_up(engine, relay, deadline, with_wait_for=False)
    finally:
        await engine.dispose()
        relay.close()
    return Deadlines(deadline, wait_for, task)


# -- a quiet restart (deep dive 07a is the home of pool_pre_ping) ------------------------------------------


# -- report 003's result.scalar() -----------------------------------------------------------------------

REPORT_HEALTH = Path(__file__).parent / "report_health.py"  # the report's check, both ways, in one app


@dataclass(frozen=True, repr=False)
class ScalarCheck(labkit.Tabular):
    """What each form of the report's check answered, database up and down, and what ``scalar()`` got to do.

    ``answers``: state -> path -> "status code, body's status" (or the exception of the request);
    ``scalars``: state -> what ``result.scalar()`` returned in that state, each time it was reached.
    """

    answers: dict[str, dict[str, str]]
    scalars: dict[str, tuple[object, ...]]

    @property
    def same_answers(self) -> bool:
        """Both forms answered alike in every state."""
        return all(len(set(by_path.values())) == 1 for by_path in self.answers.values())

    def table(self) -> labkit.Table:
        paths = ("/health", "/health/scalar")
        return labkit.Table(
            ("database", *(f"GET {p}" for p in paths), "result.scalar() reached, returned"),
            tuple(
                (state, *(by_path[p] for p in paths), ", ".join(map(repr, self.scalars[state])) or "never")
                for state, by_path in self.answers.items()
            ),
        )


def scalar_check(lab: labkit.Lab) -> ScalarCheck:
    """Report 003's ``/health`` as written and with ``result.scalar()`` added, asked with the database up, then stopped.

    One uvicorn serves both (``report_health.py``, not the project's app); PostgreSQL is stopped after
    the first pair of requests and started again at the end. The states and answers are compared, never times.
    """
    pg = controlled(lab.pg)
    srv = lab.serve("report_health:app", args=("--app-dir", str(REPORT_HEALTH.parent)), ready_path="/reached")
    answers: dict[str, dict[str, str]] = {}
    scalars: dict[str, tuple[object, ...]] = {}

    def ask(state: str) -> None:
        before = len(httpx.get(srv.url + "/reached", timeout=10).json())
        answers[state] = {}
        for path in ("/health", "/health/scalar"):
            try:
                got = httpx.get(srv.url + path, timeout=PROBE_TIMEOUT * 5)
                answers[state][path] = f"{got.status_code}, {got.json()['status']}"
            except httpx.HTTPError as exc:
                answers[state][path] = type(exc).__name__
        scalars[state] = tuple(httpx.get(srv.url + "/reached", timeout=10).json()[before:])

    try:
        ask("up")
        pg.stop()
        try:
            ask("stopped")
        finally:
            pg.start()
    finally:
        srv.stop()
    return ScalarCheck(answers, scalars)
