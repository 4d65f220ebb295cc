"""Measurements for notebook 10: one documented call each.

Loaded in a notebook as ``ref.harness`` (see ``labkit.Lab.harness``); tested by
``tests/test_harness_10.py``. Every call takes the lab whose project it measures, so the learner's
copy and the reference walk-through's copy are measured the same way.

- :func:`files`: the project's modules, their size and what their docstring says they are for;
- :func:`entry_points`: every ``app.main*`` module served by uvicorn, side by side: the routes it serves;
- :func:`one_at_a_time`: requests one at a time, and the app's connections on the server after each;
- :func:`probe`: the check's own package probe (``package_probe.py``), read as one table;
- :func:`imports`: the import graph of the package, read from the source with ``ast``, and its cycle;
- :func:`environments`: one app per deploy's environment: ``/docs``, CORS and the SQL echo of each.
"""

from __future__ import annotations

import ast
import json
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import labkit
from labkit.checking import find_cycle, import_graph, modules_of, run_json

APP = "shop-api"  # the application_name both database modules set: pg_stat_activity counts the app's connections
EXPECTED = ("/health", "/orders", "/reports/daily", "/users")  # what the shop is supposed to serve
# The kernel's own environment must not change what an app does: these are removed from the app's.
CLEAN: dict[str, str | None] = {"ENVIRONMENT": None, "PRODUCTION": None, "LOG_LEVEL": None}
FOREIGN = "https://elsewhere.example"  # an origin the shop's browser clients never have
PACKAGE_PROBE = Path(__file__).with_name("package_probe.py")


def _short(lab: labkit.Lab, text: str) -> str:
    """One line, without the work dir's absolute path."""
    lines = text.strip().splitlines()
    return lines[-1].replace(str(lab.workdir.resolve()) + "/", "").replace(str(lab.workdir) + "/", "") if lines else ""


def files(lab: labkit.Lab) -> labkit.Table:
    """Every .py file of the project: its lines and the first line of its docstring."""
    rows = []
    for path in sorted(lab.workdir.rglob("*.py")):
        source = path.read_text()
        purpose = (ast.get_docstring(ast.parse(source)) or "").split("\n")[0]
        rows.append((str(path.relative_to(lab.workdir)), str(len(source.splitlines())), purpose))
    return labkit.Table(("file", "lines", "docstring"), tuple(rows))


# -- the entry points ------------------------------------------------------------------------------


@dataclass(frozen=True)
class EntryPoint:
    module: str
    exit_code: int | None  # None: it started and served
    routes: tuple[str, ...]  # what its /openapi.json lists
    said: str  # the crash's last log line, or the WARNING line of a router that was not loaded


@dataclass(frozen=True, repr=False)
class EntryPoints(labkit.Tabular):
    """Each ``app.main*`` module served by uvicorn, and what it serves."""

    points: tuple[EntryPoint, ...]
    reports_status: int | None  # GET /reports/daily on app.main

    def __getitem__(self, module: str) -> EntryPoint:
        return next(p for p in self.points if p.module == module)

    @property
    def serving_every_route(self) -> list[str]:
        return [p.module for p in self.points if p.exit_code is None and set(EXPECTED) <= set(p.routes)]

    def table(self) -> labkit.Table:
        rows = []
        for p in self.points:
            starts = "yes" if p.exit_code is None else f"no, exit code {p.exit_code}"
            missing = " ".join(r for r in EXPECTED if r not in p.routes) if p.exit_code is None else ""
            rows.append((p.module, starts, " ".join(p.routes), missing))
        return labkit.Table(("entry point", "starts", "routes served", "expected but missing"), tuple(rows))


def _serve(lab: labkit.Lab, target: str, env: dict[str, str | None]) -> labkit.AppServer | labkit.AppExited:
    try:
        return lab.serve(target, env={**CLEAN, **env}, ready_path="/health", timeout=60)
    except labkit.AppExited as exc:
        return exc


def _serve_many(lab: labkit.Lab, specs: dict[str, tuple[str, dict[str, str | None]]]) -> dict:
    """name -> (uvicorn target, env), started side by side (each is a process of its own)."""
    with ThreadPoolExecutor(len(specs)) as pool:
        futures = {name: pool.submit(_serve, lab, *spec) for name, spec in specs.items()}
    return {name: future.result() for name, future in futures.items()}


