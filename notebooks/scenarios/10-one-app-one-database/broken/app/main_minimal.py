"""Bare-bones entry point: health only, to see whether the container starts at all."""

from fastapi import FastAPI

from app.logger import setup_logging

setup_logging()
# TODO(1): one app: app/main.py is the entry point, and this file builds another FastAPI app
app = FastAPI(title="shop (minimal)")


@app.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}
