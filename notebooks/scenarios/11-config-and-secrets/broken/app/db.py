"""The engine, built from the settings when the app starts; it connects on first use."""

from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from app.config import settings

APPLICATION_NAME = "notes-api"  # shows up in pg_stat_activity


def make_engine() -> AsyncEngine:
    return create_async_engine(
        settings.database_url,
        pool_size=5,
        connect_args={"server_settings": {"application_name": APPLICATION_NAME}},
    )