def entry_points(lab: labkit.Lab) -> EntryPoints:
    """Serve every ``app/main*.py`` with uvicorn at once; ask each for its routes (``/openapi.json``).

    For ``app.main`` also ``GET /reports/daily``, and the WARNING line of a router it did not load.
    """
    modules = [name for name in modules_of(lab.workdir) if name.startswith("app.main")]
    served = _serve_many(lab, {m: (f"{m}:app", {}) for m in modules})
    points, reports = [], None
    for module, srv in served.items():
        if isinstance(srv, labkit.AppExited):
            points.append(EntryPoint(module, srv.exit_code, (), _short(lab, srv.logs)))
            continue
        with srv:
            routes = tuple(sorted(srv.get("/openapi.json").json()["paths"]))
            said = ""
            if module == "app.main":
                reports = srv.get("/reports/daily").status_code
                said = _short(lab, "\n".join(line for line in srv.logs().splitlines() if "not loaded" in line))
        points.append(EntryPoint(module, None, routes, said))
    return EntryPoints(tuple(points), reports)


# -- the pools -------------------------------------------------------------------------------------


@dataclass(frozen=True, repr=False)
class OneAtATime(labkit.Tabular):
    """Requests one at a time, and the app's connections on the server after each."""

    rows: tuple[tuple[str, int, int], ...]  # request, status, the app's connections after it
    after_stop: int  # the app's connections once it has stopped

    @property
    def statuses(self) -> list[int]:
        return [status for _, status, _ in self.rows]

    @property
    def connections(self) -> list[int]:
        return [count for _, _, count in self.rows]

    def table(self) -> labkit.Table:
        return labkit.Table(
            ("request", "status", "the app's connections on the server"),
            tuple((request, str(status), str(count)) for request, status, count in self.rows),
        )


def one_at_a_time(lab: labkit.Lab, paths: tuple[str, ...], *, pause: float = 0.25) -> OneAtATime:
    """Serve ``app.main``, send ``paths`` one at a time and count the app's connections after each.

    FastAPI closes the session (a ``yield`` dependency) after the response is sent: before counting,
    this waits until the app's connections are idle on the server, then ``pause`` seconds more for
    the pool to take the connection back, so that two requests never overlap.
    """
    rows = []
    with lab.serve("app.main:app", env=CLEAN, ready_path="/health", timeout=60) as srv:
        for path in paths:
            status = srv.get(path).status_code
            lab.pg.wait_for_idle(APP)
            time.sleep(pause)
            rows.append((f"GET {path}", status, lab.pg.connections(APP)))
    return OneAtATime(tuple(rows), lab.pg.connections(APP, wait_for=0))


# -- the package probe -----------------------------------------------------------------------------


@dataclass(frozen=True, repr=False)
class Probe(labkit.Tabular):
    """What ``package_probe.py`` (the check's own probe, in a child process) found, requirement by requirement."""

    raw: dict  # its RESULT: failures, apps, broken_router, factory, no_url
    workdir: str

    def _clean(self, text: str) -> str:
        return text.replace(self.workdir + "/", "")

    @property
    def failures(self) -> dict[str, str]:
        """module -> the error of importing it on its own (every app module dropped before)."""
        return {name: self._clean(error) for name, error in self.raw["failures"].items()}

    @property
    def broken_router(self) -> str:
        broken = self.raw["broken_router"]
        if broken["stopped"] is not None:
            return f"stops: {self._clean(broken['stopped'])}"
        return "starts anyway, serving " + " ".join(p for p in broken["routes"] if p in EXPECTED)

    @property
    def no_url(self) -> str:
        if self.raw["no_url"] is None:
            return "starts"
        lines = [line.split(" [type=")[0].strip() for line in self._clean(self.raw["no_url"]).splitlines()]
        return ": ".join(lines[:3]) if lines[0].startswith("ValidationError") else lines[0]

    @property
    def factory(self) -> str:
        factory = self.raw["factory"]
        if factory == "missing":
            return "missing: app.main has no create_app"
        if isinstance(factory, str) and "positional argument" in factory:
            return "create_app() takes no settings"
        if isinstance(factory, str):
            return self._clean(factory)
        return f"GET /docs {factory[0]} for development settings, {factory[1]} for production ones"

    def table(self) -> labkit.Table:
        rows = [("1", "modules that build a FastAPI app", ", ".join(self.raw["apps"]))]
        rows += [("5", f"import {name}, first", error) for name, error in sorted(self.failures.items())]
        if not self.failures:
            rows.append(("5", "import each module first", "every module imports"))
        rows += [
            ("3", "app.main while app/routers/reports.py fails to import", self.broken_router),
            ("4", "app.main without DATABASE_URL", self.no_url),
            ("1, 7", "create_app(settings)", self.factory),
        ]
        return labkit.Table(("req.", "asked", "answer"), tuple(rows))


