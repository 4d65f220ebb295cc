"""Report 003's health check twice: as the report wrote it, and with the review's ``result.scalar()`` added.

Served by ``harness.scalar_check`` (``uvicorn report_health:app --app-dir`` this folder), with DATABASE_URL
from the environment. The engine and session factory are built at import, as the report's
``app/core/database.py`` builds them. ``GET /reached`` says how often the second check got to
``result.scalar()`` and what it returned.
"""

import logging
import os

from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

logger = logging.getLogger("report_health")
engine = create_async_engine(os.environ["DATABASE_URL"], pool_size=5)
AsyncSessionLocal = async_sessionmaker(engine, expire_on_commit=False)
app = FastAPI(title="report 003's health check")
scalars: list[object] = []  # what result.scalar() returned, each time the second check reached it


@app.get("/health")
async def health_check() -> dict[str, str]:
    """The report's check as first written."""
    try:
        async with AsyncSessionLocal() as session:
            await session.execute(text("SELECT 1"))
            db_status = "connected"
    except Exception as e:
        logger.error(f"Health check failed: {e!s}")
        db_status = f"error: {e!s}"
    return {
        "status": "healthy" if db_status == "connected" else "unhealthy",
        "database": db_status,
        "api": "operational",
    }


@app.get("/health/scalar")
async def health_check_scalar() -> dict[str, str]:
    """The same check after the review: "Added result.scalar() validation to verify query execution"."""
    try:
        async with AsyncSessionLocal() as session:
            result = await session.execute(text("SELECT 1"))
            scalars.append(result.scalar())
            db_status = "connected"
    except Exception as e:
        logger.error(f"Health check failed: {e!s}")
        db_status = f"error: {e!s}"
    return {
        "status": "healthy" if db_status == "connected" else "unhealthy",
        "database": db_status,
        "api": "operational",
    }


@app.get("/reached")
async def reached() -> list[object]:
    return scalars
