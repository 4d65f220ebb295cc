"""Catalog API: products from PostgreSQL, served behind security headers, CORS, a rate limit
and usage billing."""

import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, HTTPException
from fastapi.middleware.cors import CORSMiddleware
from sqlalchemy import text

from app.db import close_db, get_engine, init_db
# TODO(6): app/middleware.py has an ErrorResponseMiddleware, ready to wire in
from app.middleware import (
    RateLimitMiddleware,
    RequestIdMiddleware,
    SecurityHeadersMiddleware,
    UsageMiddleware,
)

logging.basicConfig(level=logging.INFO, format="%(levelname)s:     %(name)s: %(message)s")

FRONTEND_ORIGIN = "http://localhost:5173"  # the web frontend, which sends the X-API-Key header
RATE_LIMIT = int(os.environ.get("RATE_LIMIT", "20"))  # per API key (or address) per minute


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    await init_db()
    if os.environ.get("REQUEST_IDS") == "1":  # TODO(4)
        app.add_middleware(RequestIdMiddleware)  # switched on once the app is up
    yield
    await close_db()


app = FastAPI(title="catalog", lifespan=lifespan)

# Middleware, in the order a request should meet it:  TODO(2) TODO(3)
# security headers first, then CORS, then the rate limit, then usage billing.
app.add_middleware(SecurityHeadersMiddleware)
app.add_middleware(
    CORSMiddleware,
    allow_origins=["*"],  # TODO(5) was [FRONTEND_ORIGIN]; "*" ended the CORS errors on preview deployments
    allow_credentials=True,
    allow_methods=["*"],
    allow_headers=["*"],
)
app.add_middleware(RateLimitMiddleware, limit=RATE_LIMIT, window=60.0)
app.add_middleware(UsageMiddleware)


@app.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@app.get("/api/products")
async def products() -> list[dict[str, object]]:
    async with get_engine().connect() as conn:
        rows = await conn.execute(text("select id, name, price_cents from products order by id"))
        return [dict(row._mapping) for row in rows]


@app.get("/api/products/{product_id}")
async def product(product_id: int) -> dict[str, object]:
    async with get_engine().connect() as conn:
        rows = await conn.execute(text("select id, name, price_cents from products where id = :id"),
                                  {"id": product_id})
        row = rows.first()
    if row is None:
        raise HTTPException(status_code=404, detail="no such product")
    return dict(row._mapping)


# Performance: usage billing must see every request, so it is registered here as well.
app.add_middleware(UsageMiddleware)  # TODO(1)
