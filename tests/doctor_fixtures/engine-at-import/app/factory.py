"""Engine factories: building an engine here is fine, it only happens when called."""

from sqlalchemy import Engine, create_engine
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine


def make_engine(url: str) -> Engine:
    return create_engine(url)


def make_async_engine(url: str) -> AsyncEngine:
    return create_async_engine(url)


def describe(url: str) -> str:
    return url
