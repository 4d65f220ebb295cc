"""The measurements of notebook 01 and its deep dive 01a, one documented call each.

Loaded in a notebook as ``ref.harness`` (``lab.harness``): every function takes the lab whose
project it measures (the learner's copy or the reference walk-through's) and runs that project
in new Python processes, from its folder, the way uvicorn or a test run would. The child
programs are the ``.py`` files beside this one. Nothing here prints a password or a port.

- :func:`import_probe`: what importing, starting and stopping the app does to a new database
  (connections at each moment, the SQL sent, the tables left);
- :func:`imports`: import ``app.db`` and ``app.main`` (and build its OpenAPI document) with no
  server behind ``DATABASE_URL``, and ``app.main`` with no ``DATABASE_URL`` at all;
- :func:`users_and_notes`: the app under uvicorn on a new, empty database, one user and one note
  created over HTTP;
- :func:`start_together` and :func:`race`: processes that start the app at the same moment on an
  empty database, round after round (the deep dive 01a).
"""

from __future__ import annotations

import atexit
import json
import re
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import create_engine, make_url, text
from sqlalchemy.pool import NullPool

from labkit import Table, free_port, wait_until

if TYPE_CHECKING:
    from labkit import Lab

HERE = Path(__file__).parent
PROBE = HERE / "probe_import.py"
IMPORT = HERE / "import_app.py"
RACE_WORKER = HERE / "race_worker.py"
DEMO_PREFIX = "demo01_"  # every database made here; dropped when the kernel ends
ERROR_LINE = re.compile(r"^[\w.]+(Error|Exception)\b")
SQL_SHOWN = 60  # characters of each statement shown
NO_ERROR = "(no error)"


def _pg(lab: Lab):
    if lab.pg is None:
        from labkit import LabkitError

        raise LabkitError("These measurements need a database.", "Create the lab with labkit.Lab(name, pg).")
    return lab.pg


def _result(output: str) -> object | None:
    """The JSON after ``RESULT`` in a child's output, or None when it never got there."""
    for line in output.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT ") :])
    return None


def error_line(output: str) -> str:
    """The exception line of a traceback, with the port masked (it changes every run)."""
    lines = [line for line in output.splitlines() if ERROR_LINE.match(line)]
    return re.sub(r"port \d+", "port PORT", lines[-1]) if lines else NO_ERROR


# -- databases ---------------------------------------------------------------------------------


_made: set[str] = set()


def empty_database(lab: Lab, name: str) -> str:
    """A new, empty database of its own (dropped first if a run before left it); its psycopg2 URL.

    Never print the URL: it holds the password. The databases go when the kernel ends.
    """
    pg, database = _pg(lab), DEMO_PREFIX + name
    pg.query(f"drop database if exists {database} with (force)")
    pg.query(f"create database {database}")
    if not _made:
        atexit.register(_drop_all, pg)
    _made.add(database)
    return pg.url("psycopg2", database=database)


def _drop_all(pg) -> None:
    for database in sorted(_made):
        try:
            pg.query(f"drop database if exists {database} with (force)")
        except Exception:
            return


def tables(url: str) -> list[str]:
    """The tables of a database's public schema, by name."""
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return list(conn.scalars(text("select tablename from pg_tables where schemaname = 'public' order by 1")))
    finally:
        engine.dispose()


# -- importing, starting, stopping ---------------------------------------------------------------


@dataclass(frozen=True)
class Probe:
    """What importing, starting and stopping the app did to its database, moment by moment."""

    moments: tuple[tuple[str, int, tuple[str, ...]], ...]  # (moment, connections, SQL sent since the last one)
    tables: tuple[str, ...]

    def connections(self, moment: str) -> int:
        """The database's connections (the probe's own left out) at a moment: "after import", ..."""
        return next(count for name, count, _ in self.moments if name == moment)

    def sql(self, moment: str) -> tuple[str, ...]:
        """The statements the app's engines sent between the moment before and this one."""
        return next(sent for name, _, sent in self.moments if name == moment)

    @property
    def table(self) -> Table:
        rows = []
        for moment, count, sent in self.moments:
            shown = [s if len(s) <= SQL_SHOWN else s[:SQL_SHOWN] + " ..." for s in sent] or ["-"]
            rows.append((moment, str(count), shown[0]))
            rows += [("", "", s) for s in shown[1:]]
        return Table(("moment", "connections", "SQL the app sent just before"), tuple(rows))

    def __str__(self) -> str:
        return f"{self.table}\n\ntables in the database now: {list(self.tables)}"

    __repr__ = __str__

    def _repr_html_(self) -> str:
        return self.table._repr_html_() + f"<p>tables in the database now: <code>{list(self.tables)}</code></p>"


