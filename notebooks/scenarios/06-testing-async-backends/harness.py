"""The measurements of notebook 06 and its deep dive 06a, one documented call each.

Loaded in a notebook as ``ref.harness`` (``lab.harness``): every function takes the lab whose
project it measures (the learner's copy or the reference walk-through's) and runs the project's
own pytest suite from its folder, the way a developer would. The runs go through ``runner.py``
(beside ``check.py``): each run is a fresh process and ends with a line that counts the HTTP
requests the app got, those sent to an app whose lifespan had not started, and the lifespans
that did start. pytest's output is read by ``labkit.checking.pytest_summary``. Nothing here
prints a password or a port.

- :func:`suite`: the suite ``runs`` times in a row on one new, empty database; each run's
  verdict, the connections PostgreSQL counted for the whole series and the rows left behind;
- :func:`clients_without_database`: four common test clients send ``GET /health`` to the app
  while ``DATABASE_URL`` points where no server listens: which ones ran the app's lifespan;
- :func:`suite_without_pool`: the suite with the app's engine given a ``NullPool`` and nothing
  else changed (the deep dive 06a);
- :func:`database_override`: what a test can still change once the app is imported (06a);
- :func:`loop_closed`: which misuse of an async engine says "Event loop is closed" (06a).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from labkit import LabkitError, Table, Tabular, wait_until
from labkit.checking import PytestRun, pytest_summary, scratch_database, unreachable_url

if TYPE_CHECKING:
    from labkit import Lab, Postgres

HERE = Path(__file__).parent
RUNNER = HERE / "runner.py"
CLIENTS = HERE / "clients_probe.py"
OVERRIDE = HERE / "override_probe.py"
LOOP = HERE / "loop_probe.py"
DATABASE = "lab06_bookmarks"
PYTEST_ARGS = ("-p", "no:cacheprovider", "--rootdir", ".", "-q", "--tb=no", "-rfE", "--color=no")
ONE_LOOP = ("-o", "asyncio_default_fixture_loop_scope=session", "-o", "asyncio_default_test_loop_scope=session")
REPORT = re.compile(
    r"^RUN \d+: exit (-?\d+), http requests (\d+), without a started app (\d+), "
    r"lifespan startups (\d+)",
    re.MULTILINE,
)
RUN_HEADER = re.compile(r"^--- run \d+ of \d+$", re.MULTILINE)

# What changes from run to run or only makes a failure line long, taken out before it is shown.
_NOISE = (
    (re.compile(r"tests/suite_bookmarks\.py::"), ""),
    (re.compile(r"\(sqlalchemy\.dialects\.postgresql\.asyncpg\.\w+\) "), ""),
    (re.compile(r"name='Task-\d+'"), "name='Task-N'"),
    (
        re.compile(r"(Task <Task pending name='[^']*') .*?> got Future <.*?>+ attached"),
        r"\1 ...> got Future ... attached",
    ),
)


def _pg(lab: Lab) -> Postgres:
    if lab.pg is None:
        raise LabkitError("These measurements need a database.", "Create the lab with labkit.Lab(name, pg).")
    return lab.pg


def tidy(output: str) -> str:
    """pytest's output with task numbers, memory addresses and module paths taken out of its failure lines."""
    for pattern, replacement in _NOISE:
        output = pattern.sub(replacement, output)
    return output


# -- one run, a series of runs -----------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    """One run of the suite: pytest's verdict and the runner's counts."""

    pytest: PytestRun
    exit: int
    requests: int  # HTTP requests any app got during the run
    unstarted: int  # of those, requests to an app whose lifespan had not started
    startups: int  # lifespans that completed their startup

    @property
    def verdict(self) -> str:
        """pytest's counts without the timing and the warnings: "1 passed, 6 errors"."""
        counts = {k: v for k, v in self.pytest.counts.items() if k != "warnings"}
        return ", ".join(f"{v} {k}" for k, v in counts.items()) or self.pytest.summary


def parse(output: str) -> tuple[Run, ...]:
    """The runs in ``runner.py``'s output (``--- run N of M`` before each, its ``RUN`` line after)."""
    parts = RUN_HEADER.split(tidy(output))[1:]
    runs = []
    for part in parts:
        report = REPORT.search(part)
        exit_code, requests, unstarted, startups = map(int, report.groups()) if report else (-1, 0, 0, 0)
        pytest_part = "\n".join(line for line in part.splitlines() if not line.startswith("RUN "))
        runs.append(Run(pytest_summary(pytest_part), exit_code, requests, unstarted, startups))
    return tuple(runs)


