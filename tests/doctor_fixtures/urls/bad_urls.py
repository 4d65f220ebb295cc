"""URLs written in the code that cannot work, or should not be there."""

import os

from pydantic_settings import BaseSettings
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


LIBPQ_URL = "postgresql+asyncpg://app@db.internal/app?sslmode=require"  # expect: libpq-params-in-asyncpg-url


def libpq(host: str) -> str:
    return f"postgresql+asyncpg://app@{host}/app?ssl=require&channel_binding=require"  # expect: libpq-params-in-asyncpg-url


PASSWORD_URL = "postgresql+asyncpg://app:secret@db.internal/app"  # expect: hardcoded-db-password
BOTH = "postgresql+asyncpg://app:secret@db.internal/app?sslmode=require"  # expect: libpq-params-in-asyncpg-url, hardcoded-db-password
FROM_ENV = os.environ.get("DATABASE_URL", "mysql+pymysql://app:password@db.internal/app")  # expect: hardcoded-db-password


class Settings(BaseSettings):
    database_url: str = "postgresql://app:changeme@localhost:5432/app"  # expect: hardcoded-db-password


def templated(host: str) -> str:
    return f"postgresql://app:secret@{host}/app"  # expect: hardcoded-db-password


CREATED = URL.create("postgresql+asyncpg", username="app", password="secret", host="db")  # expect: hardcoded-db-password
