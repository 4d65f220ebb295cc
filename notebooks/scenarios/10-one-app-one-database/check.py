"""10: the shop API judged by what it does, not by how the fix is written.

The package is probed in a child process (``package_probe.py``) and read with ``ast`` (the import
graph); the app runs under uvicorn in development and with ``ENVIRONMENT=production``."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, NamedTuple

from labkit import AppServer
from labkit.checking import Context, find_cycle, import_graph, modules_of, requirement, run_json, settle

EXPECTED_ROUTES = ("/health", "/users", "/orders", "/reports/daily")
FOREIGN_ORIGIN = "https://elsewhere.example"
PACKAGE_PROBE = Path(__file__).with_name("package_probe.py")
DEVELOPMENT = {"ENVIRONMENT": "development", "PRODUCTION": None}


def _short(ctx: Context, text: str) -> str:
    """An error message without the work dir's path, on one line."""
    return text.replace(str(ctx.workdir) + "/", "").splitlines()[0][:240]


def _probe(ctx: Context) -> dict[str, Any]:
    def probe() -> dict[str, Any]:
        modules = sorted(modules_of(ctx.workdir))
        assert "app.main" in modules, "There is no app/main.py: `uvicorn app.main:app` must stay the way to run it."
        return run_json(ctx.lab, PACKAGE_PROBE, json.dumps(modules), timeout=45)  # type: ignore[no-any-return]

    return ctx.shared("probe", probe)


def _client_pids(ctx: Context) -> dict[int, str]:
    """pid -> state of every client backend except labkit's admin connection."""
    return {
        int(pid): state
        for pid, state in ctx.pg.query(
            "select pid, coalesce(state, '') from pg_stat_activity where backend_type = 'client backend' "
            "and application_name <> 'labkit-admin'"
        )
    }


class Development(NamedTuple):
    srv: AppServer
    before: set[int]  # the client connections there were before the app started


def _development(ctx: Context) -> Development:
    def serve() -> Development:
        before = set(_client_pids(ctx))
        return Development(ctx.lab.serve(env=DEVELOPMENT, ready_path="/health", timeout=30), before)

    return ctx.shared("development", serve)


@requirement(
    core=True,
    edit="app/main.py, app/main_incremental.py, app/main_minimal.py, app/main_simple.py",
    step=1,
    hints=(
        "How many modules of app build a FastAPI(...)? Which one does `uvicorn app.main:app` run?",
        "Keep one entry point, app/main.py, and delete the other main files; in app/main.py move the building "
        "of the app into def create_app() -> FastAPI (ending in return app), then app = create_app().",
    ),
)
def one_app(ctx: Context) -> None:
    """One app: app/main.py is the only module that builds a FastAPI app, in create_app()."""
    probe = _probe(ctx)
    builders = set(probe["apps"])
    for name, path in modules_of(ctx.workdir).items():  # a module that does not import may build one too
        if name in probe["failures"] and "FastAPI(" in path.read_text():
            builders.add(name)
    assert builders <= {"app.main"}, (
        f"{len(builders)} modules build a FastAPI app ({', '.join(sorted(builders))}): keep one entry point, "
        "app/main.py."
    )
    assert probe["factory"] != "missing", (
        "app/main.py builds its app at module level: build it in one factory, def create_app() -> FastAPI, "
        "and serve app = create_app()."
    )


@requirement(
    core=True,
    edit="app/routers/orders.py, app/routers/reports.py, app/db.py",
    step=2,
    hints=(
        "Count the engines: which modules call create_async_engine, and which routers use which?",
        "Two engines are two pools: keep one database module (app/database.py), make every router use its "
        "get_session, and delete app/db.py.",
    ),
)
def one_pool(ctx: Context) -> None:
    """One database module: every router answers, one request at a time holds one connection."""
    development = _development(ctx)
    opened = _connections_after_one_at_a_time(ctx, development.srv, development.before, pause=0.25)
    if opened > 1:
        # a connection not yet back in its pool when the next request came makes a second one on a busy
        # machine; two pools make two whatever the pace: ask a fresh app again, slowly
        before = set(_client_pids(ctx))
        fresh = ctx.lab.serve(env=DEVELOPMENT, ready_path="/health", timeout=30)
        opened = _connections_after_one_at_a_time(ctx, fresh, before, pause=1.0)
    assert opened <= 1, (
        f"After one request at a time to every router, the app holds {opened} connections; one pool "
        "would reuse one. Keep one database module, one engine."
    )


def _connections_after_one_at_a_time(ctx: Context, srv: AppServer, before: set[int], *, pause: float) -> int:
    def settled() -> None:
        """The session closes after the response is sent: wait until its connection is back in the pool."""
        settle(
            lambda: sum(1 for pid, state in _client_pids(ctx).items() if pid not in before and state != "idle"),
            lambda busy: busy == 0,
            5.0,
            "the app's connections to be idle",
        )
        time.sleep(pause)  # idle on the server comes just before the pool takes the connection back

    settled()
    for route in EXPECTED_ROUTES[1:] * 2:
        status = srv.get(route).status_code
        logged = "; ".join(" ".join(line.split()) for line in srv.logs().splitlines() if "not loaded" in line)
        why = f" (the app logged: {_short(ctx, logged)})" if logged else ""
        assert status == 200, f"GET {route} answered {status}{why}."
        settled()
    return len(set(_client_pids(ctx)) - before)


