import os

from sqlalchemy import create_engine
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

URL = os.environ["DATABASE_URL"]


def fine(settings: object) -> list[object]:
    return [
        create_engine(URL),
        create_engine(URL, pool_size=10, max_overflow=20),
        create_async_engine(URL, pool_size=5),
        create_engine(URL, pool_size=settings.pool_size, max_overflow=50),
        create_engine(URL, poolclass=NullPool, pool_size=100),
        create_engine(URL, pool_size=int(os.environ["POOL_SIZE"]), max_overflow=100),
        create_engine(URL, pool_size=int(os.environ.get("POOL_SIZE", "5"))),
    ]
