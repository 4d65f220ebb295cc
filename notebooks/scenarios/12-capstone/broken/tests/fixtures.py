"""Fixtures for the suite (what conftest.py holds in most projects)."""

from collections.abc import AsyncIterator

import pytest_asyncio
from httpx import ASGITransport, AsyncClient

from app.database import init_db
from app.main import app


@pytest_asyncio.fixture
async def client() -> AsyncIterator[AsyncClient]:
    """The app, called in-process. Startup events do not run here, so the tables are created first."""
    await init_db()
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://test") as http:
        yield http
