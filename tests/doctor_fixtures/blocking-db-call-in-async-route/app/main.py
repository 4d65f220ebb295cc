import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import create_async_engine

from app.db import SessionLocal, make_engine


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    app.state.engine = make_engine()
    SessionLocal.configure(bind=app.state.engine)
    app.state.async_engine = create_async_engine(os.environ["DATABASE_URL"])
    yield
    app.state.engine.dispose()
    await app.state.async_engine.dispose()


app = FastAPI(lifespan=lifespan)
