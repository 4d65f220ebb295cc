"""The right shapes: nothing is built or created until the app starts."""

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import lru_cache

from fastapi import FastAPI
from sqlalchemy import Engine, MetaData, create_engine
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from app.factory import describe, make_engine

engine: AsyncEngine | None = None
sync_engine = None
meta = MetaData()
name = describe("x")


@lru_cache
def get_engine() -> Engine:
    return create_engine(os.environ["DATABASE_URL"])


def create_tables(bind: Engine) -> None:
    meta.create_all(bind)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    global engine
    engine = create_async_engine(os.environ["DATABASE_URL"])
    app.state.engine = make_engine(os.environ["DATABASE_URL"])
    yield
    await engine.dispose()


app = FastAPI(lifespan=lifespan)
connect = lambda: create_engine(os.environ["DATABASE_URL"])  # noqa: E731


class FlaskStyle:
    def create_all(self) -> None:
        pass


db = FlaskStyle()
db.create_all()

if __name__ == "__main__":
    script_engine = create_engine(os.environ["DATABASE_URL"])
    meta.create_all(script_engine)

shared_by_tests = create_async_engine(os.environ["DATABASE_URL"], poolclass=NullPool)
