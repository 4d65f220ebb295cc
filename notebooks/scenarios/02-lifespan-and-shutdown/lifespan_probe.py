"""Enter and leave the items API's lifespan several times in one Python process, as a test suite does.

Run by harness.py from a work dir: ``python lifespan_probe.py CYCLES MODE [MODE ...]``. Each cycle is one
``with TestClient(app):`` block (startup, ``GET /items``, shutdown); after it, the probe counts the
TCP connections this very process still holds to PostgreSQL, from its own side (psutil), so a
closed connection is counted at once, without waiting for the server to notice.

Each MODE says whose lifespan runs (the modes run one after the other, each from a clean slate):

- ``app``: the app's own, as written;
- ``none``: ``await init_db()`` before ``yield``, nothing after it;
- ``gc``: as ``none``, and ``gc.collect()`` after each cycle;
- ``dispose``: ``engine.dispose()`` after ``yield``, without ``await``;
- ``await-dispose``: ``await engine.dispose()`` after ``yield``.

The last four need the broken project's ``app.db`` (``init_db()`` and the ``engine`` variable).
Importing the app is recorded too: the DeprecationWarnings its own files raise (uvicorn's log never
shows them). Prints one line: ``RESULT {"deprecations": [...], "modes": {MODE: {"cycles": [[status or
error, connections], ...], "warnings": [RuntimeWarnings]}}}``.
"""

import gc
import importlib
import json
import logging
import os
import sys
import warnings
from contextlib import asynccontextmanager

sys.path.insert(0, os.getcwd())  # the work dir's app package, not this folder

import psutil
from sqlalchemy.engine import make_url

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)  # TestClient's own notices; the app's are recorded below
    from starlette.testclient import TestClient

PG_PORT = make_url(os.environ["DATABASE_URL"]).port


def held() -> int:
    """TCP connections from this process to PostgreSQL that are still open."""
    return sum(
        1
        for c in psutil.Process().net_connections(kind="tcp")
        if c.raddr and c.raddr.port == PG_PORT and c.status == psutil.CONN_ESTABLISHED
    )


def main(cycles: int, modes: list[str]) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        from app.main import app
    deprecations = []
    for w in caught:
        where = os.path.relpath(w.filename)
        if issubclass(w.category, DeprecationWarning) and not where.startswith(".."):  # the app's own files
            deprecations.append(f"DeprecationWarning at {where}:{w.lineno}: {str(w.message).strip().splitlines()[0]}")
    own_lifespan = app.router.lifespan_context
    db = importlib.import_module("app.db") if set(modes) - {"app"} else None
    logging.disable(logging.CRITICAL)
    results = {}
    for mode in modes:
        app.router.lifespan_context = own_lifespan if mode == "app" else replaced(db, mode)
        if db is not None:
            db.engine = None  # the engine an earlier mode left goes, with its pool, at the next collection
        results[mode] = run(app, cycles, mode)
    print("RESULT " + json.dumps({"deprecations": deprecations, "modes": results}))


def replaced(db, mode: str):
    """A lifespan around the broken project's init_db(), with the shutdown half ``mode`` asks for."""

    @asynccontextmanager
    async def lifespan(_app):
        await db.init_db()
        yield
        if mode == "dispose":
            db.engine.dispose()  # an AsyncEngine's dispose() is a coroutine: this only creates it
        elif mode == "await-dispose":
            await db.engine.dispose()

    return lifespan  # as app.router.lifespan_context it replaces the on_event handlers, too


def run(app, cycles: int, mode: str) -> dict[str, list]:
    """``cycles`` start/stop cycles; the connections held after each, above what was held before the first."""
    gc.collect()  # what an earlier mode left behind goes first: each mode starts from a clean slate
    # Python's automatic collector runs when enough objects were allocated: it may close a dropped
    # engine's connections in the middle of the cycles, or not (a fresh checkout, compiling its
    # modules, once counted 1 2 3 2 3 4 5 5). Off, as a process that allocates little between
    # startups: the "gc" mode shows what a collection does, at a known moment.
    gc.disable()
    baseline = held()
    rows: list[list[object]] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", RuntimeWarning)
        for _ in range(cycles):
            try:
                with TestClient(app) as client:
                    status: object = client.get("/items").status_code
            except Exception as exc:  # the startup refused: PostgreSQL has no slot left
                status = f"{type(exc).__name__}: {str(exc).splitlines()[0]}"
            if mode == "gc":
                gc.collect()
            rows.append([status, held() - baseline])
            if not isinstance(status, int):
                break
    gc.enable()
    found = sorted({f"{w.category.__name__}: {w.message}" for w in caught if issubclass(w.category, RuntimeWarning)})
    return {"cycles": rows, "warnings": found}


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2:])
