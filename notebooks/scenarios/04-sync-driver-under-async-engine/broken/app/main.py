"""Reports API: one slow report and a health check."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Query, Request
from sqlalchemy import text

from app.config import Settings
from app.db import make_engine


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    app.state.engine = make_engine(Settings())
    yield
    app.state.engine.dispose()


app = FastAPI(title="reports", lifespan=lifespan)


@app.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@app.get("/report")
async def report(request: Request, seconds: float = Query(0.2, ge=0, le=1)) -> dict[str, float]:
    """A report whose query runs `seconds` on the server (pg_sleep stands in for the real SQL)."""
    with request.app.state.engine.connect() as conn:
        conn.execute(text("select pg_sleep(:seconds)"), {"seconds": seconds})
    return {"seconds": seconds}
