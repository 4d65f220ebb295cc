from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

QUERY = "UPDATE counters SET n = n + 1"


def sync_calls(conn: Connection, user_id: int) -> None:
    conn.execute("SELECT 1")  # expect: raw-sql-string
    conn.execute(f"DELETE FROM users WHERE id = {user_id}")  # expect: raw-sql-string
    conn.execute(QUERY)  # expect: raw-sql-string
    conn.execute(statement="select 1")  # expect: raw-sql-string
    conn.execute(  # expect: raw-sql-string
        """
        WITH recent AS (SELECT 1) SELECT * FROM recent
        """
    )


async def async_calls(session: AsyncSession, conn: AsyncConnection) -> None:
    await session.execute("select * from users where id = 1")  # expect: raw-sql-string
    await conn.scalar("select version()")  # expect: raw-sql-string
    await session.scalars("SELECT id FROM users")  # expect: raw-sql-string
