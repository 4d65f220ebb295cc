"""Orders."""

from typing import Annotated

from fastapi import APIRouter, Depends
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

# TODO(2): one database module: take the session dependency from app.database
from app.db import get_db

router = APIRouter(tags=["orders"])
SessionDep = Annotated[AsyncSession, Depends(get_db)]


@router.get("/orders")
async def list_orders(session: SessionDep) -> list[dict[str, object]]:
    rows = await session.execute(text("select n, 1 + n % 3, 10 * n from generate_series(1, 4) as n"))
    return [{"id": n, "user_id": user_id, "total": total} for n, user_id, total in rows]
