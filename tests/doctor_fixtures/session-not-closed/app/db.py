import os

from sqlalchemy import create_engine, text
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
from sqlalchemy.orm import Session, sessionmaker

engine = create_engine(os.environ["DATABASE_URL"])  # expect: engine-at-import
SessionLocal = sessionmaker(bind=engine)
AsyncSessionLocal = async_sessionmaker(create_async_engine(os.environ["ASYNC_URL"]))  # expect: engine-at-import
db_session = SessionLocal()  # expect: session-not-closed
shared = Session(engine)  # expect: session-not-closed


def get_db():
    db = SessionLocal()  # expect: session-not-closed
    yield db


async def get_async_db(request):
    sessions = request.app.state.sessions
    session = sessions()  # expect: session-not-closed
    yield session


def count_users():
    session = SessionLocal()  # expect: session-not-closed
    return session.execute(text("select count(*) from users")).scalar()
