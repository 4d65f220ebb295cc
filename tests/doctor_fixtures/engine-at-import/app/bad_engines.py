"""Engines and tables built because the module was imported."""

import os

import sqlalchemy as sa
from sqlalchemy import MetaData, create_engine
from sqlalchemy.ext.asyncio import create_async_engine as make_async
from sqlalchemy.orm import DeclarativeBase

from app import factory
from app.factory import make_engine

URL = os.environ["DATABASE_URL"]

engine = create_engine(URL)  # expect: engine-at-import
async_engine = make_async(URL)  # expect: engine-at-import
other = sa.create_engine(URL)  # expect: engine-at-import
built = make_engine(URL)  # expect: engine-at-import
built_async = factory.make_async_engine(URL)  # expect: engine-at-import
label = factory.describe(URL)


class Holder:
    engine = create_engine(URL)  # expect: engine-at-import


try:
    fallback = create_engine(URL)  # expect: engine-at-import
except Exception:
    fallback = None


def with_default(bind=create_engine(URL)):  # expect: engine-at-import
    return bind


class Base(DeclarativeBase):
    pass


Base.metadata.create_all(bind=engine)  # expect: create-all-at-import
meta = MetaData()
meta.create_all(engine)  # expect: create-all-at-import
