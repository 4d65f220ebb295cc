"""URLs read from settings, async drivers, placeholders: nothing to report.

A docstring may show a bad URL as an example: postgresql+asyncpg://app:secret@db/app?sslmode=require
"""

import os

from pydantic_settings import BaseSettings
from sqlalchemy import create_engine, make_url
from sqlalchemy.ext.asyncio import create_async_engine


class Settings(BaseSettings):
    database_url: str


def engines(settings: Settings, scheme: str, user: str, password: str, host: str) -> list[object]:
    return [
        create_async_engine("postgresql+asyncpg://app@db.internal/app"),
        create_async_engine("postgresql+psycopg://app@db.internal/app"),
        create_async_engine(settings.database_url),
        create_async_engine(os.environ["DATABASE_URL"]),
        create_async_engine(f"{scheme}://app@db.internal/app"),
        create_async_engine(make_url(os.environ["DATABASE_URL"]).set(drivername="postgresql+asyncpg")),
        create_engine("postgresql+psycopg2://app@db.internal/app?sslmode=require"),
        create_engine("postgresql://app@db.internal/app?sslmode=require&channel_binding=require"),
    ]


ASYNCPG_SSL = "postgresql+asyncpg://app@db.internal/app?ssl=require"
TEMPLATE = "postgresql://{user}:{password}@{host}/{db}"
SHELL_STYLE = "postgresql://app:${DB_PASSWORD}@db.internal/app"
MASKED = "postgresql+asyncpg://app:***@db.internal/app"
EMPTY_PASSWORD = "postgresql://app:@db.internal/app"


def built(user: str, password: str, host: str) -> str:
    return f"postgresql+asyncpg://{user}:{password}@{host}/app"


WEB = "https://user:secret@example.com/page"
CACHE = "redis://:secret@cache:6379/0"
SENTENCE = "connect with postgresql://app:secret@db/app when asked"
