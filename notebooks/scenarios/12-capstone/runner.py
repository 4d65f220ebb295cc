"""Start and stop the app inside one process, then run the project's suite in that same process.

    python runner.py [pytest arguments...]

Run it from the project folder (the work dir), with DATABASE_URL set. It saves the check one
Python start-up and one import of FastAPI, SQLAlchemy and httpx:

1. ``app.main:app`` is started with its lifespan (``asgi_lifespan.LifespanManager``, as uvicorn
   starts it), asked for ``GET /questions`` and stopped; its connections are counted on the server
   (by ``application_name``, set through ``APPLICATION_NAME``) while it runs and after its lifespan
   ended. One line: ``LIFESPAN status 200 during 1 after 0``.
2. Every module of the project is forgotten and the environment restored, so that pytest imports
   them afresh, as ``python -m pytest`` would; then the suite runs. Last line: ``SUITE exit N``.
"""

from __future__ import annotations

import asyncio
import os
import sys
import warnings
from pathlib import Path

import pytest

PROBE_NAME = "interviews-api-lifespan"  # the application_name of the probed app's connections
COUNT = "select count(*) from pg_stat_activity where application_name = :name"


async def _count(counter: object, text: object) -> int:
    async with counter.connect() as conn:  # type: ignore[attr-defined]
        return int((await conn.execute(text(COUNT), {"name": PROBE_NAME})).scalar())


async def _probe() -> str:
    from asgi_lifespan import LifespanManager
    from httpx import ASGITransport, AsyncClient
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine
    from sqlalchemy.pool import NullPool

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # on_event's DeprecationWarning, and the like
        from app.main import app
    counter = create_async_engine(os.environ["DATABASE_URL"], poolclass=NullPool)
    try:
        async with LifespanManager(app) as started:
            async with AsyncClient(transport=ASGITransport(app=started.app), base_url="http://check") as http:
                status = (await http.get("/questions")).status_code
            during = await _count(counter, text)
        for _ in range(50):  # a backend leaves pg_stat_activity a few ms after its client closed the socket
            after = await _count(counter, text)
            if after == 0:
                break
            await asyncio.sleep(0.02)
    finally:
        await counter.dispose()
    return f"LIFESPAN status {status} during {during} after {after}"


def _forget_project(root: Path) -> None:
    """Drop every module loaded from the project folder: the suite imports them again."""
    for name, module in list(sys.modules.items()):
        where = getattr(module, "__file__", None)
        if where and Path(where).resolve().is_relative_to(root):
            del sys.modules[name]


def main(args: list[str]) -> int:
    root = Path.cwd().resolve()
    sys.path.insert(0, str(root))  # as `python -m pytest` run here would have it
    saved = os.environ.get("APPLICATION_NAME")
    os.environ["APPLICATION_NAME"] = PROBE_NAME
    try:
        print(asyncio.run(_probe()), flush=True)
    except Exception as exc:  # the verdict is the check's; say what happened and go on with the suite
        print(f"LIFESPAN failed: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}", flush=True)
    finally:
        if saved is None:
            os.environ.pop("APPLICATION_NAME", None)
        else:
            os.environ["APPLICATION_NAME"] = saved
    _forget_project(root)
    code = int(pytest.main(args))
    print(f"SUITE exit {code}", flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
