import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import lru_cache

import pytest
from fastapi import FastAPI
from sqlalchemy import Engine, create_engine
from sqlalchemy.ext.asyncio import create_async_engine


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    app.state.engine = create_async_engine(os.environ["DATABASE_URL"])
    yield
    await app.state.engine.dispose()


@lru_cache
def get_engine() -> Engine:
    return create_engine(os.environ["DATABASE_URL"])


def make_engine(url: str) -> Engine:
    return create_engine(url)


@pytest.fixture
def engine():
    built = create_engine(os.environ["DATABASE_URL"])
    yield built
    built.dispose()


async def lifespan_by_name(app: FastAPI):
    app.state.engine = create_async_engine(os.environ["DATABASE_URL"])
    yield
