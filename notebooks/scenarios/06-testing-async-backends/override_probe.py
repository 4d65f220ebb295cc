"""Child of harness.database_override: can a test point the app at a database of its own?

Run from the project folder with DATABASE_URL set to the app's database; argument: the test's
database URL. It imports the app (its engine is built then), sets DATABASE_URL to the test's database,
overrides ``get_session`` with a session of the test's own engine, and sends ``POST /bookmarks`` with
the app's lifespan running (``asgi_lifespan.LifespanManager``). Prints one ``RESULT`` line (JSON): the
database the app's engine uses right after the import and after the change, and the status code.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator

sys.path.insert(0, os.getcwd())  # import the project from its folder, as pytest would

from app import db
from app.main import app
from app.models import Base
from asgi_lifespan import LifespanManager
from httpx import ASGITransport, AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

TEST_URL = sys.argv[1]
at_import = db.engine.url.database
os.environ["DATABASE_URL"] = TEST_URL  # what a test's fixture does once the app is imported
after_change = db.engine.url.database

test_engine = create_async_engine(TEST_URL)
TestSession = async_sessionmaker(test_engine, expire_on_commit=False)


async def test_session() -> AsyncIterator[AsyncSession]:
    async with TestSession() as session:
        yield session


app.dependency_overrides[db.get_session] = test_session  # FastAPI's way to swap a dependency in tests


async def main() -> int:
    async with test_engine.begin() as conn:  # the test's own tables, in the test's database
        await conn.run_sync(Base.metadata.create_all)
    async with (
        LifespanManager(app) as started,
        AsyncClient(transport=ASGITransport(app=started.app), base_url="http://test") as client,
    ):
        status = (await client.post("/bookmarks", json={"url": "https://example.org/override"})).status_code
    await test_engine.dispose()
    return status


status = asyncio.run(main())
print("RESULT " + json.dumps({"at_import": at_import, "after_change": after_change, "status": status}), flush=True)
