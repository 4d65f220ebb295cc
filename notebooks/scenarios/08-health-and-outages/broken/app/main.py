"""Orders API: one data route and a health check that asks the database."""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy import text

from app.db import close_db, get_engine, init_db

logging.basicConfig(level=logging.INFO, format="%(levelname)s:     %(name)s: %(message)s")
logger = logging.getLogger("app")


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    await init_db()
    yield
    await close_db()


app = FastAPI(title="orders", lifespan=lifespan)


@app.get("/health")
async def health() -> dict[str, str]:
    try:
        async with get_engine().connect() as conn:
            await conn.execute(text("select 1"))
        database = "connected"
    except Exception as exc:
        logger.error("health check failed: %s", exc)
        database = f"error: {exc}"
    return {
        "status": "healthy" if database == "connected" else "unhealthy",
        "database": database,
        "api": "operational",
    }


@app.get("/orders")
async def orders() -> list[dict[str, object]]:
    async with get_engine().connect() as conn:
        rows = await conn.execute(text("select n, 'order ' || n from generate_series(1, 3) as n"))
        return [{"id": n, "name": name} for n, name in rows]
