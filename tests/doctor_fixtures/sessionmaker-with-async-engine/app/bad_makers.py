import os

from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.orm import Session, sessionmaker

from app.engines import get_async_engine


def local_engine() -> sessionmaker:
    engine = create_async_engine(os.environ["DATABASE_URL"])
    return sessionmaker(engine)  # expect: sessionmaker-with-async-engine


def inline() -> sessionmaker:
    return sessionmaker(bind=create_async_engine(os.environ["DATABASE_URL"]), expire_on_commit=False)  # expect: sessionmaker-with-async-engine


def imported() -> sessionmaker:
    return sessionmaker(get_async_engine())  # expect: sessionmaker-with-async-engine


def annotated(engine: AsyncEngine) -> sessionmaker:
    return sessionmaker(engine, class_=Session)  # expect: sessionmaker-with-async-engine
