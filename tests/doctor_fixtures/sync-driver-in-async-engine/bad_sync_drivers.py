"""URLs written in the code that cannot work."""

from sqlalchemy import URL
from sqlalchemy.ext.asyncio import create_async_engine

PSYCOPG2_URL = "postgresql+psycopg2://app@db.internal/app"


def sync_drivers(host: str) -> list[object]:
    return [
        create_async_engine("postgresql+psycopg2://app@db.internal/app"),  # expect: sync-driver-in-async-engine
        create_async_engine("postgresql://app@db.internal/app"),  # expect: sync-driver-in-async-engine
        create_async_engine(PSYCOPG2_URL),  # expect: sync-driver-in-async-engine
        create_async_engine(f"postgresql://app@{host}/app"),  # expect: sync-driver-in-async-engine
        create_async_engine(URL.create("postgresql+psycopg2", host=host)),  # expect: sync-driver-in-async-engine
        create_async_engine(url="sqlite:///app.db"),  # expect: sync-driver-in-async-engine
        create_async_engine("postgres://app@db.internal/app"),  # expect: sync-driver-in-async-engine
    ]
