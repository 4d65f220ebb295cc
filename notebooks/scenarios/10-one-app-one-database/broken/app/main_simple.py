"""Simplified entry point: the core routes only."""

from fastapi import FastAPI

from app.config import settings
from app.routers import users

# TODO(1): one app: app/main.py is the entry point, and this file builds another FastAPI app
app = FastAPI(title="shop (simple)", docs_url=None if settings.PRODUCTION else "/docs")
app.include_router(users.router)


@app.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}
