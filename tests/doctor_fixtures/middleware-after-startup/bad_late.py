from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.middleware.gzip import GZipMiddleware


@asynccontextmanager
async def lifespan(app: FastAPI):
    app.add_middleware(GZipMiddleware)  # expect: middleware-after-startup
    yield


app = FastAPI(lifespan=lifespan)


@app.on_event("startup")  # expect: on-event
async def startup() -> None:
    app.add_middleware(GZipMiddleware)  # expect: middleware-after-startup


@app.post("/debug/gzip")
async def switch_on() -> None:
    app.add_middleware(GZipMiddleware)  # expect: middleware-after-startup
