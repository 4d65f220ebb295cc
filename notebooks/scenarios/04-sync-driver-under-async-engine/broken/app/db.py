"""The database engine, built when the app starts.

create_async_engine refused the provider's URL (first the psycopg2 driver, then
asyncpg and its sslmode), so this app uses the sync engine: psycopg2 takes every
libpq parameter of the URL as it is.
"""

from sqlalchemy import Engine, create_engine

from app.config import Settings


def make_engine(settings: Settings) -> Engine:
    url = settings.database_url.replace("postgresql://", "postgresql+psycopg2://")
    return create_engine(url, pool_size=settings.pool_size, max_overflow=0)
