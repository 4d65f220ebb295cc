"""The exercise: `import app.main` must not touch the database, and every table must exist once the app runs.

Judged by behaviour, not by text, so a fix written differently from the reference passes too:

1. import the app with DATABASE_URL pointing at a port where no server listens: it must succeed;
2. import it against a real, empty database: it must open no connection and create nothing;
3. serve it with uvicorn on that database: users and notes must both work over HTTP.

The app keeps the sync psycopg2 driver: DATABASE_URL is given as a ``postgresql+psycopg2://`` URL.
"""

from __future__ import annotations

import re
import secrets
import textwrap
from typing import Any

from sqlalchemy import create_engine, make_url, text
from sqlalchemy.pool import NullPool

from labkit._errors import LabkitError
from labkit._ports import free_port

# Imports app.main, then counts the connections to its database that are not this counter's own.
IMPORT_AND_COUNT = textwrap.dedent("""
    import os
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool
    counter = create_engine(os.environ["DATABASE_URL"], poolclass=NullPool, isolation_level="AUTOCOMMIT").connect()
    import app.main
    print("connections:", counter.scalar(text(
        "select count(*) from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()")))
""")


def _last_error_line(output: str) -> str:
    """The exception line of a traceback, with the port masked (it changes every run)."""
    lines = [line for line in output.strip().splitlines() if line.strip()]
    errors = [line for line in lines if re.match(r"^[\w.]+(Error|Exception|Exit)\b", line)]
    line = errors[-1] if errors else (lines[-1] if lines else "(no output)")
    return re.sub(r"port \d+", "port PORT", line)[:300]


def check(lab: Any) -> None:
    assert lab.pg is not None, "This check needs a database: create the lab with labkit.Lab(..., pg=pg)."
    pg = lab.pg

    # 1. No server at all behind DATABASE_URL: the import alone must still work.
    nowhere = make_url(pg.url("psycopg2")).set(port=free_port(), database="nowhere")
    ran = lab.run(["python", "-c", "import app.main"],
                  env={"DATABASE_URL": nowhere.render_as_string(hide_password=False)}, timeout=30)
    assert ran.returncode == 0, (
        "`import app.main` fails while the database is unreachable: "
        f"{_last_error_line(ran.output)}. Importing the app must not connect: "
        "move the table creation into a startup step (a lifespan) that runs when the app starts."
    )

    database = f"check01_{secrets.token_hex(4)}"
    pg.query(f"create database {database}")
    url = pg.url("psycopg2", database=database)
    try:
        # 2. A real, empty database: importing opens no connection and creates no table.
        ran = lab.run(["python", "-c", IMPORT_AND_COUNT], env={"DATABASE_URL": url}, timeout=30)
        assert ran.returncode == 0, f"`import app.main` failed: {_last_error_line(ran.output)}"
        assert "connections: 0" in ran.output, (
            "`import app.main` left a connection open to the database ("
            + ran.output.strip().splitlines()[-1]
            + "). Nothing may connect at import time: not create_all, not a try/except around it."
        )
        assert _tables(url) == set(), (
            f"`import app.main` created tables {sorted(_tables(url))}: creating tables belongs to startup."
        )

        # 3. Started for real: every model's table is there, users and notes both work.
        try:
            srv = lab.serve("app.main:app", env={"DATABASE_URL": url}, ready_path="/health", timeout=20)
        except LabkitError as exc:  # AppExited included: the app died during startup
            raise AssertionError(f"The app does not start under uvicorn: {exc.problem}") from None
        created = srv.post("/users", json={"name": "ada"})
        assert created.status_code == 201, f"POST /users answered {created.status_code}: {created.text[:200]}"
        note = srv.post("/notes", json={"user_id": created.json()["id"], "text": "hello"})
        assert note.status_code != 404, "POST /notes answered 404: the notes routes are no longer included in the app."
        assert note.status_code == 201, (
            f"POST /notes answered {note.status_code}; tables in the database: {sorted(_tables(url))}. "
            "Make sure every model module is imported before create_all runs."
        )
        listed = srv.get("/notes")
        assert listed.status_code == 200 and len(listed.json()) == 1, (
            f"GET /notes answered {listed.status_code}: {listed.text[:200]}"
        )
        srv.stop()
    finally:
        pg.query(f"drop database if exists {database} with (force)")


def _tables(url: str) -> set[str]:
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("select tablename from pg_tables where schemaname = 'public'"))
            return {row[0] for row in rows}
    finally:
        engine.dispose()
