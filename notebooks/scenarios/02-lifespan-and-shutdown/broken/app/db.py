"""Database wiring: one engine for the whole app, built when the app starts."""

import logging
import os

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

logger = logging.getLogger("app.db")

APPLICATION_NAME = "items-api"  # shows up in pg_stat_activity
engine: AsyncEngine | None = None


async def init_db() -> None:
    """Create the engine and prove that the database answers."""
    global engine
    url = os.environ["DATABASE_URL"]
    # "hide" the credentials: keep what comes after the @
    logger.info("connecting to %s", url.split("@")[1])
    engine = create_async_engine(
        url,
        pool_size=5,
        connect_args={"server_settings": {"application_name": APPLICATION_NAME}},
    )
    async with engine.connect() as conn:
        await conn.execute(text("select 1"))
    logger.info("database ready")


def get_engine() -> AsyncEngine:
    """The engine the routes use; only there once startup has run."""
    if engine is None:
        raise RuntimeError("the database is not initialised")
    return engine
