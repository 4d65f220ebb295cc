"""Measurements for notebook 12, the capstone: one documented call each.

Loaded in a notebook as ``ref.harness`` (see ``labkit.Lab.harness``); tested by
``tests/test_harness_12.py``. Each call takes the lab whose project it measures, so the learner's
copy and the reference walk-through's copy are measured the same way.

- :func:`drill`: the incident report's manual test plan, run for real on one uvicorn process of the
  app: a burst, a quiet PostgreSQL restart, the users who come back, the health routes with
  PostgreSQL stopped, Ctrl+C; :func:`plot` and :func:`compare` show one drill or two side by side;
- :func:`in_process`: the app started and stopped inside one Python process (as a test suite or a
  second app does it), then the project's own suite in that process (``runner.py``, which the check
  runs too);
- :func:`doctor`: ``labkit doctor`` on the project, what it printed and the rules it found.

The doctor over the whole workbook (deep dive 12a):
- :func:`sweep`: the rules found in every scenario's broken project and in its reference.
"""

from __future__ import annotations

import contextlib
import io
import re
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import labkit
from labkit.checking import controlled, outcome, pytest_summary
from labkit.doctor import scan

if TYPE_CHECKING:
    from matplotlib.figure import Figure

APP = "interviews-api"  # the application_name of the app's connections (its APPLICATION_NAME default)
PROCESSES = 8  # the deployment simulated: 4 uvicorn workers x 2 replicas, all on one PostgreSQL
HEADROOM = 3  # slots kept for psql, migrations, monitoring: the fixed app's DB_HEADROOM default
BURST = 50  # the incident report's test: 50 requests at once
AFTER, RATE = 40, 40  # after the restart: 40 requests, 40 per second
QUIET = 0.3  # seconds with no request in flight before the restart
HEALTH = ("/health", "/health/live", "/health/ready")  # the broken app has the first, the fixed one the others
RUNNER = Path(__file__).with_name("runner.py")
PYTEST_ARGS = ["-q", "--color=no", "--tb=no", "-rfE", "-p", "no:cacheprovider"]
# "pool size: 5-20 connections" (the broken app's startup log) or "at most 11 connections" (the fixed one's)
POOL_LOGGED = re.compile(r"pool size: \d+-(\d+) connections|at most (\d+) connections")


# -- the server's share --------------------------------------------------------------------------


@dataclass(frozen=True)
class Server:
    """What one process of the deployment may hold of the server's connections."""

    max_connections: int
    reserved: int  # superuser_reserved_connections (+ reserved_connections since PostgreSQL 16)
    processes: int = PROCESSES
    headroom: int = HEADROOM

    @property
    def usable(self) -> int:
        return self.max_connections - self.reserved

    @property
    def share(self) -> int:
        return (self.usable - self.headroom) // self.processes

    def __repr__(self) -> str:
        return (
            f"({self.max_connections} max_connections - {self.reserved} reserved - {self.headroom} headroom) "
            f"// {self.processes} processes = {self.share} connections per process"
        )


def server(pg: labkit.Postgres) -> Server:
    """The server's limits, read with the same SQL the fixed app runs at startup."""
    limit, reserved = pg.query(
        "select current_setting('max_connections')::int, current_setting('superuser_reserved_connections')::int"
        " + coalesce(current_setting('reserved_connections', true), '0')::int"
    )[0]
    return Server(int(limit), int(reserved))


