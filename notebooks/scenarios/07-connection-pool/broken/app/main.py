"""Orders API: read orders and a slow report, on async SQLAlchemy and asyncpg."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI, HTTPException
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.pool import QueuePool

from app.db import engine, get_db
from app.models import Order

REPORT_SECONDS = 0.2  # stands in for a report that scans a large table


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    yield
    await engine.dispose()


app = FastAPI(title="orders", lifespan=lifespan)


@app.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@app.get("/orders/{order_id}")
async def get_order(order_id: int, session: AsyncSession = Depends(get_db)) -> dict[str, int | str]:
    order = await session.get(Order, order_id)
    if order is None:
        raise HTTPException(status_code=404, detail="no such order")
    return {"id": order.id, "item": order.item, "quantity": order.quantity}


@app.get("/report")
async def report(session: AsyncSession = Depends(get_db)) -> dict[str, int]:
    row = (await session.execute(
        select(func.count(Order.id), func.coalesce(func.sum(Order.quantity), 0), func.pg_sleep(REPORT_SECONDS))
    )).one()
    return {"orders": row[0], "items": row[1]}


@app.get("/debug/pool")
async def pool_status() -> dict[str, int]:
    """The pool as this process sees it."""
    pool = engine.pool
    assert isinstance(pool, QueuePool)
    return {"size": pool.size(), "checked_out": pool.checkedout(), "overflow": pool.overflow(),
            "idle_in_pool": pool.checkedin()}
