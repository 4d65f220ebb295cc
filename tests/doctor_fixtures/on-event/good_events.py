from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    yield


app = FastAPI(lifespan=lifespan, on_startup=None)


class Bus:
    def on_event(self, name: str):
        return lambda fn: fn


bus = Bus()


@bus.on_event("order-created")
def on_order() -> None:
    pass
