"""Simplified entry point: the core routes only."""

from fastapi import FastAPI

from app.config import settings
from app.routers import users

app = FastAPI(title="shop (simple)", docs_url=None if settings.PRODUCTION else "/docs")
app.include_router(users.router)


@app.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}
