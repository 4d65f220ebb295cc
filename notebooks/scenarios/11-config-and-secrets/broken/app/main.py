"""Notes API: every route but /health needs a session token signed with the secret key."""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import FastAPI, Header, HTTPException, Request
from sqlalchemy import text

from app.config import settings
from app.db import make_engine
from app.security import verify

logging.basicConfig(level=logging.INFO, format="%(levelname)s:     %(name)s: %(message)s")
logger = logging.getLogger("app")


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    logger.info("settings: %s", settings)
    logger.info("database: %s", settings.database_url)
    app.state.engine = make_engine()
    yield
    await app.state.engine.dispose()


app = FastAPI(title="notes", lifespan=lifespan)


@app.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@app.get("/notes")
async def notes(request: Request, authorization: Annotated[str, Header()] = "") -> dict[str, object]:
    user = verify(authorization.removeprefix("Bearer "), settings.secret_key)
    if user is None:
        raise HTTPException(status_code=401, detail="invalid or expired token")
    async with request.app.state.engine.connect() as conn:
        rows = await conn.execute(
            text("select cast(:user as text) || ': note ' || n from generate_series(1, 2) as n"), {"user": user}
        )
        return {"user": user, "notes": [row[0] for row in rows]}
