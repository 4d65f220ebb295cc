"""Database wiring: the tables, and one engine for the process, made on import."""

import os
from datetime import datetime

from sqlalchemy import URL, create_engine, func, make_url
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def database_url() -> URL:
    """DATABASE_URL for this sync app (psycopg2), tagged so pg_stat_activity can tell its connections apart."""
    url = make_url(os.environ["DATABASE_URL"]).set(drivername="postgresql+psycopg2")
    return url.update_query_dict({"application_name": "reload-lab"})


class Base(DeclarativeBase):
    pass


class AppStart(Base):
    """One row each time the app's start-up work runs: ops read it to see restarts."""

    __tablename__ = "app_starts"

    id: Mapped[int] = mapped_column(primary_key=True)
    pid: Mapped[int]
    process: Mapped[str]
    module: Mapped[str]
    started_at: Mapped[datetime] = mapped_column(server_default=func.now())


engine = create_engine(database_url(), pool_size=5)
