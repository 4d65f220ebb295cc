"""Judge the shop API by what it does, not by how the fix is written.

Three groups, in this order; the first group with a problem stops the check and lists every
problem of that group:

1. The package. Every module of ``app`` imports on its own in a fresh interpreter state (no
   circular import, no router importing a name that does not exist); the imports that run when a
   module is loaded form no cycle (computed with ``ast``); one module builds a FastAPI app;
   ``app.main.create_app(settings)`` builds an app from the settings object it is given; and
   without ``DATABASE_URL`` the app does not start (importing ``app.main`` or running its
   lifespan fails) with an error that names ``DATABASE_URL``.
2. The app under uvicorn (``app.main:app``) in development: ``/openapi.json`` lists every expected
   route, each answers 200, requests touching every router, one at a time, leave at most one
   connection open (one pool), and ``/docs`` is served.
3. The same app with ``ENVIRONMENT=production`` and nothing else: production everywhere, i.e.
   no ``/docs``, no CORS wildcard, no SQL echoed to the log. (It runs beside group 1, to save
   time, and is reported last.)
"""

from __future__ import annotations

import ast
import json
import re
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

from labkit import AppExited, LabkitError

if TYPE_CHECKING:
    from labkit import AppServer, Lab, Postgres

PACKAGE = "app"
EXPECTED_ROUTES = ("/health", "/users", "/orders", "/reports/daily")
FOREIGN_ORIGIN = "https://elsewhere.example"

# Runs in a child process from the work dir. Imports each module as if it were the first one
# (every app.* module is dropped from sys.modules before), notes which modules hold a FastAPI app,
# then builds two apps with create_app from two settings objects while the environment says the opposite,
# and last tries to import and start (run the lifespan of) app.main:app without DATABASE_URL.
PACKAGE_PROBE = r"""
import asyncio, importlib, json, logging, os, sys, warnings
warnings.simplefilter("ignore")
logging.disable(logging.CRITICAL)
import httpx
from fastapi import FastAPI

def purge():
    for loaded in [m for m in sys.modules if m == "app" or m.startswith("app.")]:
        del sys.modules[loaded]

modules = json.loads(sys.argv[1])
failures, apps = {}, []
for name in modules:
    purge()
    try:
        module = importlib.import_module(name)
    except BaseException as exc:
        failures[name] = f"{type(exc).__name__}: {exc}"
        continue
    if any(isinstance(value, FastAPI) for value in vars(module).values()):
        apps.append(name)

async def docs_status(app):
    transport = httpx.ASGITransport(app=app)  # no lifespan: /docs needs no database
    async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
        return (await client.get("/docs")).status_code

factory = None
purge()
try:
    main = importlib.import_module("app.main")
    config = importlib.import_module("app.config")
    if not callable(getattr(main, "create_app", None)):
        factory = "missing"
    else:
        os.environ["ENVIRONMENT"] = "production"
        production = config.Settings()
        os.environ["ENVIRONMENT"] = "development"
        development = config.Settings()
        prod_app = main.create_app(production)  # built while the environment says development
        os.environ["ENVIRONMENT"] = "production"
        dev_app = main.create_app(development)  # built while the environment says production
        factory = [asyncio.run(docs_status(dev_app)), asyncio.run(docs_status(prod_app))]
except BaseException as exc:
    factory = f"{type(exc).__name__}: {exc}"

async def start(app):
    async with app.router.lifespan_context(app):
        pass

os.environ.pop("DATABASE_URL", None)
os.environ.pop("ENVIRONMENT", None)
purge()
try:
    app = importlib.import_module("app.main").app
    asyncio.run(asyncio.wait_for(start(app), 15))
    no_url = None
except BaseException as exc:
    no_url = f"{type(exc).__name__}: {exc}"
print("RESULT " + json.dumps({"failures": failures, "apps": apps, "factory": factory, "no_url": no_url}))
"""


# -- the import graph, from the source ----------------------------------------------------------


