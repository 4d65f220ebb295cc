"""A simpler database setup, written for the orders feature."""

import os
from collections.abc import AsyncIterator

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

# TODO(2): a second create_async_engine is a second pool: keep one database module, app/database.py
engine = create_async_engine(
    os.environ["DATABASE_URL"],
    connect_args={"server_settings": {"application_name": "shop-api"}},
)
SessionLocal = async_sessionmaker(engine)


async def get_db() -> AsyncIterator[AsyncSession]:
    async with SessionLocal() as session:
        yield session
