"""Report 003's app, condensed: its ``app/core/database.py`` and ``app/main.py`` in one module, with the
``@app.on_event("startup")`` / ``("shutdown")`` handlers as the story wrote them. Served by harness.py's
:func:`reload_reconnects` as ``uvicorn story_on_event:app --reload``.

As in the story, the engine is built when the module is imported, ``init_db()`` proves the connection at
startup and ``close_db()`` disposes the engine at shutdown. ``init_db()`` has the story's later fix
(``text("SELECT 1")``: SQLAlchemy 2 refuses the bare string). The engine's connections carry
``application_name = 'story-003'``; ``GET /db`` runs one query through a session from ``get_db``.
"""

import logging
import os
from collections.abc import AsyncGenerator
from typing import Annotated

from fastapi import Depends, FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

logger = logging.getLogger("story")
logging.basicConfig(level=logging.INFO, format="%(levelname)s:     %(name)s: %(message)s")

# app/core/database.py
engine = create_async_engine(
    os.environ["DATABASE_URL"],
    pool_size=5,
    max_overflow=15,
    pool_recycle=3600,
    pool_pre_ping=True,
    connect_args={"server_settings": {"application_name": "story-003"}},
)
AsyncSessionLocal = async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)


async def get_db() -> AsyncGenerator[AsyncSession, None]:
    async with AsyncSessionLocal() as session:
        try:
            yield session
        finally:
            await session.close()


async def init_db() -> None:
    async with engine.begin() as conn:
        await conn.execute(text("SELECT 1"))
    logger.info("✓ Database connected successfully")


async def close_db() -> None:
    await engine.dispose()
    logger.info("✓ Database connections closed")


# app/main.py
app = FastAPI()


@app.on_event("startup")
async def startup_event() -> None:
    await init_db()
    logger.info("Application startup complete")


@app.on_event("shutdown")
async def shutdown_event() -> None:
    logger.info("Shutting down application")
    await close_db()
    logger.info("Application shutdown complete")


@app.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@app.get("/db")
async def db(session: Annotated[AsyncSession, Depends(get_db)]) -> dict[str, int]:
    return {"select": (await session.execute(text("SELECT 1"))).scalar_one()}
