"""Database wiring: one async engine for the whole app, built when the app starts."""

import logging
import os

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

logger = logging.getLogger("app.db")

APPLICATION_NAME = "orders-api"  # shows up in pg_stat_activity
engine: AsyncEngine | None = None


def get_engine() -> AsyncEngine:
    """The engine the routes use; there once startup has run."""
    if engine is None:
        raise RuntimeError("the database is not initialised")
    return engine


async def init_db() -> None:
    """Create the engine and try the database once; fail if it does not answer."""
    global engine
    engine = create_async_engine(
        os.environ["DATABASE_URL"],
        pool_size=5,
        pool_recycle=3600,
        # no pool_pre_ping: it costs a round trip on every checkout
        connect_args={"server_settings": {"application_name": APPLICATION_NAME}},
    )
    try:
        async with engine.connect() as conn:
            await conn.execute(text("select 1"))
        logger.info("database connected")
    except Exception as exc:  # fail fast at startup (notebook 02): uvicorn exits non-zero
        logger.error("startup failed: the database is unreachable: %s", exc)
        raise


async def close_db() -> None:
    """Close every pooled connection; called when the app stops."""
    global engine
    if engine is not None:
        await engine.dispose()
        engine = None
