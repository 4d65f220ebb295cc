from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import sessionmaker

from app.engines import get_async_engine, get_sync_engine


class TracedSession(AsyncSession):
    pass


def makers(engine: AsyncEngine) -> list[object]:
    return [
        async_sessionmaker(engine),
        sessionmaker(engine, class_=AsyncSession),
        sessionmaker(get_async_engine(), class_=TracedSession),
        sessionmaker(get_sync_engine()),
        sessionmaker(),
    ]
