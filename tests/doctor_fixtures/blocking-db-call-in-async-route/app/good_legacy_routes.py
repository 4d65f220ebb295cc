"""The same shapes done right: plain def routes, helpers that need no database, async sessions."""

from fastapi import APIRouter, Depends

from app.legacy_db import count_users, describe, get_db
from app.db import AsyncSessionLocal

router = APIRouter()


@router.get("/sync-route")
def sync_route(db=Depends(get_db)) -> int:
    return count_users(db)


@router.get("/pure-helper")
async def pure_helper(user_id: int) -> str:
    return describe(user_id)


@router.get("/async-session")
async def async_session() -> None:
    async with AsyncSessionLocal() as session:
        await session.commit()


@router.get("/threadpool")
async def threadpool(db=Depends(get_db)) -> None:
    from starlette.concurrency import run_in_threadpool

    await run_in_threadpool(count_users, db)


@router.get("/helper-that-never-queries")
async def helper_that_never_queries(db=Depends(get_db)):
    from app.legacy_db import topic_service

    return topic_service.first_page(db)
