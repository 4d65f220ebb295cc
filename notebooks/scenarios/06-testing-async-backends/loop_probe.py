"""Child of harness.loop_closed: where does "Event loop is closed" come from?

Run with DATABASE_URL (asyncpg). Each case uses an engine of its own, the way the report's code builds
it (``create_async_engine(url, pool_size=5)``), and the default ``asyncio`` loop that ``asyncio.run``
makes and closes. Prints one line per case: ``case|what was raised|"Event loop is closed" seen``, where
*seen* covers the exception raised and everything written to stderr meanwhile (SQLAlchemy logs the
errors it meets while closing a connection, and Python prints its warnings there).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import io
import logging
import os
import sys
import traceback
import warnings
from collections.abc import Callable
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

URL = os.environ["DATABASE_URL"]
CLOSED = "Event loop is closed"
warnings.simplefilter("always")


class ToStderrOfNow(logging.Handler):
    """Writes each record, traceback included, to ``sys.stderr`` as it is at that moment (redirected per case)."""

    def emit(self, record: logging.LogRecord) -> None:
        sys.stderr.write(self.format(record) + "\n")


logging.getLogger().addHandler(ToStderrOfNow())


def engine() -> AsyncEngine:
    return create_async_engine(URL, pool_size=5)


async def select_one(e: AsyncEngine) -> int:
    async with e.connect() as conn:
        return int((await conn.execute(text("select 1"))).scalar_one())


def not_awaited() -> None:
    """Async code called from a plain function: the coroutine is made and never run."""
    e = engine()
    pending = select_one(e)
    del pending
    gc.collect()


def sync_engine_on_asyncpg() -> None:
    """The asyncpg URL given to a sync engine: its driver is awaited with no event loop around."""
    with create_engine(URL).connect() as conn:
        conn.execute(text("select 1"))


def used_on_a_second_loop() -> None:
    """A connection pooled by the first loop, checked out again on the next (what each test's loop does)."""
    e = engine()
    asyncio.run(select_one(e))
    asyncio.run(select_one(e))


def disposed_on_a_second_loop() -> None:
    """The pool closed on a later loop than the one its connection was made on (a session-end teardown)."""
    e = engine()
    asyncio.run(select_one(e))
    asyncio.run(e.dispose())


def collected_after_its_loop() -> None:
    """A connection never closed, garbage-collected once its loop has closed."""
    e = engine()

    async def leave_open() -> AsyncConnection:
        conn = await e.connect()
        await conn.execute(text("select 1"))
        return conn

    held = asyncio.run(leave_open())
    del held
    gc.collect()


CASES: dict[str, Callable[[], Any]] = {
    "async code called from sync code, not awaited": not_awaited,
    "the asyncpg URL in a sync engine: no event loop at all": sync_engine_on_asyncpg,
    "a pooled connection used again on a second loop": used_on_a_second_loop,
    "the pool disposed on a second loop": disposed_on_a_second_loop,
    "a connection collected after its loop closed": collected_after_its_loop,
}

for name, case in CASES.items():
    written = io.StringIO()
    raised = "nothing"
    with contextlib.redirect_stderr(written):
        try:
            case()
        except Exception as exc:
            raised = type(exc).__name__
            written.write("".join(traceback.format_exception(exc)))
        gc.collect()
    said = written.getvalue()
    if raised == "RuntimeError" and "attached to a different loop" in said:
        raised = "RuntimeError: attached to a different loop"
    if raised == "nothing" and "was never awaited" in said:
        raised = "nothing (RuntimeWarning: never awaited)"
    elif raised == "nothing" and "RuntimeError" in said:
        raised = "nothing (the pool logged a RuntimeError)"
    print(f"{name}|{raised}|{'yes' if CLOSED in said else 'no'}", flush=True)
