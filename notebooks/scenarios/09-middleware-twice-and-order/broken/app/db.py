"""Database wiring: one async engine, built when the app starts and disposed when it stops."""

import logging
import os

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

logger = logging.getLogger("app.db")

APPLICATION_NAME = "catalog-api"  # shows up in pg_stat_activity
engine: AsyncEngine | None = None

SCHEMA = (
    "create table if not exists products "
    "(id int primary key, name text not null, price_cents int not null)",
    "insert into products values (1, 'kettle', 2900), (2, 'teapot', 1900), (3, 'mug', 700) "
    "on conflict do nothing",
    "create table if not exists api_key_usage "
    "(key text primary key, uses int not null, last_used timestamptz not null)",
)


def get_engine() -> AsyncEngine:
    """The engine routes and middleware use; there once startup has run."""
    if engine is None:
        raise RuntimeError("the database is not initialised")
    return engine


async def init_db() -> None:
    """Create the engine and the two tables the app needs."""
    global engine
    engine = create_async_engine(
        os.environ["DATABASE_URL"],
        pool_size=5,
        connect_args={"server_settings": {"application_name": APPLICATION_NAME}},
    )
    async with engine.begin() as conn:
        for statement in SCHEMA:
            await conn.execute(text(statement))
    logger.info("database ready")


async def close_db() -> None:
    """Close every pooled connection."""
    global engine
    if engine is not None:
        await engine.dispose()
        engine = None