# -- the drill -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Drill:
    """One drill of one app: what every step of the test plan measured."""

    label: str
    server: Server
    timings: int  # Server-Timing values on one response: how many times TimingMiddleware ran
    pool_limit: int  # pool_size + max_overflow, as the app logged it at startup
    before: labkit.LoadResult  # the burst, before the restart
    restart: tuple[float, float]  # pg.restart() called and returned, seconds into the drill
    after_began: float  # when the load after the restart began
    after: labkit.LoadResult  # the users who come back
    trace: tuple[tuple[float, int], ...]  # (seconds into the drill, the app's connections on the server)
    health: dict[str, str]  # with PostgreSQL stopped: path -> status (404: the app has no such route)
    unhealthy_body: bool  # GET /health said "unhealthy" in its body
    exit_code: int | None  # after Ctrl+C
    baseline: int  # the app's connections before it started
    left: int  # ... and once its process had gone

    @property
    def peak(self) -> int:
        return max(n for _, n in self.trace)

    @property
    def idle_before_restart(self) -> int:
        return [n for t, n in self.trace if t < self.restart[0]][-1]

    @property
    def errors_after(self) -> int:
        return self.after.errors

    @property
    def first_after(self) -> list[str]:
        return [s.outcome for s in self.after.samples[:5]]

    @property
    def deployment_fits(self) -> bool:
        """Does this pool, in every process of the deployment, fit in what the server leaves them?"""
        return self.server.processes * self.pool_limit <= self.server.usable

    @property
    def deployment(self) -> str:
        processes, total = self.server.processes, self.server.processes * self.pool_limit
        return (
            f"{processes} processes x {self.pool_limit} = {total} connections against {self.server.usable} "
            f"usable of max_connections {self.server.max_connections}"
        )

    def table(self) -> labkit.Table:
        health = ", ".join(f"{path} {status}" for path, status in self.health.items())
        return labkit.Table(
            ("step of the drill", self.label),
            (
                ("Server-Timing values on one response", str(self.timings)),
                (f"{BURST} x GET /stats at once", _outcomes(self.before)),
                ("peak connections / pool limit / share", f"{self.peak} / {self.pool_limit} / {self.server.share}"),
                ("idle in the pool at the quiet restart", str(self.idle_before_restart)),
                (f"{AFTER} x GET /questions after it, {RATE}/s", _outcomes(self.after)),
                ("the first 5 after the restart", " ".join(self.first_after)),
                ("PostgreSQL stopped: GET", health + (" (/health's body: unhealthy)" if self.unhealthy_body else "")),
                ("Ctrl+C: exit code, connections left", f"{self.exit_code}, {self.left} (baseline {self.baseline})"),
            ),
        )

    def __repr__(self) -> str:
        return str(self.table())

    def _repr_html_(self) -> str:
        return self.table()._repr_html_()


def _outcomes(result: labkit.LoadResult) -> str:
    return ", ".join(f"{n} x {status}" for status, n in sorted(result.outcomes.items()))


def _watch(pg: labkit.Postgres, until: Any, began: float, trace: list[tuple[float, int]]) -> None:
    """Sample the app's connections on the server every 10 ms until ``until()`` is true (once at least)."""
    while True:
        done = until()  # asked first: the last sample is taken after the work ended
        trace.append((time.perf_counter() - began, pg.connections(APP)))
        if done:
            return
        time.sleep(0.01)


def _pool_limit(logs: str) -> int:
    found = POOL_LOGGED.search(logs)
    return int(found.group(1) or found.group(2)) if found else 0


def drill(lab: labkit.Lab, label: str | None = None) -> Drill:
    """The incident report's test plan on one uvicorn process of the app (``APP_PROCESSES=8`` in its environment).

    1. ``GET /`` once, counting its Server-Timing values; 2. 50 ``GET /stats`` at once (each holds its
    connection 0.1 s), ``pg_stat_activity`` sampled every 10 ms for the app's connections; 3. a quiet
    PostgreSQL restart, no request in flight; 4. 40 ``GET /questions`` at 40 per second, every one
    after the restart returned; 5. PostgreSQL stopped, the health routes asked once each, PostgreSQL
    started again; 6. Ctrl+C, and the app's connections counted once its process has gone. Every
    request is a fresh TCP connection. Needs a server labkit started: it restarts it.
    """
    pg = controlled(lab.pg)
    share = server(pg)
    baseline = pg.connections(APP, wait_for=0)
    trace: list[tuple[float, int]] = []
    with lab.serve("app.main:app", ready_path="/", env={"APP_PROCESSES": str(PROCESSES)}, timeout=60) as srv:
        timings = len(srv.get("/").headers.get_list("server-timing"))
        began = time.perf_counter()
        burst = labkit.start_load(srv.url + "/stats", requests=BURST, concurrency=BURST, timeout=20)
        _watch(pg, burst.done, began, trace)
        quiet_until = time.perf_counter() + QUIET
        _watch(pg, lambda: time.perf_counter() > quiet_until, began, trace)
        called = time.perf_counter() - began
        pg.restart()
        restart = (called, time.perf_counter() - began)
        after = labkit.start_load(srv.url + "/questions", requests=AFTER, concurrency=10, rate=RATE, timeout=10)
        after_began = time.perf_counter() - began
        _watch(pg, after.done, began, trace)
        pg.stop()
        try:
            health = {path: outcome(srv, path, timeout=10) for path in HEALTH}
            unhealthy = health["/health"] == "200" and "unhealthy" in srv.get("/health", timeout=10).text
        finally:
            pg.start()
        stopped = srv.stop()
        limit = _pool_limit(srv.logs() + stopped.logs)
    left = pg.connections(APP, wait_for=baseline)
    return Drill(
        label or lab.label,
        share,
        timings,
        limit,
        burst.result(),
        restart,
        after_began,
        after.result(),
        tuple(trace),
        health,
        unhealthy,
        stopped.exit_code,
        baseline,
        left,
    )