@requirement(
    core=False,
    edit="app/main.py",
    step=3,
    hints=(
        "If a router fails to import, what does app/main.py do: stop, or log a warning and serve without it?",
        "Import the routers like any module (from app.routers import orders, reports, users) and include each "
        "one explicitly, outside any try/except.",
    ),
)
def broken_router_stops_the_app(ctx: Context) -> None:
    """A router that does not import stops the app instead of vanishing from it."""
    broken = _probe(ctx)["broken_router"]
    served = [path for path in broken["routes"] if path in EXPECTED_ROUTES]
    assert broken["stopped"] is not None, (
        "With app/routers/reports.py failing to import (the check makes it fail), app.main imported anyway, "
        f"serving {' '.join(served)}: a router that does not import vanishes instead of stopping the deploy."
    )


@requirement(
    core=False,
    edit="app/config.py",
    step=4,
    hints=(
        "Unset DATABASE_URL and start the app: what happens, and does the error say what is missing?",
        "Make database_url a required field of Settings (no default): pydantic's ValidationError then names it.",
    ),
)
def database_url_required(ctx: Context) -> None:
    """Without DATABASE_URL the app does not start, and says DATABASE_URL."""
    no_url = _probe(ctx)["no_url"]
    assert no_url is not None, "Without DATABASE_URL the app imports and starts anyway: make DATABASE_URL required."
    assert not no_url.startswith("NameError"), f"Without DATABASE_URL the settings fail: {_short(ctx, no_url)}"
    assert "database_url" in no_url.lower(), (
        f"Without DATABASE_URL the app does not start, but its error does not name DATABASE_URL: {_short(ctx, no_url)}"
    )


@requirement(
    core=False,
    edit="app/logger.py",
    step=5,
    hints=(
        "Import app.logger on its own: which module does it import, and which does that one import?",
        "Break the cycle: the logger takes its level as an argument (setup_logging(level)) "
        "instead of importing the settings.",
    ),
)
def no_import_cycle(ctx: Context) -> None:
    """The modules import each other in no cycle, and each imports on its own."""
    cycle = find_cycle(import_graph(ctx.workdir))
    assert not cycle, f"The modules import each other in a cycle: {' -> '.join(cycle)}."
    failures = _probe(ctx)["failures"]
    assert not failures, "\n".join(
        f"`import {name}` fails on its own: {_short(ctx, error)}" for name, error in sorted(failures.items())
    )


@requirement(
    core=False,
    edit="app/config.py, app/main.py",
    step=6,
    hints=(
        "Set only ENVIRONMENT=production: which parts of the app still ask another variable or a default?",
        "One settings field decides (environment: Literal['development', 'production']); docs, CORS and SQL echo "
        "all ask it through settings.",
    ),
)
def production_everywhere(ctx: Context) -> None:
    """With ENVIRONMENT=production alone: no /docs, no CORS wildcard, no SQL in the log (/docs in development)."""
    dev_docs = _development(ctx).srv.get("/docs").status_code
    assert dev_docs == 200, f"In development GET /docs answered {dev_docs}; the docs are hidden in production only."
    with ctx.lab.serve(env={"ENVIRONMENT": "production", "PRODUCTION": None}, ready_path="/health", timeout=30) as srv:
        status = srv.get("/users").status_code
        docs = srv.get("/docs").status_code
        allowed = srv.get("/health", headers={"Origin": FOREIGN_ORIGIN}).headers.get("access-control-allow-origin")
        logs = srv.logs()
    assert status == 200, f"With ENVIRONMENT=production GET /users answered {status}."
    wrong = [
        f"GET /docs answered {docs}" if docs != 404 else "",
        f"CORS allows any origin ({allowed})" if allowed in ("*", FOREIGN_ORIGIN) else "",
        "the SQL of each request is echoed to the log" if "sqlalchemy.engine" in logs else "",
    ]
    assert not any(wrong), (
        "With ENVIRONMENT=production (and nothing else) the app is not in production everywhere: "
        + "; ".join(w for w in wrong if w)
        + "."
    )


@requirement(
    core=False,
    edit="app/main.py, app/database.py, app/config.py",
    step=(7, 8),
    hints=(
        "Can a test build an app for production settings while the environment says development?",
        "Build the engine in the app's lifespan, and let create_app(settings: Settings | None = None) build "
        "everything from the object it is given (Settings() when None); app = create_app() for uvicorn.",
    ),
)
def app_from_settings(ctx: Context) -> None:
    """create_app(settings) builds the app from the settings object it is given."""
    factory = _probe(ctx)["factory"]
    assert factory != "missing", "app.main has no create_app(settings): build the app in a factory."
    assert not (isinstance(factory, str) and "positional argument" in factory), (
        "create_app() takes no settings: give it a settings parameter and build the app from that object."
    )
    assert not isinstance(factory, str), f"create_app(Settings()) fails: {_short(ctx, factory)}"
    assert factory == [200, 404], (
        f"create_app ignores the settings it is given: GET /docs answered {factory[0]} for development settings and "
        f"{factory[1]} for production ones (expected 200 and 404, whatever the environment says)."
    )
