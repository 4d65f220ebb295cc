"""Tables created when the app starts (or by a script), and create_all methods that are not SQLAlchemy's."""

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy import Engine, MetaData, create_engine

meta = MetaData()


def create_tables(bind: Engine) -> None:
    meta.create_all(bind)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    engine = create_engine(os.environ["DATABASE_URL"])
    meta.create_all(engine)
    yield
    engine.dispose()


class FlaskStyle:
    def create_all(self) -> None:
        pass


db = FlaskStyle()
db.create_all()

if __name__ == "__main__":
    meta.create_all(create_engine(os.environ["DATABASE_URL"]))
