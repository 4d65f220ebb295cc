import os

from sqlalchemy import Engine, create_engine
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine


def get_async_engine() -> AsyncEngine:
    return create_async_engine(os.environ["DATABASE_URL"])


def get_sync_engine() -> Engine:
    return create_engine(os.environ["DATABASE_URL"])