def modules_of(root: Path, package: str = PACKAGE) -> dict[str, Path]:
    """Dotted module name -> file, for every .py file of the package."""
    found: dict[str, Path] = {}
    for path in sorted((root / package).rglob("*.py")):
        if "__pycache__" in path.parts:
            continue
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _runs_at_import(body: list[ast.stmt]) -> list[ast.stmt]:
    """The statements of a body that run when the module is imported (not inside functions)."""
    kept: list[ast.stmt] = []
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            kept += _runs_at_import(node.orelse)
            continue
        kept.append(node)
        for field in ("body", "orelse", "finalbody"):
            inner = getattr(node, field, None)
            if isinstance(inner, list) and not isinstance(node, ast.ClassDef):
                kept += _runs_at_import(inner)
        if isinstance(node, ast.ClassDef):
            kept += _runs_at_import(node.body)
        for handler in getattr(node, "handlers", []):
            kept += _runs_at_import(handler.body)
    return kept


def import_graph(root: Path, package: str = PACKAGE) -> dict[str, set[str]]:
    """module -> the package's modules it imports while it is being imported."""
    modules = modules_of(root, package)
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        is_package = path.name == "__init__.py"
        targets: set[str] = set()
        for node in _runs_at_import(ast.parse(path.read_text()).body):
            if isinstance(node, ast.Import):
                wanted = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = name.split(".") if is_package else name.split(".")[:-1]
                    parts = parts[: len(parts) - (node.level - 1)]
                    base = ".".join(parts + ([node.module] if node.module else []))
                wanted = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                          for alias in node.names]
            else:
                continue
            for target in wanted:
                while target and target not in modules:  # import a.b.c of a plain attribute: its module
                    target = target.rpartition(".")[0]
                if target and target != name:
                    targets.add(target)
        graph[name] = targets
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str]:
    """One import cycle as [a, b, ..., a], or [] when there is none."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        path.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                return path[path.index(target):] + [target]
            if target not in state:
                found = visit(target)
                if found:
                    return found
        path.pop()
        state[node] = 2
        return []

    for start in sorted(graph):
        if start not in state:
            found = visit(start)
            if found:
                return found
    return []


# -- helpers ---------------------------------------------------------------------------------------


def _short(text: str, workdir: Path) -> str:
    """An error message without the work dir's path, on one line."""
    return text.replace(str(workdir) + "/", "").splitlines()[0][:240]


def _server(lab: Lab) -> Postgres:
    assert lab.pg is not None, "This check needs a server: labkit.Lab(name, pg=labkit.postgres())."
    return lab.pg


def _client_pids(pg: Postgres) -> dict[int, str]:
    """pid -> state of every client backend except labkit's admin connection."""
    rows = pg.query("select pid, coalesce(state, '') from pg_stat_activity where backend_type = 'client backend' "
                    "and application_name <> 'labkit-admin'")
    return {int(pid): state for pid, state in rows}