@dataclass(frozen=True)
class Suite:
    """A series of runs on one new database, and what PostgreSQL saw of it."""

    runs: tuple[Run, ...]
    opened: int  # connections opened to the suite's database by the whole series
    rows_left: int  # rows in the bookmarks table afterwards

    @property
    def all_passed(self) -> bool:
        return bool(self.runs) and all(run.pytest.ok for run in self.runs)

    @property
    def table(self) -> Table:
        return Table(
            ("run", "pytest", "http requests", "to an unstarted app", "lifespan startups"),
            tuple(
                (str(n), run.verdict, str(run.requests), str(run.unstarted), str(run.startups))
                for n, run in enumerate(self.runs, start=1)
            ),
        )

    def _notes(self) -> list[str]:
        notes = [f"run {n}: {line}" for n, run in enumerate(self.runs, start=1) for line in run.pytest.failures]
        notes.append(f"connections opened to the suite's database: {self.opened}; rows left: {self.rows_left}")
        return notes

    def __str__(self) -> str:
        return "\n".join([str(self.table), "", *self._notes()])

    __repr__ = __str__

    def _repr_html_(self) -> str:
        import html

        lines = "<br>".join(f"<code>{html.escape(note)}</code>" for note in self._notes())
        return self.table._repr_html_() + f"<p>{lines}</p>"


def _sessions(pg: Postgres) -> int:
    """Connections the database has had since it was created, once none is open any more."""
    wait_until(
        lambda: not pg.query("select count(*) from pg_stat_activity where datname = %s", DATABASE)[0][0],
        timeout=15,
        what="the suite's connections to end",
    )
    reads: list[int] = []

    def steady() -> bool:  # a backend reports its session a moment after it has left pg_stat_activity
        reads.append(pg.query("select sessions from pg_stat_database where datname = %s", DATABASE)[0][0])
        return len(reads) >= 3 and reads[-1] == reads[-2] == reads[-3]

    wait_until(steady, timeout=15, interval=0.1, what="PostgreSQL's session count to settle")
    return reads[-1]


def _bookmarks(pg: Postgres, database: str) -> int | None:
    """Rows in the bookmarks table of ``database``; ``None`` when it has no such table."""
    engine = create_engine(pg.url("psycopg2", database=database), poolclass=NullPool)
    try:
        with engine.connect() as conn:
            if conn.scalar(text("select to_regclass('bookmarks')")) is None:
                return None
            return int(conn.scalar(text("select count(*) from bookmarks")))
    finally:
        engine.dispose()


def _rows_left(pg: Postgres) -> int:
    return _bookmarks(pg, DATABASE) or 0


def suite(lab: Lab, runs: int = 1, *, one_loop: bool = False) -> Suite:
    """The project's suite ``runs`` times in a row, each run a fresh process, on one new, empty database.

    ``one_loop``: run it as if ``pytest.ini`` set both default loop scopes to ``session`` (pytest's
    ``-o`` options; the files are not changed).
    """
    pg = _pg(lab)
    args = [*PYTEST_ARGS, *(ONE_LOOP if one_loop else ())]
    with scratch_database(pg, DATABASE) as database:
        ran = lab.run(
            ["python", str(RUNNER), str(runs), *args],
            env={"DATABASE_URL": pg.url("asyncpg", database=database)},
            timeout=60 + 30 * runs,
        )
        parsed = parse(ran.output)
        if len(parsed) != runs:
            raise LabkitError(f"The runner reported {len(parsed)} of {runs} runs.", ran.output[-1500:])
        return Suite(parsed, _sessions(pg), _rows_left(pg))


def suite_without_pool(lab: Lab, runs: int = 1) -> Suite:
    """:func:`suite` with the app's engine given a ``NullPool`` and nothing else changed (the file is put back)."""
    db_py = lab.workdir / "app" / "db.py"
    original = db_py.read_text()
    changed = original.replace(
        "from sqlalchemy.ext.asyncio import",
        "from sqlalchemy.pool import NullPool\nfrom sqlalchemy.ext.asyncio import",
        1,
    ).replace("pool_size=5", "poolclass=NullPool")
    if changed == original or "poolclass=NullPool" not in changed:
        raise LabkitError("app/db.py does not build its engine with pool_size=5 here.", "Use the broken project.")
    db_py.write_text(changed)
    try:
        return suite(lab, runs)
    finally:
        db_py.write_text(original)


# -- which test clients run the lifespan --------------------------------------------------------


@dataclass(frozen=True)
class Clients:
    """Each test client's outcome with no database behind ``DATABASE_URL``."""

    rows: tuple[tuple[str, str, str], ...]  # (client, outcome, where it raised)

    def outcome(self, client: str) -> str:
        return next(outcome for name, outcome, _ in self.rows if name == client)

    @property
    def table(self) -> Table:
        return Table(("test client, database unreachable", "outcome", "raised in"), self.rows)

    def __str__(self) -> str:
        return str(self.table)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        return self.table._repr_html_()


