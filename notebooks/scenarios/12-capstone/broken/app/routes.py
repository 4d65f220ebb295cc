"""The routes: a welcome, a health check, and the questions."""

import logging

from fastapi import APIRouter, Depends
from pydantic import BaseModel
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.database import get_db
from app.models import Question

logger = logging.getLogger("app.routes")
router = APIRouter()

STATS_SECONDS = 0.1  # stands in for an aggregate over a large table


class QuestionIn(BaseModel):
    topic: str
    text: str


class QuestionOut(QuestionIn):
    id: int


@router.get("/")
async def root() -> dict[str, str]:
    return {"message": "Interviews API", "status": "running"}


@router.get("/health")
async def health(db: AsyncSession = Depends(get_db)) -> dict[str, str]:
    try:
        await db.execute(text("select 1"))
    except Exception as exc:
        logger.error("health check failed: %s", exc)
        return {"status": "unhealthy", "database": "disconnected", "api": "operational"}
    return {"status": "healthy", "database": "connected", "api": "operational"}


@router.get("/questions")
async def list_questions(db: AsyncSession = Depends(get_db)) -> list[QuestionOut]:
    rows = await db.scalars(select(Question).order_by(Question.id).limit(50))
    return [QuestionOut(id=q.id, topic=q.topic, text=q.text) for q in rows]


@router.post("/questions", status_code=201)
async def add_question(question: QuestionIn, db: AsyncSession = Depends(get_db)) -> QuestionOut:
    row = Question(topic=question.topic, text=question.text)
    db.add(row)
    await db.commit()
    return QuestionOut(id=row.id, topic=row.topic, text=row.text)


@router.get("/stats")
async def stats(db: AsyncSession = Depends(get_db)) -> dict[str, int]:
    count, _ = (await db.execute(select(func.count(Question.id), func.pg_sleep(STATS_SECONDS)))).one()
    return {"questions": count}