def import_probe(lab: Lab, database: str = "import") -> Probe:
    """Import ``app.main`` in a new process on a new, empty database, then start and stop the app.

    At each moment (before import, after import, after startup, after shutdown) PostgreSQL says
    how many connections the database has; every statement the app's engines send is recorded.
    See ``probe_import.py``.
    """
    url = empty_database(lab, database)
    ran = lab.run(["python", str(PROBE)], env={"DATABASE_URL": url}, timeout=60)
    found = _result(ran.output)
    if found is None:
        from labkit import LabkitError

        raise LabkitError(
            f"The probe did not finish: {error_line(ran.output)}", "Read the output: lab.run(...) shows it."
        )
    moments = tuple((m["moment"], m["connections"], tuple(m["sql"])) for m in found)  # type: ignore[union-attr]
    return Probe(moments, tuple(tables(url)))


@dataclass(frozen=True)
class Imported:
    """One module imported in a new process: how it went."""

    situation: str  # "no server at DATABASE_URL", "no DATABASE_URL"
    module: str
    error: str = ""  # the exception that ended the import ("" when it imported), port masked
    paths: tuple[str, ...] = ()  # the OpenAPI document's paths, when the module has an app

    @property
    def ok(self) -> bool:
        return not self.error

    def row(self) -> tuple[str, str, str]:
        outcome = self.error or (f"imported; OpenAPI paths {list(self.paths)}" if self.paths else "imported")
        return (self.situation, f"import {self.module}", outcome)


@dataclass(frozen=True)
class Imports:
    """Several imports, shown as one table; ``imports["app.main"]`` is the first of that module."""

    runs: tuple[Imported, ...]

    def __getitem__(self, module: str) -> Imported:
        return next(run for run in self.runs if run.module == module)

    def get(self, module: str, situation: str) -> Imported:
        return next(run for run in self.runs if (run.module, run.situation) == (module, situation))

    @property
    def table(self) -> Table:
        return Table(("situation", "what", "outcome"), tuple(run.row() for run in self.runs))

    def __str__(self) -> str:
        return str(self.table)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        return self.table._repr_html_()


NO_SERVER, NO_URL = "no server at DATABASE_URL", "no DATABASE_URL"


def _import(lab: Lab, situation: str, modules: list[str], env: dict[str, str | None]) -> list[Imported]:
    ran = lab.run(["python", str(IMPORT), *modules], env=env, timeout=60)
    runs = []
    for line in ran.output.splitlines():
        if line.startswith("RESULT "):
            found = json.loads(line[len("RESULT ") :])
            error = re.sub(r"port \d+", "port PORT", found.get("error", ""))
            runs.append(Imported(situation, found["module"], error, tuple(found.get("paths", ()))))
    if len(runs) != len(modules):
        from labkit import LabkitError

        raise LabkitError(
            f"The import probe did not finish: {error_line(ran.output)}", "Read its output with lab.run(...)."
        )
    return runs


def unreachable_url(lab: Lab) -> str:
    """A psycopg2 URL of the lab's server, but at a loopback port where no server listens.

    To a client that is what a stopped database looks like: the connection is refused.
    """
    return (
        make_url(_pg(lab).url("psycopg2"))
        .set(port=free_port(), database="nowhere")
        .render_as_string(hide_password=False)
    )


def imports(lab: Lab) -> Imports:
    """Import the project as a docs build would, in two new processes (see ``import_app.py``):

    1. ``DATABASE_URL`` points at a port where no server listens (what a stopped database looks
       like to a client): ``app.db`` alone (the module that builds the engine), then ``app.main``
       and its OpenAPI document;
    2. no ``DATABASE_URL`` at all (a CI job that only builds the docs has none): ``app.main``.
    """
    return Imports(
        (
            *_import(lab, NO_SERVER, ["app.db", "app.main"], {"DATABASE_URL": unreachable_url(lab)}),
            *_import(lab, NO_URL, ["app.main"], {"DATABASE_URL": None}),
        )
    )


