"""asyncpg's own connection takes SQL strings: that is its API."""

import asyncpg
from sqlalchemy import text  # noqa: F401


async def create(dsn: str) -> None:
    conn = await asyncpg.connect(dsn)
    await conn.execute("CREATE TABLE IF NOT EXISTS t (id int)")
