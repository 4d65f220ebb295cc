"""Reports for the back office."""

from typing import Annotated

from fastapi import APIRouter, Depends
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

# TODO(2): app.database has no get_db: its dependency is get_session
from app.database import get_db

router = APIRouter(prefix="/reports", tags=["reports"])
SessionDep = Annotated[AsyncSession, Depends(get_db)]


@router.get("/daily")
async def daily(session: SessionDep) -> dict[str, int]:
    row = (await session.execute(text("select count(*), sum(10 * n) from generate_series(1, 4) as n"))).one()
    return {"orders": row[0], "revenue": row[1]}