# -- serving ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Served:
    """The app under uvicorn on a new, empty database: its start, its tables, two requests."""

    started: str  # the startup line of uvicorn's log, and whether an error came with it
    tables: tuple[str, ...]  # right after startup, before any request
    users: int  # POST /users status
    notes: int  # POST /notes status
    error: str  # the exception line the app logged ("(no error)" when none)

    @property
    def table(self) -> Table:
        return Table(
            ("what", "result"),
            (
                ("uvicorn", self.started),
                ("tables after startup", str(list(self.tables))),
                ("POST /users", str(self.users)),
                ("POST /notes", str(self.notes)),
                ("error in the app's log", self.error),
            ),
        )

    def __str__(self) -> str:
        return str(self.table)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        return self.table._repr_html_()


def users_and_notes(lab: Lab, database: str = "served") -> Served:
    """Serve the app with uvicorn on a new, empty database; create a user, then a note for them."""
    url = empty_database(lab, database)
    with lab.serve("app.main:app", env={"DATABASE_URL": url}, ready_path="/health") as srv:
        found = tables(url)
        user = srv.post("/users", json={"name": "ada"})
        user_id = user.json().get("id", 0) if user.status_code == 201 else 0
        note = srv.post("/notes", json={"user_id": user_id, "text": "buy milk"})
        if note.status_code >= 500 or user.status_code >= 500:  # its traceback is logged just after the 500
            wait_until(lambda: error_line(srv.logs()) != NO_ERROR, timeout=10, what="the app to log its error")
        logs = srv.logs()
    clean = "Application startup complete" in logs and "Traceback" not in logs.split("Application startup complete")[0]
    started = "Application startup complete, no error" if clean else "startup failed or logged an error"
    return Served(started, tuple(found), user.status_code, note.status_code, error_line(logs))


# -- starting together (deep dive 01a) --------------------------------------------------------------


@dataclass(frozen=True)
class Race:
    """Rounds of simultaneous starts: what each process said, round by round."""

    rounds: tuple[tuple[str, ...], ...]  # per round, each worker's outcome: "started" or the error line

    @property
    def failed(self) -> int:
        """Rounds in which at least one start failed."""
        return sum(any(what != "started" for what in outcome) for outcome in self.rounds)

    @property
    def tally(self) -> Counter[str]:
        return Counter(what for outcome in self.rounds for what in outcome)

    @property
    def errors(self) -> list[str]:
        return [what for what in self.tally if what != "started"]

    @property
    def table(self) -> Table:
        return Table(("starts", "outcome"), tuple((str(n), what) for what, n in self.tally.most_common()))

    def __str__(self) -> str:
        return (
            f"{len(self.rounds)} rounds of {len(self.rounds[0]) if self.rounds else 0} simultaneous starts, "
            f"{self.failed} with a failed start\n{self.table}"
        )

    __repr__ = __str__

    def _repr_html_(self) -> str:
        return (
            f"<p>{len(self.rounds)} rounds of {len(self.rounds[0]) if self.rounds else 0} simultaneous starts, "
            f"{self.failed} with a failed start</p>" + self.table._repr_html_()
        )

    def __add__(self, other: Race) -> Race:
        return Race(self.rounds + other.rounds)


def start_together(lab: Lab, rounds: int, workers: int = 2) -> Race:
    """``rounds`` rounds; in each, ``workers`` processes import and start the app at the same moment
    on a new, empty database (see ``race_worker.py``). The workers load Python and the libraries
    once, then line up at a gate before every round, so the starts overlap within milliseconds:
    the worst case of replicas or ``uvicorn --workers`` starting together."""
    pg = _pg(lab)
    runs: list[str] = [""] * workers
    with tempfile.TemporaryDirectory() as tmp:
        gate = Path(tmp)

        def worker(i: int) -> None:
            runs[i] = lab.run(["python", str(RACE_WORKER), str(gate), str(rounds)], timeout=120).output

        threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(workers)]
        for thread in threads:
            thread.start()
        for n in range(rounds):
            url = empty_database(lab, f"race_{n}")
            deadline = time.monotonic() + 60
            while len(list(gate.glob(f"ready-{n}-*"))) < workers and time.monotonic() < deadline:
                time.sleep(0.002)
            (gate / "url").write_text(url)
            (gate / "url").rename(gate / f"go-{n}")  # the file appears whole, at once
        for thread in threads:
            thread.join()
    outcomes: list[list[str]] = [[] for _ in range(rounds)]
    for output in runs:
        for line in output.splitlines():
            number, _, what = line.partition(" ")
            if number.isdigit() and int(number) < rounds:
                outcomes[int(number)].append(what)
    for n in range(rounds):
        pg.query(f"drop database if exists {DEMO_PREFIX}race_{n} with (force)")
    return Race(tuple(tuple(o) for o in outcomes))


