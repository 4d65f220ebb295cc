from fastapi import FastAPI
from starlette.middleware.gzip import GZipMiddleware


def create_app() -> FastAPI:
    app = FastAPI()
    app.add_middleware(GZipMiddleware)
    return app


def install(app: FastAPI) -> None:
    app.add_middleware(GZipMiddleware, minimum_size=500)


application = FastAPI()
application.add_middleware(GZipMiddleware)
