"""Import app.main, start the app and stop it, counting the database's connections at each moment.

Run by harness.import_probe in the project folder, with DATABASE_URL naming an empty database
of its own. It keeps one connection of its own (left out of the counts) to ask PostgreSQL how
many other connections the database has, and records every statement an app engine executes
(SQLAlchemy's ``before_cursor_execute`` event). The app's startup and shutdown (its lifespan,
if it has one) run as uvicorn runs them, through ``asgi_lifespan.LifespanManager``.
Prints one line: ``RESULT`` and a JSON list of moments.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time

sys.path.insert(0, os.getcwd())  # the project folder, where uvicorn would import `app` from

from asgi_lifespan import LifespanManager
from sqlalchemy import Engine, create_engine, event, text

counter = create_engine(os.environ["DATABASE_URL"], isolation_level="AUTOCOMMIT").connect()
OTHERS = text("select count(*) from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()")
statements: list[str] = []
engines: list[Engine] = []  # the app's engines, as they show up running SQL
moments: list[dict[str, object]] = []


@event.listens_for(Engine, "before_cursor_execute")
def record(conn, cursor, statement, parameters, context, executemany) -> None:
    if conn.engine is counter.engine:
        return
    statements.append(" ".join(statement.split()))
    if conn.engine not in engines:
        engines.append(conn.engine)


def pooled() -> int:
    """Connections the app's engines still keep in their pools (client side)."""
    return sum(engine.pool.checkedin() + engine.pool.checkedout() for engine in engines)


def note(moment: str) -> None:
    """The server's count now; after a close, wait (up to 5 s) until it agrees with the pools."""
    count, deadline = counter.scalar(OTHERS), time.monotonic() + 5
    while count != pooled() and time.monotonic() < deadline:  # a closed backend leaves a moment later
        time.sleep(0.02)
        count = counter.scalar(OTHERS)
    moments.append({"moment": moment, "connections": count, "sql": statements[:]})
    statements.clear()


async def start_and_stop(app: object) -> None:
    async with LifespanManager(app):  # startup, as uvicorn runs it ...
        note("after startup")
    note("after shutdown")  # ... and shutdown


note("before import")
import app.main  # noqa: E402  (what uvicorn does first)

note("after import")
asyncio.run(start_and_stop(app.main.app))
print("RESULT " + json.dumps(moments))