def race(lab: Lab, *, batch: int = 8, max_rounds: int = 64) -> Race:
    """Batches of ``batch`` rounds of two simultaneous starts, until a round has a failed start
    (or ``max_rounds`` have run): how long it takes to see the race on this machine."""
    seen = start_together(lab, batch)
    while seen.failed == 0 and len(seen.rounds) < max_rounds:
        seen = seen + start_together(lab, batch)
    return seen


# -- adding models after the fix (report 001's "Add new models (will auto-create tables)") ---------------


TAG_MODEL = '''

class Tag(Base):
    """Added later, in a module create_tables() imports."""

    __tablename__ = "tags"

    id: Mapped[int] = mapped_column(primary_key=True)
'''
LABEL_MODULE = '''"""Added later, in a new module that create_tables() does not import."""

from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base


class Label(Base):
    __tablename__ = "labels"

    id: Mapped[int] = mapped_column(primary_key=True)
'''
USER_NAME = "    name: Mapped[str] = mapped_column(String(100), unique=True)\n"
USER_EMAIL = "    email: Mapped[str | None] = mapped_column(String(200))\n"


@dataclass(frozen=True)
class NewModels:
    """Tables and the users table's columns, at the first start and after the models were changed."""

    tables_before: tuple[str, ...]
    tables_after: tuple[str, ...]
    user_columns: tuple[str, ...]  # the users table's columns after the second start
    started: str  # the second start: "Application startup complete, no error" or what went wrong

    @property
    def table(self) -> Table:
        return Table(
            ("model added", "where", "after a restart"),
            (
                (
                    "Tag",
                    "app/models.py (create_tables imports it)",
                    "table" if "tags" in self.tables_after else "no table",
                ),
                (
                    "Label",
                    "app/labels.py (new, imported by nobody)",
                    "table" if "labels" in self.tables_after else "no table",
                ),
                ("User.email", "a new column on users", "column" if "email" in self.user_columns else "no column"),
            ),
        )

    def _repr_html_(self) -> str:
        return self.table._repr_html_()


def _columns(url: str, table_name: str) -> list[str]:
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            query = text(
                "select column_name from information_schema.columns where table_name = :t order by ordinal_position"
            )
            return list(conn.scalars(query, {"t": table_name}))
    finally:
        engine.dispose()


def new_models(lab: Lab, database: str = "newmodels") -> NewModels:
    """On the app whose lifespan runs ``create_tables()`` (step 1 on): start it on a new database, then add a
    ``Tag`` model to ``app/models.py``, a ``Label`` model in a new ``app/labels.py`` that nothing imports and
    an ``email`` column to ``User``, and start it again on the same database. The files are put back."""
    url = empty_database(lab, database)
    models = lab.workdir / "app" / "models.py"
    labels = lab.workdir / "app" / "labels.py"
    original = models.read_text()
    if USER_NAME not in original:
        raise RuntimeError("app/models.py has no `name` column line to add `email` after")
    with lab.serve("app.main:app", env={"DATABASE_URL": url}, ready_path="/health"):
        before = tables(url)
    try:
        models.write_text(original.replace(USER_NAME, USER_NAME + USER_EMAIL) + TAG_MODEL)
        labels.write_text(LABEL_MODULE)
        with lab.serve("app.main:app", env={"DATABASE_URL": url}, ready_path="/health") as srv:
            after = tables(url)
            logs = srv.logs()
    finally:
        models.write_text(original)
        labels.unlink(missing_ok=True)
    clean = "Application startup complete" in logs and "Traceback" not in logs
    started = "Application startup complete, no error" if clean else "startup failed or logged an error"
    return NewModels(tuple(before), tuple(after), tuple(_columns(url, "users")), started)
