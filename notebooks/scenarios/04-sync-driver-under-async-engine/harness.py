"""Measurements for notebook 04, its deep dive 04a, and deep dive 11b (on 04's project): one documented call each.

Loaded in a notebook as ``ref.harness`` (see ``labkit.Lab.harness``); tested by
``tests/test_harness_04.py``. Every call takes the lab whose project it measures, so the
learner's copy and the reference walk-through's copy are measured the same way.

The event loop (notebook 04):
- :func:`reports_and_health`: 20 slow reports at once, and /health probed while they run;
- :func:`table` and :func:`plot`: runs side by side, as numbers and as a timeline;
- :func:`thread_limit`: how many worker threads FastAPI gives ``def`` routes.

The provider's URL (deep dive 04a):
- :func:`engine_for_each_scheme`, :func:`default_postgresql_driver`: what SQLAlchemy says to each spelling;
- :func:`connect_with_each_query`: what asyncpg says to libpq's parameters, connecting for real;
- :func:`convert_urls`, :func:`str_replace_each`: the project's translation helper against a string edit;
- :func:`serve_with_query`: the app started with a given query, and what it did.

The committed credentials (deep dive 11b):
- :func:`passwords_in_urls`, :func:`settings_without_url`.
"""

from __future__ import annotations

import json
import re
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import URL, make_url

import labkit
from labkit import checking

if TYPE_CHECKING:
    from matplotlib.figure import Figure

HERE = Path(__file__).parent
APP = "reports-api"  # the app's application_name: pg.connections(APP) counts its connections only
REPORTS, SECONDS = 20, 0.2  # 20 reports at once, each a 0.2 s query
SERIAL = REPORTS * SECONDS  # what they take one after another
PROBES, EVERY = 10, 0.02  # a health checker: 10 GETs of /health, 20 ms apart
# What a managed provider's dashboard writes is ?sslmode=require&channel_binding=require; the lab's
# server has no TLS, so the same names with "prefer" (libpq's default for both).
PROVIDER_QUERY = {"sslmode": "prefer", "channel_binding": "prefer", "application_name": APP}
ERROR_LINE = re.compile(r"Traceback|^\S*(Error|Exception)\b", re.MULTILINE)


def provider_url(lab: labkit.Lab, **query: str) -> str:
    """The lab's server as a provider writes it: ``postgresql://`` and libpq parameters in the query."""
    url = make_url(lab.pg.url("psycopg2")).set(drivername="postgresql")
    return url.update_query_dict({**PROVIDER_QUERY, **query}).render_as_string(hide_password=False)


# -- the event loop (notebook 04) ---------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    """One HTTP request of a run, on the run's clock (seconds since the reports were sent)."""

    what: str  # "report" or "health"
    sent: float
    seconds: float
    ok: bool


@dataclass(frozen=True)
class Run:
    """What one app did with 20 reports at once and /health probed meanwhile."""

    label: str
    requests: tuple[Request, ...]
    wall: float  # seconds from sending the reports to the last report's answer
    connections: int  # the app's connections in pg_stat_activity after the reports
    at_start: int  # the app's connections right after it started, before any request
    errors_logged: int  # error or traceback lines in the app's log

    @property
    def reports(self) -> list[Request]:
        return [r for r in self.requests if r.what == "report"]

    @property
    def health(self) -> list[float]:
        """Latency of each /health probe, in seconds."""
        return [r.seconds for r in self.requests if r.what == "health"]

    @property
    def reports_ok(self) -> int:
        return sum(r.ok for r in self.reports)

    @property
    def health_median(self) -> float:
        return statistics.median(self.health)

    @property
    def probes_during(self) -> int:
        """Probes sent while reports were still running."""
        return sum(r.sent < self.wall for r in self.requests if r.what == "health")

    def row(self) -> tuple[str, ...]:
        return (
            self.label,
            f"{self.reports_ok}/{REPORTS}",
            f"{self.wall:.2f}",
            f"{self.health_median * 1000:.0f}",
            f"{max(self.health) * 1000:.0f}",
            f"{self.probes_during}/{PROBES}",
            str(self.connections),
            str(self.errors_logged),
        )


HEADER = (
    "app",
    "reports ok",
    "20 reports took (s)",
    "/health median (ms)",
    "/health max (ms)",
    "probes sent during the reports",
    "connections used",
    "errors logged",
)


