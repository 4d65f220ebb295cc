import os

from sqlalchemy import create_engine
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

URL = os.environ["DATABASE_URL"]
POOL_SIZE = 25
MAX_OVERFLOW = int(os.environ.get("MAX_OVERFLOW", "100"))


def too_big() -> list[object]:
    return [
        create_engine(URL, pool_size=20, max_overflow=20),  # expect: oversized-pool
        create_async_engine(URL, pool_size=40),  # expect: oversized-pool
        create_engine(URL, pool_size=5, max_overflow=-1),  # expect: oversized-pool
        create_engine(URL, pool_size=POOL_SIZE, max_overflow=10),  # expect: oversized-pool
        create_engine(URL, max_overflow=MAX_OVERFLOW),  # expect: oversized-pool
        create_engine(URL, pool_size=int(os.getenv("POOL_SIZE", "40"))),  # expect: oversized-pool
    ]