def settle(pg: Postgres, before: set[int], timeout: float = 5.0) -> None:
    """Wait until the app's connections are all idle again (returned to their pool).

    FastAPI closes a ``yield`` dependency's session after the response is sent, so the client may
    see the answer before the connection is back in the pool; asking again at once could make the
    pool open a second connection that one pool would never need one request at a time.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        busy = [s for pid, s in _client_pids(pg).items() if pid not in before and s != "idle"]
        if not busy:
            break
        time.sleep(0.02)
    time.sleep(0.05)


def _serve(lab: Lab, env: dict[str, str | None], what: str) -> AppServer:
    try:
        return lab.serve("app.main:app", env=env, ready_path="/health", timeout=30)
    except AppExited as exc:
        errors = [line for line in exc.logs.splitlines() if re.match(r"^\w[\w.]*(Error|Exception)\b", line)]
        last = errors[-1] if errors else exc.logs.strip().splitlines()[-1]
        raise AssertionError(f"`uvicorn app.main:app` {what} does not start: {_short(last, lab.workdir)}") from None
    except LabkitError as exc:
        raise AssertionError(f"`uvicorn app.main:app` {what} does not answer HTTP: {exc.problem}") from None


# -- the three groups ------------------------------------------------------------------------------


def _package(lab: Lab) -> None:
    modules = sorted(modules_of(lab.workdir))
    assert "app.main" in modules, "There is no app/main.py: `uvicorn app.main:app` must stay the way to run the API."
    problems: list[str] = []
    cycle = find_cycle(import_graph(lab.workdir))
    if cycle:
        problems.append("the modules import each other in a cycle: " + " -> ".join(cycle)
                        + " (one of them must stop importing the other)")
    ran = lab.run(["python", "-c", PACKAGE_PROBE, json.dumps(modules)], timeout=60)
    lines = [line for line in ran.output.splitlines() if line.startswith("RESULT ")]
    assert lines, "Importing the package's modules crashed the interpreter:\n" + ran.output[-1500:]
    result = json.loads(lines[-1][len("RESULT "):])
    for name, error in sorted(result["failures"].items()):
        problems.append(f"`import {name}` fails on its own: {_short(error, lab.workdir)}")
    if len(result["apps"]) > 1:
        problems.append(f"{len(result['apps'])} modules build a FastAPI app ({', '.join(result['apps'])}): "
                        "keep one entry point")
    factory = result["factory"]
    if factory == "missing":
        problems.append("app.main has no create_app(settings): build the app in a factory that takes the settings")
    elif isinstance(factory, str):
        problems.append(f"create_app(Settings()) fails: {_short(factory, lab.workdir)}")
    elif factory != [200, 404]:
        problems.append(f"create_app(settings) ignores the settings it is given: GET /docs answered {factory[0]} "
                        f"for development settings and {factory[1]} for production settings (expected 200 and "
                        "404, whatever the environment variables say while the app is built)")
    no_url = result["no_url"]
    if no_url is None:
        problems.append("without DATABASE_URL the app imports and starts anyway: make DATABASE_URL a required setting")
    elif no_url.startswith("NameError"):
        problems.append(f"without DATABASE_URL the settings die of a NameError: {_short(no_url, lab.workdir)}")
    elif "database_url" not in no_url.lower():
        problems.append("without DATABASE_URL the app does not start, but its error does not name DATABASE_URL: "
                        + _short(no_url, lab.workdir))
    assert not problems, "The package is not one app yet:\n- " + "\n- ".join(problems)


def _development(lab: Lab, pg: Postgres) -> None:
    before = set(_client_pids(pg))
    srv = _serve(lab, {"ENVIRONMENT": "development", "PRODUCTION": None}, "in development")
    try:
        paths = set(srv.get("/openapi.json").json().get("paths", {}))
        missing = [route for route in EXPECTED_ROUTES if route not in paths]
        assert not missing, (f"The app serves {sorted(paths)} but not {missing}: a router was left out "
                             "(register every router explicitly, so that one that does not import stops the app)")
        settle(pg, before)
        for route in EXPECTED_ROUTES[1:] * 2:
            status = srv.get(route).status_code
            assert status == 200, f"GET {route} answered {status}."
            settle(pg, before)
        opened = len(set(_client_pids(pg)) - before)
        assert opened <= 1, (
            f"After one request at a time to every router, the app holds {opened} database connections; one pool "
            "would reuse one. Two engines are two pools: keep one database module, one engine.")
        docs = srv.get("/docs").status_code
        assert docs == 200, f"In development GET /docs answered {docs}; the docs are hidden in production only."
    finally:
        srv.stop()


def _production(lab: Lab) -> None:
    """Serve with ENVIRONMENT=production and judge what it does (runs while the package is probed)."""
    srv = _serve(lab, {"ENVIRONMENT": "production", "PRODUCTION": None}, "with ENVIRONMENT=production")
    try:
        status = srv.get("/users").status_code
        docs = srv.get("/docs").status_code
        allowed = srv.get("/health", headers={"Origin": FOREIGN_ORIGIN}).headers.get("access-control-allow-origin")
        logs = srv.logs()
    finally:
        srv.stop()
    assert status == 200, f"With ENVIRONMENT=production GET /users answered {status}."
    wrong = []
    if docs != 404:
        wrong.append(f"GET /docs answered {docs} (expected 404)")
    if allowed in ("*", FOREIGN_ORIGIN):
        wrong.append(f"CORS allows any origin (access-control-allow-origin: {allowed})")
    if "sqlalchemy.engine" in logs:
        wrong.append("the SQL of each request is echoed to the log")
    assert not wrong, ("With ENVIRONMENT=production set (and nothing else) the app is not in production everywhere: "
                       + "; ".join(wrong) + ". Let one settings field decide, and ask only it.")


def check(lab: Lab) -> None:
    pg = _server(lab)
    if find_cycle(import_graph(lab.workdir)):
        _package(lab)  # fails (the cycle is one of its problems): no app needs to be served to say so
    # The production run opens a connection of its own, so it runs beside the package probe (which opens
    # none) and has ended before the development run counts connections; its verdict is reported third.
    with ThreadPoolExecutor(1) as pool:
        production = pool.submit(_production, lab)
        try:
            _package(lab)
        finally:
            problem = production.exception()
    _development(lab, pg)
    if problem is not None:
        raise problem