def reports_and_health(lab: labkit.Lab, label: str, *, env: dict[str, str] | None = None) -> Run:
    """Serve the lab's app, send it 20 reports of 0.2 s at once, and probe /health while they run.

    The app gets the provider-style URL (:func:`provider_url`; ``env`` adds or overrides
    variables, such as ``POOL_SIZE``). The probes start once a report runs in PostgreSQL
    (``pg.wait_for_query``: the burst has reached the app, measured, not guessed), 10 of them
    20 ms apart, each on its own connection. Then the app's connections are counted and the
    app is stopped; the next run starts once they are gone.
    """
    pg = lab.pg
    pg.connections(APP, wait_for=0)  # a previous app's connections are gone
    srv = lab.serve("app.main:app", ready_path="/health", env={"DATABASE_URL": provider_url(lab), **(env or {})})
    try:
        at_start = pg.connections(APP, wait_for=0)
        began = time.perf_counter()
        burst = labkit.start_load(
            f"{srv.url}/report?seconds={SECONDS}", requests=REPORTS, concurrency=REPORTS, timeout=15, deadline=20
        )
        pg.wait_for_query(APP, timeout=15)  # a report runs in PostgreSQL
        time.sleep(0.05)  # the rest of the burst, sent in the same instant, reaches the app too
        probes_began = time.perf_counter() - began
        probes = labkit.load(
            f"{srv.url}/health", requests=PROBES, concurrency=PROBES, rate=1 / EVERY, timeout=15, deadline=20
        )
        reports = burst.result()
        connections = pg.connections(APP)
        logs = srv.logs()
    finally:
        srv.stop()
    pg.connections(APP, wait_for=0)
    requests = tuple(
        [Request("report", s.started, s.seconds, s.ok) for s in reports.samples]
        + [Request("health", probes_began + s.started, s.seconds, s.ok) for s in probes.samples]
    )
    wall = max(s.started + s.seconds for s in reports.samples)
    return Run(label, requests, wall, connections, at_start, len(ERROR_LINE.findall(logs)))


def table(*runs: Run) -> labkit.Table:
    """The runs side by side, one row each."""
    return labkit.Table(HEADER, tuple(run.row() for run in runs))


