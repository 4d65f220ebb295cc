"""Child of harness.clients_without_database: GET /health through four test clients.

Run from the project folder with DATABASE_URL pointing where no server listens. Prints one
line per client: ``name|outcome|where it raised`` (the app's lifespan, or elsewhere).
"""

from __future__ import annotations

import asyncio
import os
import sys
import traceback
import warnings
from collections.abc import Callable

sys.path.insert(0, os.getcwd())  # import the project from its folder, as pytest would
warnings.simplefilter("ignore")  # Starlette's TestClient warns that it will move to httpx2

from app.main import app  # noqa: E402
from asgi_lifespan import LifespanManager  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402
from httpx import ASGITransport, AsyncClient  # noqa: E402


async def bare() -> int:
    """The suite's own client: requests only, no lifespan events."""
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://test") as client:
        return (await client.get("/health")).status_code


async def managed() -> int:
    """LifespanManager runs the lifespan around the client, as uvicorn does."""
    async with (
        LifespanManager(app) as started,
        AsyncClient(transport=ASGITransport(app=started.app), base_url="http://test") as client,
    ):
        return (await client.get("/health")).status_code


def plain() -> int:
    """TestClient without ``with``: no lifespan."""
    return TestClient(app).get("/health").status_code


def with_block() -> int:
    """TestClient as a context manager: the lifespan runs on entering."""
    with TestClient(app) as client:
        return client.get("/health").status_code


FORMS: dict[str, Callable[[], int]] = {
    "AsyncClient(transport=ASGITransport(app))": lambda: asyncio.run(bare()),
    "TestClient(app)": plain,
    "with TestClient(app):": with_block,
    "LifespanManager(app), then AsyncClient": lambda: asyncio.run(managed()),
}

for name, call in FORMS.items():
    try:
        print(f"{name}|GET /health -> {call()}|", flush=True)
    except Exception as exc:
        frames = traceback.extract_tb(exc.__traceback__)
        where = "the app's lifespan" if any(frame.name == "lifespan" for frame in frames) else "elsewhere"
        print(f"{name}|{type(exc).__name__}|{where}", flush=True)
