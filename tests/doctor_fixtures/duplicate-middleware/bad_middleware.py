import os

from fastapi import FastAPI
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.gzip import GZipMiddleware


class TimingMiddleware:
    def __init__(self, app) -> None:
        self.app = app


app = FastAPI()
app.add_middleware(CORSMiddleware, allow_origins=["*"])
app.add_middleware(GZipMiddleware)
app.add_middleware(CORSMiddleware, allow_origins=["https://example.com"])  # expect: duplicate-middleware

if os.environ.get("DEBUG"):
    app.add_middleware(GZipMiddleware, minimum_size=10)  # expect: duplicate-middleware


def create_app() -> FastAPI:
    api = FastAPI(middleware=[Middleware(TimingMiddleware)])
    api.add_middleware(TimingMiddleware)  # expect: duplicate-middleware
    return api
