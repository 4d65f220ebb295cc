"""Bookmarks API: the lifespan checks the database and creates the table."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import engine, get_session
from app.models import Base, Bookmark


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    async with engine.begin() as conn:  # fails here, at startup, when the database is unreachable
        await conn.run_sync(Base.metadata.create_all)
    yield
    await engine.dispose()


app = FastAPI(title="bookmarks", lifespan=lifespan)
Session = Annotated[AsyncSession, Depends(get_session)]


class BookmarkIn(BaseModel):
    url: str


class BookmarkOut(BaseModel):
    id: int
    url: str


@app.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@app.post("/bookmarks", status_code=201)
async def add_bookmark(bookmark: BookmarkIn, session: Session) -> BookmarkOut:
    row = Bookmark(url=bookmark.url)
    session.add(row)
    try:
        await session.commit()
    except IntegrityError:
        await session.rollback()
        raise HTTPException(409, "this URL is bookmarked already") from None
    return BookmarkOut(id=row.id, url=row.url)


@app.get("/bookmarks")
async def list_bookmarks(session: Session) -> list[BookmarkOut]:
    rows = await session.scalars(select(Bookmark).order_by(Bookmark.id))
    return [BookmarkOut(id=row.id, url=row.url) for row in rows]


@app.get("/bookmarks/{bookmark_id}")
async def get_bookmark(bookmark_id: int, session: Session) -> BookmarkOut:
    row = await session.get(Bookmark, bookmark_id)
    if row is None:
        raise HTTPException(404, "no such bookmark")
    return BookmarkOut(id=row.id, url=row.url)
