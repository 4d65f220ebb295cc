"""Database URLs written as literals in the code, read the way SQLAlchemy reads them.

The pattern mirrors ``sqlalchemy.engine.url``'s own, so the doctor's idea of
"the password" is exactly SQLAlchemy's. Interpolated parts of an f-string
arrive as :data:`labkit.doctor.literals.HOLE`: a password that is, or
contains, a hole is not written in the code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from labkit.doctor.literals import HOLE

DIALECTS = frozenset(
    {
        "postgresql",
        "postgres",
        "mysql",
        "mariadb",
        "mssql",
        "oracle",
        "sqlite",
        "cockroachdb",
        "redshift",
        "snowflake",
    }
)
# Drivers create_async_engine accepts, and drivers it refuses ("... is not async").
ASYNC_DRIVERS = frozenset(
    {
        "asyncpg",
        "psycopg",
        "psycopg_async",
        "aiosqlite",
        "aiomysql",
        "asyncmy",
        "aioodbc",
        "oracledb",
        "oracledb_async",
        "aiosqlcipher",
    }
)
SYNC_DRIVERS = frozenset(
    {
        "psycopg2",
        "psycopg2cffi",
        "pg8000",
        "pygresql",
        "pysqlite",
        "pysqlcipher",
        "pymysql",
        "mysqldb",
        "mysqlconnector",
        "cymysql",
        "pyodbc",
        "pymssql",
        "cx_oracle",
    }
)
LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1", ""})

_URL = re.compile(
    r"""
    ^(?P<name>[\w+]+)://
    (?:(?P<username>[^:/]*)(?::(?P<password>[^@]*))?@)?
    (?:(?:\[(?P<ipv6host>[^/?]+)\]|(?P<ipv4host>[^/:?]+))?(?::(?P<port>[^/?]*))?)?
    (?:/(?P<database>[^?]*))?
    (?:\?(?P<query>.*))?$
    """,
    re.X | re.S,
)
_PLACEHOLDER = re.compile(r"^(\*+|x+|\{.*\}|\$\{?\w+\}?|<.*>|%\(\w+\)s|\.\.\.)$", re.I)


@dataclass(frozen=True)
class LiteralURL:
    """The parts of a literal database URL that the rules look at."""

    dialect: str
    driver: str | None
    password: str | None
    host: str
    query: frozenset[str]  # parameter names

    @property
    def literal_password(self) -> str | None:
        """The password when it is really written down (not empty, masked, a placeholder or interpolated)."""
        password = self.password
        if not password or HOLE in password or _PLACEHOLDER.match(password):
            return None
        return password


def parse(text: str) -> LiteralURL | None:
    """A literal that is a database URL (the whole string, spaces aside), or None."""
    if "://" not in text:
        return None
    match = _URL.match(text.strip())
    if match is None:
        return None
    name = match.group("name")
    dialect, _, driver = name.partition("+")
    if dialect.lower() not in DIALECTS or HOLE in name:
        return None
    query = match.group("query") or ""
    names = frozenset(part.split("=", 1)[0] for part in query.split("&") if part)
    host = match.group("ipv6host") or match.group("ipv4host") or ""
    return LiteralURL(dialect.lower(), driver.lower() or None, match.group("password"), host, names)


def scheme(text: str) -> tuple[str, str | None] | None:
    """``(dialect, driver)`` of a literal that starts like a database URL, however the rest is built."""
    match = re.match(r"\s*([A-Za-z]\w*)(?:\+(\w+))?://", text)
    if match is None or match.group(1).lower() not in DIALECTS:
        return None
    return match.group(1).lower(), (match.group(2) or "").lower() or None
