"""Notebook 02's measurements: one call each, loaded in the notebook as ``ref.harness``.

- :func:`stop_or_kill`: serve and end the app again and again (SIGKILL, Ctrl+C), counting what each run leaves;
- :func:`lifespans_in_one_process`: enter and leave the app's lifespan many times in one process (and record
  the DeprecationWarnings importing the app raises, which uvicorn's log never shows);
- :func:`shutdown_halves`: the same, with the lifespan's shutdown half written four ways;
- :func:`start_without_database`: start the app while PostgreSQL is stopped;
- :func:`password_forms`, :func:`served_with_user_typed_url`: the password in the log (deep dive 11a);
- :func:`init_db_twice`, :func:`ended_by_signal`, :func:`request_during_startup`: more claims of the reports.

Every function takes a ``labkit.Lab`` (the reference copy or the learner's) whose ``pg`` is set, and
returns a small result object that prints as a table and keeps the numbers for the text's checks.
Functions that need PostgreSQL to run out of connections lower ``max_connections`` for their own
run and put it back before they return.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import signal
import socket
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from labkit import AppExited, AppServer, Lab, Postgres, Table, free_port, wait_until

HERE = Path(__file__).parent
PROBE = HERE / "lifespan_probe.py"
APP_NAME = "items-api"  # the application_name the items API sets on its connections


class _Shown:
    """A result that Jupyter shows as its table."""

    def table(self) -> Table:
        raise NotImplementedError

    def note(self) -> str:
        return ""

    def __repr__(self) -> str:
        return "\n".join(filter(None, (str(self.table()), self.note())))

    def _repr_html_(self) -> str:
        note = f"<p>{html.escape(self.note())}</p>" if self.note() else ""
        return self.table()._repr_html_() + note


@contextmanager
def max_connections(pg: Postgres, slots: int) -> Iterator[None]:
    """PostgreSQL with only ``slots`` connections (labkit's own admin connection takes one), then back.

    ``slots`` must exceed PostgreSQL's 3 superuser-reserved connections, or the server does not start.
    """
    if slots <= 3:
        raise ValueError("slots must be at least 4: PostgreSQL reserves 3 connections for superusers")
    before = pg.query("show max_connections")[0][0]
    pg.configure(max_connections=slots)
    try:
        yield
    finally:
        pg.configure(max_connections=before)


# -- processes that end --------------------------------------------------------------------------


@dataclass(frozen=True, repr=False)
class Ended(_Shown):
    rows: list[tuple[int, str, int, int | None, int, int]]  # run, ended by, GET /items, exit code, open, left
    warned_in_logs: int  # uvicorn logs (of these runs) that mention a DeprecationWarning

    @property
    def served(self) -> list[int]:
        return [row[2] for row in self.rows]

    @property
    def left(self) -> list[int]:
        return [row[5] for row in self.rows]

    def table(self) -> Table:
        return Table(
            ("run", "ended by", "GET /items", "exit code", "connections while running", "left after it ended"),
            tuple(tuple(str(c) for c in row) for row in self.rows),
        )

    def note(self) -> str:
        return f"uvicorn's logs of these {len(self.rows)} runs that mention a DeprecationWarning: {self.warned_in_logs}"


def stop_or_kill(lab: Lab, runs: int = 4, slots: int = 4) -> Ended:
    """Serve the app ``runs`` times against ``slots`` connections, ending it by SIGKILL and Ctrl+C in turn.

    After each end, waits (up to 5 s) for the app's connections in ``pg_stat_activity`` to reach 0
    and records the count it reached: a leak would show as a count that stays.
    """
    assert lab.pg is not None
    rows, warned = [], 0
    with max_connections(lab.pg, slots):
        for run in range(1, runs + 1):
            how = "SIGKILL" if run % 2 else "Ctrl+C"
            srv = lab.serve(ready_path="/health")
            status = srv.get("/items").status_code
            running = lab.pg.connections(APP_NAME)
            ended = srv.kill() if how == "SIGKILL" else srv.stop()
            code = ended.exit_code
            if code is not None and code < 0:
                code = -int(signal.Signals(-code))
            rows.append((run, how, status, code, running, lab.pg.connections(APP_NAME, wait_for=0)))
            warned += "DeprecationWarning" in srv.logs()
            srv.close()
    return Ended(rows, warned)


# -- lifespans in one process --------------------------------------------------------------------


@dataclass(frozen=True, repr=False)
class Cycles(_Shown):
    shutdown: str
    rows: list[tuple[object, int]]  # per cycle: GET /items status (or the error), connections still open
    warnings: list[str] = field(default_factory=list)  # RuntimeWarnings, such as a coroutine never awaited
    deprecations: list[str] = field(default_factory=list)  # what importing app.main raised

    @property
    def left(self) -> list[int]:
        return [count for _, count in self.rows]

    @property
    def refused(self) -> str:
        """The error of the cycle PostgreSQL refused, or ''."""
        return next((str(status) for status, _ in self.rows if not isinstance(status, int)), "")

    def table(self) -> Table:
        return Table(
            ("cycle", "GET /items", "connections this process still holds"),
            tuple((str(n), _short(status), str(count)) for n, (status, count) in enumerate(self.rows, start=1)),
        )

    def note(self) -> str:
        return "importing app.main raised: " + ("; ".join(self.deprecations) or "no DeprecationWarning")


def _short(status: object) -> str:
    text = str(status)
    match = re.search(r"(sorry, too many clients already|Connection refused)", text)
    return f"refused: {match[1]}" if match and not isinstance(status, int) else text


def _cycles(lab: Lab, cycles: int, modes: list[str]) -> dict[str, Cycles]:
    ran = lab.run(["python", str(PROBE), str(cycles), *modes], timeout=120)
    lines = [line for line in ran.output.splitlines() if line.startswith("RESULT ")]
    if ran.returncode != 0 or not lines:
        raise RuntimeError(f"the lifespan probe failed:\n{ran.output}")
    found = json.loads(lines[-1][len("RESULT ") :])
    return {
        mode: Cycles(
            mode, [(status, count) for status, count in result["cycles"]], result["warnings"], found["deprecations"]
        )
        for mode, result in found["modes"].items()
    }


def lifespans_in_one_process(lab: Lab, cycles: int = 8, slots: int = 6) -> Cycles:
    """Enter and leave the app's own lifespan ``cycles`` times in one process, as ``with TestClient(app):`` in
    every test does, against PostgreSQL with ``slots`` connections; after each cycle, count the connections
    that process still holds (from its own side, so no waiting). Stops at the first refused start."""
    assert lab.pg is not None
    with max_connections(lab.pg, slots):
        return _cycles(lab, cycles, ["app"])["app"]


@dataclass(frozen=True, repr=False)
class Halves(_Shown):
    runs: dict[str, Cycles]

    def table(self) -> Table:
        return Table(
            ("after yield", "connections held after each cycle", "warnings"),
            tuple(
                (SHUTDOWN[name], " ".join(map(str, c.left)), "; ".join(c.warnings) or "-")
                for name, c in self.runs.items()
            ),
        )


SHUTDOWN = {
    "none": "(nothing)",
    "gc": "(nothing), gc.collect() after each cycle",
    "dispose": "engine.dispose()",
    "await-dispose": "await engine.dispose()",
}


def shutdown_halves(lab: Lab, cycles: int = 3) -> Halves:
    """The broken project's startup (``init_db()``) in a lifespan, with four shutdown halves, ``cycles`` each,
    all in one process (each from a clean slate: connections are counted above what it held before)."""
    return Halves(_cycles(lab, cycles, list(SHUTDOWN)))


# -- the database is down at start ---------------------------------------------------------------


@dataclass(frozen=True, repr=False)
class DeadStart(_Shown):
    exit_code: int | None  # None: the process kept running
    health: int | None  # GET /health while PostgreSQL was down (None: nothing served)
    items: int | None  # GET /items while PostgreSQL was down
    items_after: int | None  # GET /items once PostgreSQL was back
    error: str  # the app's own ERROR line

    def table(self) -> Table:
        def show(value: int | None) -> str:
            return "-" if value is None else str(value)

        return Table(
            ("uvicorn process", "GET /health", "GET /items", "GET /items once PostgreSQL is back", "the app logged"),
            (
                (
                    "exited, code " + show(self.exit_code) if self.exit_code is not None else "running",
                    show(self.health),
                    show(self.items),
                    show(self.items_after),
                    self.error,
                ),
            ),
        )


def start_without_database(lab: Lab) -> DeadStart:
    """Stop PostgreSQL, start the app under uvicorn, ask it for ``/health`` and ``/items``; start PostgreSQL again
    and ask once more. An app that fails fast exits instead, and its exit code is recorded."""
    assert lab.pg is not None
    port = str(_port(lab))
    lab.pg.stop()
    try:
        try:
            srv = lab.serve(ready_path="/health", timeout=20)
        except AppExited as exc:
            return DeadStart(exc.exit_code, None, None, None, _error_line(exc.logs, port))
        health, items = srv.get("/health").status_code, srv.get("/items").status_code
        error = _error_line(srv.wait_for_log("ERROR:     app"), port)
    finally:
        lab.pg.start()
    after = srv.get("/items").status_code
    srv.close()
    return DeadStart(None, health, items, after, error)


def _port(lab: Lab) -> int:
    from sqlalchemy.engine import make_url

    assert lab.pg is not None
    port = make_url(lab.pg.url("asyncpg")).port
    assert port is not None
    return port


def _error_line(logs: str, port: str) -> str:
    line = next((line for line in logs.splitlines() if line.startswith("ERROR:     app")), "(no ERROR line)")
    return line.replace(port, "PORT").removeprefix("ERROR:     ")


# -- broken and fixed, side by side --------------------------------------------------------------


def before_after(broken: tuple[Cycles, DeadStart], fixed: tuple[Cycles, DeadStart]) -> Table:
    """The measurements of the broken app and of the fixed one, one row each: (lifespans, dead start) pairs."""

    def held(c: Cycles) -> str:
        refused = f", then {_short(c.refused)}" if c.refused else ""
        return " ".join(str(n) for status, n in c.rows if isinstance(status, int)) + refused

    def start(d: DeadStart) -> str:
        if d.exit_code is not None:
            return f"exits with code {d.exit_code}"
        return f"runs: GET /health {d.health}, GET /items {d.items}"

    def warned(c: Cycles) -> str:
        return "; ".join(line.split(": ", 1)[1] for line in c.deprecations) or "none"

    return Table(
        ("measurement", "broken", "fixed"),
        (
            (
                f"connections held after each of {len(fixed[0].rows)} lifespans in one process",
                held(broken[0]),
                held(fixed[0]),
            ),
            ("DeprecationWarning when app.main is imported", warned(broken[0]), warned(fixed[0])),
            ("uvicorn started while PostgreSQL is down", start(broken[1]), start(fixed[1])),
        ),
    )


# -- the password in the log (deep dive 11a) -----------------------------------------------------

ROLE, PASSWORD = "svc@corp", "correct@horse-battery-staple"  # a user@server name, an @ in the password
FORMS_PROBE = HERE / "password_forms.py"


@contextmanager
def scratch_role(pg: Postgres) -> Iterator[tuple[str, str]]:
    """A login role ``svc@corp`` whose password holds an ``@``; dropped once its sessions are gone."""
    pg.query(f'drop role if exists "{ROLE}"')
    pg.query(f'create role "{ROLE}" login password %s', PASSWORD)
    try:
        yield ROLE, PASSWORD
    finally:
        wait_until(
            lambda: pg.query("select count(*) from pg_stat_activity where usename = %s", ROLE)[0][0] == 0,
            timeout=5,
            what="the scratch role's sessions to end",
        )
        pg.query(f'drop role if exists "{ROLE}"')


def url_forms(pg: Postgres) -> dict[str, str]:
    """The role's URL written three ways: all percent-encoded, the user name as typed, both as typed."""
    from urllib.parse import quote

    from sqlalchemy.engine import URL, make_url

    base = make_url(pg.url("asyncpg"))
    where = f"{base.host}:{base.port}/{base.database}"
    return {
        "URL.create": URL.create(
            "postgresql+asyncpg",
            username=ROLE,
            password=PASSWORD,
            host=base.host,
            port=base.port,
            database=base.database,
        ).render_as_string(hide_password=False),
        "user typed": f"postgresql+asyncpg://{ROLE}:{quote(PASSWORD, safe='')}@{where}",
        "both typed": f"postgresql+asyncpg://{ROLE}:{PASSWORD}@{where}",
    }


@dataclass(frozen=True, repr=False)
class Forms(_Shown):
    rows: list[tuple[str, str, str, str]]  # URL written, connects, the app logs, render_as_string(hide_password=True)

    def by_form(self, name: str) -> tuple[str, str, str, str]:
        return next(row for row in self.rows if row[0] == name)

    def table(self) -> Table:
        return Table(
            ("URL written", "connects", "the app logs (split('@')[1])", "render_as_string(hide_password=True)"),
            tuple(self.rows),
        )


def password_forms(lab: Lab) -> Forms:
    """For each URL form of the scratch role: does the app's own ``init_db()`` connect, what does it log, and
    what does SQLAlchemy's masked form show. One child process runs the three."""
    assert lab.pg is not None
    port = str(_port(lab))
    with scratch_role(lab.pg):
        ran = lab.run(["python", str(FORMS_PROBE), json.dumps(url_forms(lab.pg))])
    rows = [json.loads(line[len("RESULT ") :]) for line in ran.output.splitlines() if line.startswith("RESULT ")]
    if ran.returncode != 0 or len(rows) != 3:
        raise RuntimeError(f"the password probe failed:\n{ran.output}")
    return Forms([tuple(cell.replace(port, "PORT") for cell in row) for row in rows])  # type: ignore[misc]


@dataclass(frozen=True, repr=False)
class Served(_Shown):
    status: int  # GET /items
    lines: list[str]  # what the app itself logged (its app.* loggers), start to stop

    def table(self) -> Table:
        return Table(
            (f"the app's own log lines (GET /items answered {self.status})",), tuple((line,) for line in self.lines)
        )


def served_with_user_typed_url(lab: Lab) -> Served:
    """Serve the app under uvicorn with the "user typed" URL of the scratch role, ``GET /items``, Ctrl+C; keep
    the lines the app's own loggers wrote."""
    assert lab.pg is not None
    port = str(_port(lab))
    with scratch_role(lab.pg):
        srv = lab.serve(ready_path="/health", env={"DATABASE_URL": url_forms(lab.pg)["user typed"]})
        status = srv.get("/items").status_code
        srv.wait_for_log("app.db")
        logs = srv.logs() + srv.stop().logs
        srv.close()
    lines = [line.split("     ", 1)[-1].replace(port, "PORT") for line in logs.splitlines() if "app.db:" in line]
    return Served(status, lines)


# -- more claims of the reports ------------------------------------------------------------------

TWICE_PROBE = HERE / "init_db_twice.py"


@dataclass(frozen=True, repr=False)
class Twice(_Shown):
    runs: dict[str, dict[str, object]]  # "sync"/"async": {"counts": [after 1st, after 2nd, after gc], "second_works"}

    def counts(self, engine: str) -> list[int]:
        return list(self.runs[engine]["counts"])  # type: ignore[call-overload]

    @property
    def second_works(self) -> bool:
        return all(run["second_works"] for run in self.runs.values())

    def table(self) -> Table:
        return Table(
            ("engine", "after init_db() + a query", "after a 2nd init_db() + a query", "after gc.collect()"),
            tuple((name, *map(str, self.counts(name))) for name in self.runs),
        )

    def note(self) -> str:
        return "connections PostgreSQL sees; the 2nd engine answered: " + ("yes" if self.second_works else "no")


def init_db_twice(lab: Lab) -> Twice:
    """Report 000's ``init_db()`` (a global engine replaced on every call) called twice in one process, each
    call followed by one query; PostgreSQL's count of its connections after each, then after ``gc.collect()``.
    Once with the report's sync engine, once with the same pattern on an async engine."""
    ran = lab.run(["python", str(TWICE_PROBE)], timeout=60)
    lines = [line for line in ran.output.splitlines() if line.startswith("RESULT ")]
    if ran.returncode != 0 or not lines:
        raise RuntimeError(f"the init_db probe failed:\n{ran.output}")
    return Twice(json.loads(lines[-1][len("RESULT ") :]))


SHUTDOWN_LINE = "connection pool to"  # what the fixed app's close_db() logs once the pool is closed


@dataclass(frozen=True, repr=False)
class BySignal(_Shown):
    rows: list[tuple[str, int, bool, int]]  # signal, connections while running, shutdown code ran, left after

    @property
    def ran(self) -> dict[str, bool]:
        return {row[0]: row[2] for row in self.rows}

    @property
    def left(self) -> list[int]:
        return [row[3] for row in self.rows]

    def table(self) -> Table:
        return Table(
            ("ended by", "connections while running", "close_db() ran (its log line)", "left after it ended"),
            tuple((how, str(running), "yes" if ran else "no", str(left)) for how, running, ran, left in self.rows),
        )


def ended_by_signal(lab: Lab) -> BySignal:
    """Serve the app, ``GET /items``, then end it by SIGINT (Ctrl+C), SIGTERM (what ``docker stop``, systemd
    and Kubernetes send) or SIGKILL, one run each: did the lifespan's shutdown code log its line, and how many
    of the app's connections does PostgreSQL still see once the process is gone (waiting up to 5 s for 0)?"""
    assert lab.pg is not None
    rows = []
    for how in ("SIGINT", "SIGTERM", "SIGKILL"):
        srv = lab.serve(ready_path="/health")
        srv.get("/items")
        running = lab.pg.connections(APP_NAME)
        before = len(srv.logs())
        if how == "SIGKILL":
            srv.kill()
        else:
            os.killpg(srv.pid, getattr(signal, how))  # uvicorn runs alone in its process group
            wait_until(lambda srv=srv: not srv.alive, timeout=20, what=f"uvicorn to exit after {how}")
        ran = SHUTDOWN_LINE in srv.logs()[before:]
        srv.close()
        rows.append((how, running, ran, lab.pg.connections(APP_NAME, wait_for=0)))
    return BySignal(rows)


STARTED = "startup finished"  # what slow_startup.py logs when its lifespan reaches yield
SERVED = "served /items"  # what its GET /items logs


@dataclass(frozen=True, repr=False)
class Early(_Shown):
    rows: list[tuple[str, str, bool, int, bool]]
    # command, what the request sent during startup met, answered before startup finished,
    # GET /items once startup finished, the log says startup finished before served /items

    @property
    def answered_early(self) -> list[bool]:
        return [row[2] for row in self.rows]

    @property
    def after(self) -> list[int]:
        return [row[3] for row in self.rows]

    @property
    def in_order(self) -> list[bool]:
        return [row[4] for row in self.rows]

    def table(self) -> Table:
        return Table(
            (
                "served by",
                "GET /items sent while create_tables() runs",
                "answered before startup finished",
                "GET /items once started",
                "log: startup finished, then served /items",
            ),
            tuple(
                (cmd, met, "yes" if early else "no", str(after), "yes" if order else "no")
                for cmd, met, early, after, order in self.rows
            ),
        )


def _startup_request(lab: Lab, reload: bool) -> tuple[str, str, bool, int, bool]:
    scratch = Path(tempfile.mkdtemp(prefix="slow-startup-"))
    began, gate = scratch / "began", scratch / "gate"
    port = free_port()
    served: dict[str, AppServer | BaseException] = {}

    def serve() -> None:
        try:
            served["srv"] = lab.serve(
                "slow_startup:app",
                reload=reload,
                port=port,
                ready_path="/health",
                args=("--app-dir", str(HERE)),
                env={"STARTUP_BEGAN": str(began), "STARTUP_GATE": str(gate)},
            )
        except BaseException as exc:  # re-raised below, in the caller's thread
            served["srv"] = exc

    starter = threading.Thread(target=serve)
    starter.start()
    try:
        wait_until(began.exists, timeout=60, what="the lifespan's create_tables() to begin")
        try:
            client = socket.create_connection(("127.0.0.1", port), timeout=30)
        except ConnectionRefusedError:
            met, early = "connection refused", False
        else:
            with client:
                client.sendall(b"GET /items HTTP/1.1\r\nHost: app\r\nConnection: close\r\n\r\n")
                client.settimeout(0.5)  # a moment to see whether anything answers while startup is held
                try:
                    first = client.recv(65536)
                except TimeoutError:
                    first = b""
                early = bool(first)
                gate.touch()  # create_tables() may finish now
                client.settimeout(30)
                answer = first
                while chunk := client.recv(65536):
                    answer += chunk
            met = "accepted, answered " + (answer.split()[1].decode() if answer.startswith(b"HTTP/") else "nothing")
    finally:
        gate.touch()
        starter.join()
        shutil.rmtree(scratch, ignore_errors=True)
    srv = served["srv"]
    if isinstance(srv, BaseException):
        raise srv
    after = srv.get("/items").status_code
    srv.wait_for_log(SERVED)
    logs = srv.logs()
    srv.stop()
    srv.close()
    order = STARTED in logs and logs.index(STARTED) < logs.index(SERVED)
    command = "uvicorn slow_startup:app" + (" --reload" if reload else "")
    return command, met, early, after, order


def request_during_startup(lab: Lab) -> Early:
    """Report 001's lifespan with a ``create_tables()`` that blocks until the harness lets it finish, served
    by ``uvicorn`` and by ``uvicorn --reload``; a raw ``GET /items`` is sent while ``create_tables()`` is
    held. Was it answered before startup finished, and does the app's log say ``startup finished`` before
    ``served /items``? (Plain uvicorn opens its socket only after startup: the request is refused. Under
    ``--reload`` the reloader has opened it already: the request waits in the socket's queue.)"""
    return Early([_startup_request(lab, reload) for reload in (False, True)])