def probe(lab: labkit.Lab) -> Probe:
    """Run the check's package probe in the work dir (see ``package_probe.py``): one child Python.

    It imports each module as if it were the first, notes which build a FastAPI app, imports
    ``app.main`` while ``app.routers.reports`` is made to fail, tries ``create_app`` with two
    settings objects, and imports and starts the app without ``DATABASE_URL``.
    """
    modules = json.dumps(sorted(modules_of(lab.workdir)))
    raw = run_json(lab, PACKAGE_PROBE, modules, env=dict(CLEAN), timeout=60)
    return Probe(raw, str(lab.workdir.resolve()))


# -- the import graph ------------------------------------------------------------------------------


@dataclass(frozen=True, repr=False)
class Imports(labkit.Tabular):
    """Which module of the package imports which while it is itself being imported (read with ``ast``)."""

    graph: dict[str, set[str]]

    @property
    def cycle(self) -> list[str]:
        return find_cycle(self.graph)

    def table(self) -> labkit.Table:
        rows = [(name, ", ".join(sorted(self.graph[name]))) for name in sorted(self.graph) if self.graph[name]]
        rows.append(("cycle", " -> ".join(self.cycle) or "none"))
        return labkit.Table(("module", "imports while it loads"), tuple(rows))


def imports(lab: labkit.Lab) -> Imports:
    """The package's import graph from its source (``labkit.checking.import_graph``: module-level
    imports only, function bodies and ``if TYPE_CHECKING:`` left out), and a cycle in it."""
    return Imports(import_graph(lab.workdir))


# -- the environment -------------------------------------------------------------------------------


@dataclass(frozen=True, repr=False)
class Environments(labkit.Tabular):
    """One app per deploy: what each one does about the three production switches."""

    rows: tuple[tuple[str, str, str, str], ...]  # the deploy sets, GET /docs, CORS allows, SQL echoed

    def __getitem__(self, label: str) -> tuple[str, str, str]:
        return next(row[1:] for row in self.rows if row[0] == label)

    def table(self) -> labkit.Table:
        header = ("the deploy sets", "GET /docs", "CORS allows a foreign origin", "SQL echoed to the log")
        return labkit.Table(header, self.rows)


DEPLOYS: dict[str, dict[str, str | None]] = {
    "nothing": {},
    "ENVIRONMENT=production": {"ENVIRONMENT": "production"},
    "PRODUCTION=true": {"PRODUCTION": "true"},
}


def environments(lab: labkit.Lab, *labels: str) -> Environments:
    """Serve ``app.main`` once per deploy (``DEPLOYS``), side by side; after a ``GET /users`` ask
    ``/docs``, send a foreign ``Origin`` to ``/health``, and look for SQLAlchemy's echo in the log."""
    rows = []
    for label, srv in _serve_many(lab, {label: ("app.main:app", DEPLOYS[label]) for label in labels}).items():
        if isinstance(srv, labkit.AppExited):
            raise srv
        with srv:
            users = srv.get("/users").status_code
            docs = str(srv.get("/docs").status_code)
            cors = srv.get("/health", headers={"Origin": FOREIGN}).headers.get("access-control-allow-origin", "(none)")
            echoed = "yes" if "sqlalchemy.engine" in srv.logs() else "no"
        if users != 200:
            raise AssertionError(f"{label}: GET /users answered {users}")
        rows.append((label, docs, cors, echoed))
    return Environments(tuple(rows))
