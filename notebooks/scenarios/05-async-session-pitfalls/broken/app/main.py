"""Shelf API: authors and their books, on async SQLAlchemy and asyncpg."""

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI, HTTPException, Request
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.pool import QueuePool

from app.db import get_db, make_engine, make_sessionmaker
from app.models import Author, Base, Book


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    engine = make_engine(os.environ["DATABASE_URL"])
    app.state.engine = engine
    app.state.sessions = make_sessionmaker(engine)
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    yield
    await engine.dispose()


app = FastAPI(title="shelf", lifespan=lifespan)


class AuthorIn(BaseModel):
    name: str


class BookIn(BaseModel):
    title: str


@app.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@app.get("/health/db")
async def health_db(db: AsyncSession = Depends(get_db)) -> dict[str, str]:
    await db.execute("SELECT 1")
    return {"database": "ok"}


@app.get("/authors")
async def list_authors(db: AsyncSession = Depends(get_db)) -> list[dict[str, Any]]:
    authors = await db.scalars(select(Author).order_by(Author.id).limit(50))
    return [{"id": a.id, "name": a.name} for a in authors]


@app.post("/authors", status_code=201)
async def create_author(body: AuthorIn, db: AsyncSession = Depends(get_db)) -> dict[str, Any]:
    author = Author(name=body.name)
    db.add(author)
    await db.commit()
    return {"id": author.id, "name": author.name}


@app.get("/authors/{author_id}")
async def get_author(author_id: int, db: AsyncSession = Depends(get_db)) -> dict[str, Any]:
    author = await db.get(Author, author_id)
    if author is None:
        raise HTTPException(status_code=404, detail="no such author")
    return {"id": author.id, "name": author.name, "books": [b.title for b in author.books]}


@app.post("/authors/{author_id}/books", status_code=201)
async def add_book(author_id: int, body: BookIn, db: AsyncSession = Depends(get_db)) -> dict[str, Any]:
    if await db.get(Author, author_id) is None:
        raise HTTPException(status_code=404, detail="no such author")
    book = Book(title=body.title, author_id=author_id)
    db.add(book)
    await db.commit()
    return {"id": book.id, "title": book.title}


@app.get("/debug/pool")
async def pool_status(request: Request) -> dict[str, int]:
    """The engine's pool as the app sees it: connections handed out and not yet returned."""
    pool = request.app.state.engine.pool
    assert isinstance(pool, QueuePool)
    return {"size": pool.size(), "checked_out": pool.checkedout(), "idle_in_pool": pool.checkedin()}
