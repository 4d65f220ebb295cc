"""Interviews API: the app, its middleware and its startup."""

import logging

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from app.config import settings
from app.database import init_db
from app.middleware import TimingMiddleware
from app.routes import router

logging.basicConfig(level=logging.INFO, format="%(levelname)s:     %(name)s: %(message)s")

app = FastAPI(title="Interviews API", version="1.0.0")
app.add_middleware(TimingMiddleware)
app.add_middleware(
    CORSMiddleware,
    allow_origins=settings.CORS_ORIGINS,
    allow_methods=["GET", "POST"],
    allow_headers=["Content-Type"],
)


@app.on_event("startup")
async def startup() -> None:
    await init_db()


app.include_router(router)

# time the whole request, including the answers CORS gives by itself
app.add_middleware(TimingMiddleware)