def clients_without_database(lab: Lab) -> Clients:
    """``GET /health`` through four test clients, with ``DATABASE_URL`` where no server listens.

    The app's lifespan connects to the database; a client that runs it fails there, a client that
    does not gets the answer of an app that never started.
    """
    ran = lab.run(["python", str(CLIENTS)], env={"DATABASE_URL": unreachable_url(_pg(lab))})
    rows = tuple(tuple(line.split("|")) for line in ran.output.splitlines() if line.count("|") == 2)
    if len(rows) != 4:
        raise LabkitError("The client probe did not report its four clients.", ran.output[-1500:])
    return Clients(rows)  # type: ignore[arg-type]


# -- what a test can override once the app is imported (report 000 line 67) --------------------------

APP_DB, TEST_DB = "lab06_app", "lab06_test"


@dataclass(frozen=True, repr=False)
class Override(Tabular):
    """A test's try to point the imported app at its own database, and where each part went."""

    at_import: str  # "the app's database" or "the test's database": what the engine used after the import
    after_change: str  # the same once the test had set DATABASE_URL to its own database
    status: int  # POST /bookmarks through the overridden get_session
    rows: dict[str, int | None]  # database -> bookmarks rows afterwards (None: no table)

    @property
    def row_in(self) -> tuple[str, ...]:
        """The databases the request's row went to."""
        return tuple(name for name, rows in self.rows.items() if rows)

    @property
    def lifespan_table_in_app_database(self) -> bool:
        """The lifespan's ``create_all`` ran on the import-time engine (the test made no table there)."""
        return self.rows["the app's database"] is not None

    def table(self) -> Table:
        return Table(
            ("what the test did", "where it went"),
            (
                ("nothing: the engine as imported", f"engine on {self.at_import}"),
                ("DATABASE_URL set to the test's database after the import", f"engine still on {self.after_change}"),
                (
                    "app.dependency_overrides[get_session]: POST /bookmarks",
                    f"{self.status}, row in {' and '.join(self.row_in) or 'neither'}",
                ),
                (
                    "the lifespan's create_all, override in place",
                    "table in the app's database"
                    if self.lifespan_table_in_app_database
                    else "no table in the app's database",
                ),
            ),
        )


def database_override(lab: Lab) -> Override:
    """Import the app with ``DATABASE_URL`` on one database, then try to move a test onto another.

    In a child process (``override_probe.py``), with two new databases: the app's and the test's. The test
    sets ``DATABASE_URL`` after the import, overrides ``get_session`` with a session of its own engine and
    posts a bookmark with the app's lifespan running. PostgreSQL then says where the table and the row went.
    """
    pg = _pg(lab)
    with scratch_database(pg, APP_DB) as app_db, scratch_database(pg, TEST_DB) as test_db:
        ran = lab.run(
            ["python", str(OVERRIDE), pg.url("asyncpg", database=test_db)],
            env={"DATABASE_URL": pg.url("asyncpg", database=app_db)},
        )
        found = re.search(r"^RESULT (.+)$", ran.output, re.MULTILINE)
        if found is None:
            raise LabkitError("The override probe did not report.", ran.output[-1500:])
        said = json.loads(found.group(1))
        names = {app_db: "the app's database", test_db: "the test's database"}
        rows = {names[app_db]: _bookmarks(pg, app_db), names[test_db]: _bookmarks(pg, test_db)}
        return Override(names[said["at_import"]], names[said["after_change"]], said["status"], rows)


# -- where "Event loop is closed" comes from (report 003 line 593) -----------------------------------


@dataclass(frozen=True, repr=False)
class LoopClosed(Tabular):
    """Five misuses of an async engine: what each raised, and whether "Event loop is closed" was said."""

    rows: tuple[tuple[str, str, str], ...]  # (case, raised, "yes"/"no")

    def said_closed(self) -> tuple[str, ...]:
        """The cases whose exception or log said "Event loop is closed"."""
        return tuple(case for case, _, seen in self.rows if seen == "yes")

    def raised(self, case_starts: str) -> str:
        return next(raised for case, raised, _ in self.rows if case.startswith(case_starts))

    def table(self) -> Table:
        return Table(("case", "raised", "'Event loop is closed' said"), self.rows)


def loop_closed(lab: Lab) -> LoopClosed:
    """Async code outside a running loop, and pooled connections that outlive their loop, in one child process.

    ``loop_probe.py`` runs each case on an engine of its own, catches what it raises and reads what it
    wrote to stderr (the pool logs the errors it meets while closing a connection).
    """
    ran = lab.run(["python", str(LOOP)], env={"DATABASE_URL": _pg(lab).url("asyncpg")})
    rows = tuple(tuple(line.split("|")) for line in ran.output.splitlines() if line.count("|") == 2)
    if len(rows) != 5:
        raise LabkitError("The loop probe did not report its five cases.", ran.output[-1500:])
    return LoopClosed(rows)  # type: ignore[arg-type]