def plot(*drills: Drill) -> Figure:
    """Per drill, a column: each request's latency (green answered, red failed) and the app's connections.

    The orange band is the restart; the dotted line the pool's limit, the dashed one the share of one process.
    """
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(
        2, len(drills), figsize=(6 * len(drills), 5), sharex="col", squeeze=False, gridspec_kw={"height_ratios": [3, 2]}
    )
    top = max(max(d.peak, d.pool_limit) for d in drills) + 3
    for column, d in enumerate(drills):
        ax_requests, ax_connections = axes[0][column], axes[1][column]
        for ax in (ax_requests, ax_connections):
            ax.axvspan(*d.restart, color="tab:orange", alpha=0.35, zorder=0)
            ax.axvline(d.restart[0], color="tab:orange", linestyle="--", linewidth=1)
        for result, offset in ((d.before, 0.0), (d.after, d.after_began)):
            ax_requests.scatter(
                [offset + s.started for s in result.samples],
                [s.seconds * 1000 for s in result.samples],
                s=10,
                c=["tab:green" if s.ok else "tab:red" for s in result.samples],
            )
        ax_requests.set(title=f"{d.label} (orange: PostgreSQL restart)", ylabel="latency (ms)")
        ax_connections.step([t for t, _ in d.trace], [n for _, n in d.trace], where="post")
        ax_connections.axhline(d.pool_limit, color="grey", linestyle=":", label=f"pool limit {d.pool_limit}")
        ax_connections.axhline(
            d.server.share, color="tab:red", linestyle="--", linewidth=1, label=f"share per process {d.server.share}"
        )
        ax_connections.set(xlabel="seconds into the drill", ylabel="app connections", ylim=(0, top))
        ax_connections.legend(loc="upper right", fontsize=8)
    fig.text(0.5, 0.005, "dots: one request each, green answered 2xx, red failed", ha="center", fontsize=8)
    fig.tight_layout()
    plt.close(fig)  # shown once, by the cell's value
    return fig


def compare(*drills: Drill) -> labkit.Table:
    """The drills side by side, one column each."""
    tables = [d.table() for d in drills]
    return labkit.Table(
        (tables[0].header[0], *(t.header[1] for t in tables)),
        tuple((row[0], *(t.rows[i][1] for t in tables)) for i, row in enumerate(tables[0].rows)),
    )


# -- in one process ------------------------------------------------------------------------------


@dataclass(frozen=True)
class InProcess:
    """The app started and stopped inside one Python process, then the project's suite there."""

    status: str  # GET /questions while it ran ("-" if the start failed)
    during: int  # the app's connections while it ran
    after: int  # ... once its lifespan had ended, the process still running
    suite: labkit.checking.PytestRun
    suite_exit: int | None

    def table(self) -> labkit.Table:
        return labkit.Table(
            ("in one Python process", "measured"),
            (
                ("GET /questions", self.status),
                ("connections while it ran / after its lifespan ended", f"{self.during} / {self.after}"),
                ("python -m pytest", self.suite.summary),
                *(("", _failure(line)) for line in self.suite.failures),
            ),
        )

    def __repr__(self) -> str:
        return str(self.table())

    def _repr_html_(self) -> str:
        return self.table()._repr_html_()


