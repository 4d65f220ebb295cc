"""Users."""

from typing import Annotated

from fastapi import APIRouter, Depends
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.database import get_session

router = APIRouter(tags=["users"])
SessionDep = Annotated[AsyncSession, Depends(get_session)]


@router.get("/users")
async def list_users(session: SessionDep) -> list[dict[str, object]]:
    rows = await session.execute(text("select n, 'user ' || n from generate_series(1, 3) as n"))
    return [{"id": n, "name": name} for n, name in rows]
