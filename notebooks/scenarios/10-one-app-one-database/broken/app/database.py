"""The database: engine, pool and sessions, configured from the settings."""

from collections.abc import AsyncIterator

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from app.config import settings

# TODO(7): an engine built at import belongs to the process, not to the app
engine = create_async_engine(
    settings.DATABASE_URL,
    pool_size=5,
    max_overflow=10,
    echo=settings.ENVIRONMENT == "development",  # show the SQL while developing
    connect_args={"server_settings": {"application_name": "shop-api"}},
)
SessionLocal = async_sessionmaker(engine, expire_on_commit=False)


async def get_session() -> AsyncIterator[AsyncSession]:
    """One session per request."""
    async with SessionLocal() as session:
        yield session
