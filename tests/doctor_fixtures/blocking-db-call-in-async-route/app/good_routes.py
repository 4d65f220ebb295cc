import asyncio

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from app.db import AsyncSessionDep, SessionDep, SessionLocal

router = APIRouter()


@router.get("/def-route")
def def_route(session: SessionDep) -> list[int]:
    return list(session.scalars(select(1)))


@router.get("/async-session")
async def async_session(session: AsyncSessionDep) -> int:
    result = await session.execute(select(1))
    await session.commit()
    return result.scalar_one()


@router.get("/async-engine")
async def async_engine(request: Request) -> None:
    async with request.app.state.async_engine.connect() as conn:
        await conn.execute(text("select 1"))


@router.get("/threadpool")
async def threadpool() -> object:
    return await run_in_threadpool(lambda: SessionLocal().execute(text("select 1")))


@router.get("/to-thread")
async def to_thread() -> object:
    def work() -> object:
        with SessionLocal() as session:
            return session.execute(text("select 1"))

    return await asyncio.to_thread(work)


@router.get("/unrelated")
async def unrelated(request: Request) -> object:
    cache = request.app.state.cache
    return cache.get("key")


async def helper(session: Session) -> None:
    """Not a route: where it runs is not known here."""
    session.execute(text("select 1"))
