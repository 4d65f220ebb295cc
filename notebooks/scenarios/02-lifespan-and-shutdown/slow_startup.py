"""Report 001's lifespan (``init_db``, ``create_tables``, ``yield``, ``close_db``) with a create_tables that
waits: served by harness.py's :func:`request_during_startup` as ``uvicorn slow_startup:app``.

``create_tables`` touches the file ``$STARTUP_BEGAN`` and then blocks (as a slow sync migration does)
until the file ``$STARTUP_GATE`` exists; the harness sends a request in between and opens the gate only
after that. The app writes ``startup finished`` to its log when the lifespan reaches ``yield``, and
``GET /items`` logs ``served /items``, so the log's order says which came first.
"""

import logging
import os
import time
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import sessionmaker

logging.basicConfig(level=logging.INFO, format="%(levelname)s:     %(name)s: %(message)s")
logger = logging.getLogger("app")

engine = None
SessionLocal = None


def init_db(database_url) -> None:
    global engine, SessionLocal
    engine = create_engine(database_url, connect_args={"application_name": "slow-startup"})
    SessionLocal = sessionmaker(bind=engine)


def create_tables() -> None:
    Path(os.environ["STARTUP_BEGAN"]).touch()
    gate = Path(os.environ["STARTUP_GATE"])
    while not gate.exists():  # a slow migration: blocks the event loop, as the report's sync call does
        time.sleep(0.02)
    with engine.begin() as conn:
        conn.execute(text("select 1"))


def close_db() -> None:
    engine.dispose()


@asynccontextmanager
async def lifespan(app: FastAPI):
    init_db(make_url(os.environ["DATABASE_URL"]).set(drivername="postgresql+psycopg2"))
    create_tables()
    logger.info("startup finished")
    yield
    close_db()


app = FastAPI(lifespan=lifespan)


@app.get("/items")
def items() -> list[int]:
    logger.info("served /items")
    with SessionLocal() as session:
        return [session.execute(text("select 1")).scalar_one()]
