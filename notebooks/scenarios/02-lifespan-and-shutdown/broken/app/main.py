"""Items API: the database is set up in a startup event."""

import logging

from fastapi import FastAPI
from sqlalchemy import text

from app.db import get_engine, init_db

logging.basicConfig(level=logging.INFO, format="%(levelname)s:     %(name)s: %(message)s")
logger = logging.getLogger("app")

app = FastAPI(title="items")


@app.on_event("startup")
async def startup() -> None:
    try:
        await init_db()
    except Exception as exc:  # keep serving: maybe the database comes back later
        logger.error("database unavailable: %s", exc)


@app.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@app.get("/items")
async def items() -> list[dict[str, object]]:
    async with get_engine().connect() as conn:
        rows = await conn.execute(text("select n, 'item ' || n from generate_series(1, 3) as n"))
        return [{"id": n, "name": name} for n, name in rows]
