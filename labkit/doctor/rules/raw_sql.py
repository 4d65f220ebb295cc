"""``raw-sql-string``: a SQL string handed to SQLAlchemy's ``execute`` (or ``scalar``, ``scalars``, ``stream``).

SQLAlchemy 2 executes statement objects, not strings:
``conn.execute("SELECT 1")`` raises ``ObjectNotExecutableError: Not an
executable object: 'SELECT 1'``, and ``session.execute("SELECT 1")`` raises
``ArgumentError: Textual SQL expression ... should be explicitly declared as
text(...)``. The fix is ``text("SELECT 1")``, or
``conn.exec_driver_sql("SELECT 1")`` to send the string as it is (never flagged).

Many libraries take SQL strings in a method called ``execute`` (DB-API
cursors, asyncpg, databases, Alembic's ``op.execute``), so the rule speaks
only when the string starts like SQL and either the receiver is known to be
a SQLAlchemy connection or session, or the file uses SQLAlchemy (and no raw
driver) and the receiver is not known to be another library's object
(``database = databases.Database(...)`` in another module, a
``requests.Session``). Cursors (``cursor``, ``cur``, ``curs``) and
``alembic.op`` are never flagged.
"""

from __future__ import annotations

import ast
import re

from labkit.doctor import values
from labkit.doctor.context import FileContext
from labkit.doctor.literals import argument, dotted, string
from labkit.doctor.rule import Rule

RAW_SQL = Rule(
    id="raw-sql-string",
    finds='`.execute("...")` / `.scalar("...")` / `.scalars("...")` / `.stream("...")` with a SQL '
    "string instead of `text(...)`",
    hint='Wrap the SQL in `text("...")` (bind values as `:name`), or send a raw string with '
    "`conn.exec_driver_sql(...)`.",
    notebooks=("05-async-session-pitfalls",),
)
METHODS = frozenset({"execute", "scalar", "scalars", "stream", "stream_scalars", "scalar_one"})
SQL_START = re.compile(
    r"\s*(select|insert|update|delete|with|create|drop|alter|truncate|begin|commit|rollback|set|show|explain"
    r"|values|call|grant|revoke|vacuum|analyze|copy|lock|listen|notify|refresh|comment|merge|reset|discard"
    r"|savepoint|release)\b",
    re.I,
)
RAW_DRIVERS = (
    "asyncpg",
    "psycopg",
    "psycopg2",
    "sqlite3",
    "aiosqlite",
    "pymysql",
    "MySQLdb",
    "aiomysql",
    "databases",
    "aiopg",
    "pg8000",
    "psycopg_pool",
    "duckdb",
    "cx_Oracle",
    "oracledb",
    "pyodbc",
)
_SQLALCHEMY = frozenset({values.SESSION, values.ASYNC_SESSION, values.CONNECTION, values.ASYNC_CONNECTION})


@RAW_SQL.on_call(*METHODS)
def raw_sql(node: ast.Call, ctx: FileContext) -> None:
    func = node.func
    if not isinstance(func, ast.Attribute) or func.attr not in METHODS:
        return
    text = string(argument(node, 0, "statement"), ctx.consts)
    if text is None or not SQL_START.match(text):
        return
    receiver = dotted(func.value) or ""
    last = receiver.rpartition(".")[2].lower()
    if "cursor" in last or last in ("cur", "curs", "cr", "c", "op") or "driver_connection" in receiver:
        return
    if (ctx.symbol(func.value) or "").startswith("alembic"):
        return
    shown = " ".join(text.split())[:40]
    message = (
        f'{receiver or "..."}.{func.attr}("{shown}") passes a plain string, which SQLAlchemy 2 refuses '
        "(ObjectNotExecutableError from a connection, ArgumentError from a session)"
    )
    # In a SQLAlchemy file, an unknown receiver counts; one known to be another library's object never does.
    in_sqlalchemy_file = ctx.imports("sqlalchemy", "sqlmodel") and not ctx.imports(*RAW_DRIVERS)
    ctx.defer(RAW_SQL, node, ctx.value(func.value), _SQLALCHEMY, message, unknown_too=in_sqlalchemy_file)
