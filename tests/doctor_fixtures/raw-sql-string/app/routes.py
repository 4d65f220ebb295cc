"""No sqlalchemy import here: the session's type comes from app.db."""

from fastapi import APIRouter

from app.db import SessionDep

router = APIRouter()


@router.get("/count")
async def count(session: SessionDep) -> int:
    return await session.scalar("select count(*) from users")  # expect: raw-sql-string


@router.get("/jobs")
async def jobs(queue: "JobQueue") -> None:
    queue.execute("select-next")
