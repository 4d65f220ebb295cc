"""Tables created because the module was imported."""

import os

from sqlalchemy import MetaData, create_engine
from sqlalchemy.orm import DeclarativeBase


def make_engine():
    return create_engine(os.environ["DATABASE_URL"])


class Base(DeclarativeBase):
    pass


Base.metadata.create_all(bind=make_engine())  # expect: create-all-at-import, engine-at-import
meta = MetaData()
meta.create_all(make_engine())  # expect: create-all-at-import, engine-at-import


class Models:
    Base.metadata.create_all(make_engine())  # expect: create-all-at-import, engine-at-import
