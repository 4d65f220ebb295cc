"""Fixtures for the suite (what conftest.py holds in most projects)."""

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from httpx import ASGITransport, AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import SessionLocal, engine
from app.main import app
from app.models import Base, Bookmark


@pytest_asyncio.fixture(autouse=True)
async def tables() -> None:
    """Make sure the table exists before each test."""
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)


@pytest_asyncio.fixture
async def client() -> AsyncIterator[AsyncClient]:
    """Talks to the app in-process, no server needed."""
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://test") as http:
        yield http


@pytest_asyncio.fixture
async def session() -> AsyncIterator[AsyncSession]:
    """A session of the app's own engine, for arranging data directly."""
    async with SessionLocal() as db:
        yield db


@pytest_asyncio.fixture
async def saved(session: AsyncSession, request: pytest.FixtureRequest) -> Bookmark:
    """A bookmark that is already in the database, with a URL of its own for each test."""
    row = Bookmark(url=f"https://example.org/saved/{request.node.name}")
    session.add(row)
    await session.commit()
    return row