def plot(*runs: Run) -> Figure:
    """A timeline per run: one bar per request, from when it was sent to when it was answered."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(runs), figsize=(3.6 * len(runs) + 1, 3.2), sharey=True, squeeze=False)
    right = max(max(r.sent + r.seconds for r in run.requests) for run in runs) * 1.05
    for ax, run in zip(axes[0], runs, strict=False):
        for row, request in enumerate(
            sorted(run.reports, key=lambda r: r.sent) + [r for r in run.requests if r.what == "health"]
        ):
            ax.barh(
                row,
                max(request.seconds, right / 300),
                left=request.sent,
                height=0.75,
                color="C0" if request.what == "report" else "C3",
            )
        ax.set_title(run.label, fontsize=10)
        ax.set_xlim(0, right)
        ax.set_xlabel("seconds since the reports were sent", fontsize=8)
    axes[0][0].invert_yaxis()  # the first report at the top (the axes share it)
    axes[0][0].set_yticks(
        [(REPORTS - 1) / 2, REPORTS + (PROBES - 1) / 2],
        [f"{REPORTS} reports\n({SECONDS} s each)", f"{PROBES} x /health"],
        fontsize=8,
    )
    fig.tight_layout()
    plt.close(fig)  # shown once, as the value of the cell
    return fig


def thread_limit() -> int:
    """How many worker threads ``def`` routes may use at once (anyio's default limiter, which FastAPI uses).

    Read in an event loop of its own, on a thread of its own: the notebook's loop is left alone.
    """
    from concurrent.futures import ThreadPoolExecutor

    import anyio
    import anyio.to_thread

    async def tokens() -> int:
        return int(anyio.to_thread.current_default_thread_limiter().total_tokens)

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(anyio.run, tokens).result()


# -- the provider's URL (deep dive 04a) ----------------------------------------------------------


@dataclass(frozen=True)
class Tried:
    """Rows of attempts; the last column is what happened. ``outcome(*first_columns)`` picks one."""

    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]

    def outcome(self, *key: str) -> str:
        for row in self.rows:
            if row[: len(key)] == key:
                return row[-1]
        raise KeyError(key)

    def __repr__(self) -> str:
        return str(labkit.Table(self.header, self.rows))

    def _repr_html_(self) -> str:
        return labkit.Table(self.header, self.rows)._repr_html_()


def _attempt(build: Any) -> str:
    try:
        build()
        return "accepted"
    except Exception as exc:
        return f"{type(exc).__name__}: {str(exc).splitlines()[0]}"


def engine_for_each_scheme(pg: labkit.Postgres) -> Tried:
    """``create_engine`` / ``create_async_engine`` on each spelling of the scheme.

    They load the driver and make no connection."""
    from sqlalchemy import create_engine
    from sqlalchemy.ext.asyncio import create_async_engine

    base = make_url(pg.url("asyncpg"))
    tries = [
        (
            "create_async_engine",
            "postgresql+psycopg2://",
            lambda: create_async_engine(base.set(drivername="postgresql+psycopg2")),
        ),
        ("create_async_engine", "postgresql://", lambda: create_async_engine(base.set(drivername="postgresql"))),
        ("create_engine", "postgresql://", lambda: create_engine(base.set(drivername="postgresql"))),
        ("create_async_engine", "postgres://", lambda: create_async_engine(base.set(drivername="postgres"))),
        ("create_async_engine", "postgresql+asyncpg://", lambda: create_async_engine(base)),
    ]
    return Tried(
        ("call", "URL starts with", "outcome"), tuple((fn, scheme, _attempt(build)) for fn, scheme, build in tries)
    )


def default_postgresql_driver() -> str:
    """The driver SQLAlchemy loads for a bare ``postgresql://``, and whether it is installed here."""
    from importlib.util import find_spec

    from sqlalchemy.dialects import postgresql

    driver = postgresql.dialect.driver
    return f"{driver} ({'installed' if find_spec(driver) else 'not installed'})"


async def _connect(url: URL | str, connect_args: dict[str, Any] | None = None) -> str:
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(url, connect_args=connect_args or {})
    try:
        async with engine.connect() as conn:
            tls = await conn.scalar(text("select ssl from pg_stat_ssl where pid = pg_backend_pid()"))
            return f"connected (TLS in use: {tls})"
    except Exception as exc:
        return f"{type(exc).__name__}: {str(exc).splitlines()[0]}"
    finally:
        await engine.dispose()


async def connect_with_each_query(pg: labkit.Postgres) -> Tried:
    """Connect through ``postgresql+asyncpg://`` with libpq's parameters and with asyncpg's own.

    Two rows point at a port where nothing listens and one at a host name that cannot
    resolve: a row that got as far as the network says so.
    """
    base = make_url(pg.url("asyncpg"))
    nowhere = labkit.free_port()
    cases = [
        ("lab server", base, {"sslmode": "require", "channel_binding": "require"}, None),
        ("nothing listens", base.set(port=nowhere), {"sslmode": "require", "channel_binding": "require"}, None),
        ("unresolvable host", base.set(host="db.example.invalid"), {"sslmode": "require"}, None),
        ("nothing listens", base.set(port=nowhere), {"ssl": "require"}, None),
        ("lab server", base, {"channel_binding": "require"}, None),
        ("lab server", base, {"ssl": "require"}, None),
        ("lab server", base, {"ssl": "prefer"}, None),
        ("lab server", base, {"ssl": "disable"}, None),
        ("lab server", base, {}, {"ssl": "disable"}),
    ]
    rows = []
    for where, url, query, connect_args in cases:
        outcome = await _connect(url.update_query_dict(query), connect_args)
        shown = "&".join(f"{k}={v}" for k, v in query.items()) or "-"
        outcome = outcome.replace(str(nowhere), "PORT").replace(str(base.port), "PORT")
        rows.append((where, shown, str(connect_args or "-"), outcome))
    return Tried(("server", "URL query", "connect_args", "outcome"), tuple(rows))


# A password with every character that breaks string surgery, percent-encoded as URLs require.
AWKWARD_PASSWORD = "p@ss:w/rd?"
PROVIDER_URLS = (  # {pw} is filled with the encoded password
    "postgresql://app:{pw}@db.example.invalid/app?sslmode=require&channel_binding=require",
    "postgres://app:{pw}@db.example.invalid:6543/app?sslmode=verify-full",
    "postgresql+psycopg2://app:{pw}@db.example.invalid/app?application_name=reports&connect_timeout=10",
    "postgresql://app:{pw}@db.example.invalid/app?ssl=require&target_session_attrs=read-write",
    "postgresql://app:{pw}@db.example.invalid/app?options=-c%20statement_timeout%3D5s",
)


def _provider_urls() -> list[str]:
    from urllib.parse import quote

    return [url.format(pw=quote(AWKWARD_PASSWORD, safe="")) for url in PROVIDER_URLS]


def convert_urls(lab: labkit.Lab) -> Tried:
    """The project's ``app.dburl.to_asyncpg`` on five provider URLs, in a fresh process from its work dir.

    The password ``p@ss:w/rd?`` must come out intact; it is shown as ``***`` in the URLs.
    """
    ran = lab.run(["python", str(HERE / "convert_urls.py"), json.dumps(_provider_urls())])
    if ran.returncode != 0:
        raise labkit.LabkitError(
            f"convert_urls.py failed in {lab.label}:\n{ran.output}", "Is step 2 (app/dburl.py) applied to this lab?"
        )
    rows = tuple(tuple(json.loads(line)) for line in ran.output.splitlines() if line.startswith("["))
    return Tried(
        ("libpq-style URL in", "URL out (password hidden)", "password out", "connect_args", "dropped or refused"), rows
    )


async def str_replace_each(pg: labkit.Postgres) -> Tried:
    """``.replace("postgresql://", "postgresql+asyncpg://")`` on the first three provider URLs, then the engine.

    Only the first gets as far as an engine; it then connects to the lab's server with the
    URL's query, so the error is asyncpg's and not the network's.
    """
    from sqlalchemy.ext.asyncio import create_async_engine

    server = make_url(pg.url("asyncpg"))
    rows = []
    for raw in _provider_urls()[:3]:
        edited = raw.replace("postgresql://", "postgresql+asyncpg://")
        built = _attempt(lambda edited=edited: create_async_engine(edited))
        if built == "accepted":
            query = make_url(edited).query
            built = "engine built; first connect: " + await _connect(server.update_query_dict(query))
        rows.append((raw.split("://")[0] + "://", edited.split("://")[0] + "://", built))
    return Tried(("scheme in", "after str.replace", "outcome"), tuple(rows))


@dataclass(frozen=True)
class Served:
    """The app started with one DATABASE_URL: did it start, what did GET /report answer, what did it log."""

    started: bool
    exit_code: int | None  # when it did not start
    status: int | None  # GET /report?seconds=0, when it started
    logs: str  # the app's log, the server's port shown as PORT

    def line(self, containing: str) -> str:
        """The last log line with this text in it ("" if none): in a traceback, the exception itself."""
        return next((line.strip() for line in reversed(self.logs.splitlines()) if containing in line), "")


def serve_with_query(lab: labkit.Lab, **query: str) -> Served:
    """Start the app with the provider-style URL plus ``query``, call GET /report once, stop it.

    A 500 is followed by its traceback in the log, written just after the answer: waited for.
    """
    port = str(make_url(lab.pg.url()).port)
    try:
        srv = lab.serve("app.main:app", ready_path="/health", env={"DATABASE_URL": provider_url(lab, **query)})
    except labkit.AppExited as exc:
        return Served(False, exc.exit_code, None, exc.logs.replace(port, "PORT"))
    try:
        status = srv.get("/report", params={"seconds": 0}).status_code
        if status != 200:
            labkit.wait_until(lambda: ERROR_LINE.search(srv.logs()), timeout=5, what="the app's traceback")
        logs = srv.logs()
    finally:
        srv.stop()
    return Served(True, None, status, logs.replace(port, "PORT"))


# -- the committed credentials (deep dive 11b) ---------------------------------------------------


def passwords_in_urls(lab: labkit.Lab) -> list[str]:
    """``file:line: text`` of each URL literal with a password in the project, the password masked.

    Placeholders (``${DB_PASSWORD}``, ``***``) are not passwords; files the project's
    ``.gitignore`` names are not committed, so they are skipped.
    """
    return checking.passwords_in_urls(Path(lab.workdir), show_line=True)


def settings_without_url(lab: labkit.Lab) -> str:
    """What the project's own ``Settings`` make of an environment without DATABASE_URL (fresh process)."""
    return lab.run(["python", str(HERE / "settings_without_url.py")], env={"DATABASE_URL": None}).output.strip()
