"""Database wiring: the engine and session factory (built at startup), and the per-request dependency."""

import os
from collections.abc import AsyncIterator

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine
from sqlalchemy.orm import sessionmaker

APPLICATION_NAME = "shelf-api"  # shows up in pg_stat_activity


def make_engine(url: str) -> AsyncEngine:
    """A new engine. Pool settings come from the environment; the defaults are SQLAlchemy's own."""
    return create_async_engine(
        url,
        pool_size=int(os.environ.get("POOL_SIZE", "5")),
        max_overflow=int(os.environ.get("MAX_OVERFLOW", "10")),
        pool_timeout=float(os.environ.get("POOL_TIMEOUT", "30")),
        connect_args={"server_settings": {"application_name": APPLICATION_NAME}},
    )


def make_sessionmaker(engine: AsyncEngine) -> sessionmaker[AsyncSession]:
    return sessionmaker(engine, class_=AsyncSession, autocommit=False, autoflush=False)


async def get_db(request: Request) -> AsyncIterator[AsyncSession]:
    """Hand each request a session from the factory the running app built."""
    sessions: sessionmaker[AsyncSession] = request.app.state.sessions
    session = sessions()
    yield session
