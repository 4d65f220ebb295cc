import os

from fastapi import FastAPI
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.gzip import GZipMiddleware


class RateLimit:
    def __init__(self, app, limit: int) -> None:
        self.app, self.limit = app, limit


async def log_requests(request, call_next):
    return await call_next(request)


async def add_headers(request, call_next):
    return await call_next(request)


app = FastAPI()
app.add_middleware(CORSMiddleware, allow_origins=["*"])
app.add_middleware(GZipMiddleware)
app.add_middleware(BaseHTTPMiddleware, dispatch=log_requests)
app.add_middleware(BaseHTTPMiddleware, dispatch=add_headers)
app.add_middleware(RateLimit, limit=10)
app.add_middleware(RateLimit, limit=100)

other = FastAPI()
if os.environ.get("STRICT"):
    other.add_middleware(CORSMiddleware, allow_origins=["https://example.com"])
else:
    other.add_middleware(CORSMiddleware, allow_origins=["*"])


def factory_a() -> FastAPI:
    app = FastAPI()
    app.add_middleware(CORSMiddleware)
    return app


def factory_b() -> FastAPI:
    app = FastAPI()
    app.add_middleware(CORSMiddleware)
    return app
