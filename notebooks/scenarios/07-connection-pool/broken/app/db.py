"""Database wiring: the engine, its pool, and the session each request uses."""

import os
from collections.abc import AsyncIterator

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

APPLICATION_NAME = "orders-api"  # shows up in pg_stat_activity

# Sized for production traffic; the environment can scale it down.
POOL_SIZE = int(os.environ.get("POOL_SIZE", "50"))
MAX_OVERFLOW = int(os.environ.get("MAX_OVERFLOW", "100"))
POOL_TIMEOUT = float(os.environ.get("POOL_TIMEOUT", "30"))

engine = create_async_engine(
    os.environ["DATABASE_URL"],
    pool_size=POOL_SIZE,
    max_overflow=MAX_OVERFLOW,
    pool_timeout=POOL_TIMEOUT,
    pool_pre_ping=False,  # disabled for performance: saves a round trip per request
    pool_recycle=7200,
    connect_args={"server_settings": {"application_name": APPLICATION_NAME}},
)

SessionLocal = async_sessionmaker(engine, expire_on_commit=False)


async def get_db() -> AsyncIterator[AsyncSession]:
    """One session per request, closed when the request ends, whichever way it ends."""
    async with SessionLocal() as session:
        yield session