def _failure(line: str) -> str:
    """``ERROR tests/suite_api.py::test_x - sqlalchemy.exc.InterfaceError: (driver detail) message`` in short."""
    found = re.match(r"^(ERROR|FAILED) \S+::(\w+) - (?:[\w.]+\.)?(\w+):? (?:\(.*?\) )?(.*)$", line)
    return f"{found[1]} {found[2]}: {found[3]}: {found[4]}"[:110] if found else line[:110]


def in_process(lab: labkit.Lab) -> InProcess:
    """``runner.py`` in the project: starts the app with ``asgi_lifespan.LifespanManager`` (as uvicorn starts it),
    asks ``GET /questions``, stops it and counts its connections on the server while the process goes on; then
    forgets the project's modules and runs ``python -m pytest`` in that same process (the check runs it too)."""
    output = lab.run(["python", str(RUNNER), *PYTEST_ARGS], env={"COLUMNS": "300"}, timeout=120).output
    found = re.search(r"LIFESPAN status (\S+) during (\d+) after (\d+)", output)
    exit_found = re.search(r"^SUITE exit (-?\d+)$", output, re.MULTILINE)
    suite = pytest_summary(
        "\n".join(line for line in output.splitlines() if not line.startswith(("LIFESPAN", "SUITE")))
    )
    return InProcess(
        found.group(1) if found else "-",
        int(found.group(2)) if found else 0,
        int(found.group(3)) if found else 0,
        suite,
        int(exit_found.group(1)) if exit_found else None,
    )


# -- the doctor ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Doctor:
    """``labkit doctor`` on a project: its exit code, what it printed, and the rules of its findings."""

    exit_code: int
    report: str
    rules: list[str]

    def __repr__(self) -> str:
        return self.report


def doctor(lab: labkit.Lab, *args: str) -> Doctor:
    """``labkit doctor WORKDIR ARGS`` through the command's own entry point, its output captured."""
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exit_code = labkit.command(["doctor", str(lab.workdir), *args])
    rules = sorted({finding.rule for finding in scan(lab.workdir).findings})
    return Doctor(exit_code, printed.getvalue().strip(), rules)


# -- the doctor over the workbook (deep dive 12a) ------------------------------------------------


@dataclass(frozen=True)
class Sweep:
    """The doctor's rules per scenario: in its broken project, and once every step of its fix is in."""

    broken: dict[str, list[str]]
    fixed: dict[str, list[str]]

    def homes(self, rule: str) -> list[str]:
        """The scenarios before the capstone whose broken project has ``rule``."""
        return [name for name, rules in self.broken.items() if rule in rules and name != "12-capstone"]

    def table(self) -> labkit.Table:
        return labkit.Table(
            ("scenario", "rules in the broken project", "after its steps"),
            tuple(
                (name, ", ".join(rules) or "-", ", ".join(self.fixed[name]) or "-")
                for name, rules in self.broken.items()
            ),
        )

    def __repr__(self) -> str:
        return str(self.table())

    def _repr_html_(self) -> str:
        return self.table()._repr_html_()


def sweep() -> Sweep:
    """The doctor's scan over the broken project of every scenario, then over a copy of it with every step
    applied (in a temporary folder: no work copy is touched)."""
    broken: dict[str, list[str]] = {}
    fixed: dict[str, list[str]] = {}
    with tempfile.TemporaryDirectory(prefix="labkit-12a-") as tmp:
        for name in labkit.scenarios():
            broken[name] = sorted({f.rule for f in scan(labkit.Scenario.load(name).broken).findings})
            with labkit.Lab(name, workdir=Path(tmp) / name) as lab:
                for _ in lab.scenario.steps:
                    lab.apply()
                fixed[name] = sorted({f.rule for f in scan(lab.workdir).findings})
    return Sweep(broken, fixed)
