"""The database: one engine and one session factory for the whole process."""

from collections.abc import Iterator

from sqlalchemy import create_engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from app.config import settings

APP_NAME = "notes-api"  # shows up as application_name in pg_stat_activity

engine = create_engine(settings.database_url, connect_args={"application_name": APP_NAME})
SessionLocal = sessionmaker(bind=engine, expire_on_commit=False)


class Base(DeclarativeBase):
    """Every model inherits from this; its metadata lists the tables known so far."""


def get_session() -> Iterator[Session]:
    """One session per request."""
    with SessionLocal() as session:
        yield session
