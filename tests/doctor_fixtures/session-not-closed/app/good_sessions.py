import aiohttp
import requests
from sqlalchemy import text

from app.db import AsyncSessionLocal, SessionLocal


def get_db():
    db = SessionLocal()
    try:
        yield db
    finally:
        db.close()


async def get_async_db():
    async with AsyncSessionLocal() as session:
        yield session


def make_session():
    session = SessionLocal()
    return session  # the caller owns it


def closes_it():
    session = SessionLocal()
    session.execute(text("select 1"))
    session.close()


async def http_client():
    client_session = aiohttp.ClientSession()
    yield client_session


def fetch():
    http_session = requests.Session()
    return http_session.get("https://example.com")


def cleaned_up(session_cleanup):
    session = SessionLocal()
    with session_cleanup(session):
        session.execute(text("select 1"))


def make_factory(create_async_session, engine):
    init_session = create_async_session(engine)  # a factory: what it makes is opened with `async with`
    return init_session.begin()
