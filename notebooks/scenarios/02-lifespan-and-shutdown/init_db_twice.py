"""Call report 000's ``init_db()`` twice in one Python process and count the connections PostgreSQL sees.

Run by harness.py from a work dir: ``python init_db_twice.py``. ``init_db`` is the report's own (a sync
engine and a sessionmaker in module globals, replaced on every call); after each call one session runs
``select 1`` and is closed, so its connection goes back to that engine's pool. The counts come from
``pg_stat_activity`` (PostgreSQL's side), read over a connection of its own that is not counted: after
the 1st call, after the 2nd, and after ``gc.collect()``. Then the same with the pattern on an async
engine (``create_async_engine``, asyncpg), as notebook 02's app has it.

The automatic garbage collector is off: it runs only where the probe calls ``gc.collect()``, so the
counts do not depend on when the allocations would have triggered it. Prints one line:
``RESULT {"sync": {"counts": [...], "second_works": bool}, "async": {...}}``.
"""

import asyncio
import gc
import json
import os
import time

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
from sqlalchemy.orm import sessionmaker

NAME = "init-db-twice"  # the application_name of the report's engine, so pg_stat_activity can tell it apart
URL = make_url(os.environ["DATABASE_URL"]).set(drivername="postgresql+psycopg2")

# report 000, session.py, as written (the "..." of create_engine: only the application_name)
engine = None
SessionLocal = None


def init_db(database_url) -> None:
    """Initialize ONLY in startup event"""
    global engine, SessionLocal
    engine = create_engine(database_url, connect_args={"application_name": NAME})
    SessionLocal = sessionmaker(bind=engine)


def use() -> int:
    with SessionLocal() as session:
        return session.execute(text("select 1")).scalar_one()


def server_count(admin, expect: int | None = None) -> int:
    """The report engine's connections in pg_stat_activity; with ``expect``, polls (up to 5 s) until it is that."""
    deadline = time.monotonic() + 5
    while True:
        count = admin.execute(
            text("select count(*) from pg_stat_activity where application_name = :n"), {"n": NAME}
        ).scalar_one()
        if expect is None or count == expect or time.monotonic() > deadline:
            return count
        time.sleep(0.05)


def init_db_async(database_url) -> None:
    """The same pattern on an async engine."""
    global engine, SessionLocal
    engine = create_async_engine(database_url, connect_args={"server_settings": {"application_name": NAME}})
    SessionLocal = async_sessionmaker(bind=engine)


async def use_async() -> int:
    async with SessionLocal() as session:
        return (await session.execute(text("select 1"))).scalar_one()


def twice(counter, init, use) -> dict[str, object]:
    """init, use, init again, use; the counts after each init+use and after gc.collect()."""
    global engine, SessionLocal
    engine = SessionLocal = None
    gc.collect()
    server_count(counter, expect=0)
    counts = []
    init()
    use()
    counts.append(server_count(counter))
    init()  # the first engine is dropped, its pool (and the connection in it) not closed
    second_works = use() == 1
    counts.append(server_count(counter))
    gc.collect()  # what the garbage collector does some time later
    counts.append(server_count(counter, expect=1))
    return {"counts": counts, "second_works": second_works}


def main() -> None:
    gc.disable()  # the collector runs where this probe calls it, not at a moment the allocations pick
    counter = create_engine(URL, connect_args={"application_name": "init-db-twice-counter"}).connect()
    counter = counter.execution_options(isolation_level="AUTOCOMMIT")  # a fresh pg_stat_activity each read
    found = {"sync": twice(counter, lambda: init_db(URL), use)}
    loop = asyncio.new_event_loop()
    async_url = URL.set(drivername="postgresql+asyncpg")
    found["async"] = twice(counter, lambda: init_db_async(async_url), lambda: loop.run_until_complete(use_async()))
    print("RESULT " + json.dumps(found))


if __name__ == "__main__":
    main()
