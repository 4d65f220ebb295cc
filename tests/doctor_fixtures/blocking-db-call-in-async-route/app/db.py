"""Sync and async wiring side by side; nothing is built at import."""

import os
from collections.abc import AsyncIterator, Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import Engine, create_engine
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session, sessionmaker

SessionLocal = sessionmaker(expire_on_commit=False)  # bound to an engine at startup
AsyncSessionLocal = async_sessionmaker(expire_on_commit=False)
sync_engine: Engine | None = None


def make_engine() -> Engine:
    return create_engine(os.environ["DATABASE_URL"])


def get_session() -> Iterator[Session]:
    with SessionLocal() as session:
        yield session


async def get_async_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with AsyncSessionLocal() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]
AsyncSessionDep = Annotated[AsyncSession, Depends(get_async_session)]
