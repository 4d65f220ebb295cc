"""Rules about database URLs written in the code.

- ``sync-driver-in-async-engine``: ``create_async_engine`` given a literal URL
  with a sync driver: ``InvalidRequestError: The asyncio extension requires an
  async driver to be used``.
- ``libpq-params-in-asyncpg-url``: asyncpg receives the URL's query parameters
  as keyword arguments: ``TypeError: connect() got an unexpected keyword
  argument 'sslmode'``.
- ``hardcoded-db-password``: a password in the source is a password in git history.

Only literals count (a string, an f-string's literal parts, a name bound to a
string in the same file). A URL read from settings or the environment is the
right thing and is never flagged. Docstrings are prose, not configuration, and
are skipped; so are test files for the password rule (see :func:`is_test_file`).
"""

from __future__ import annotations

import ast

from labkit.doctor import dburls, values
from labkit.doctor.context import FileContext
from labkit.doctor.literals import HOLE, argument, keyword, string
from labkit.doctor.rule import Rule
from labkit.doctor.rules.shared import skipped_strings

SYNC_DRIVER = Rule(
    id="sync-driver-in-async-engine",
    finds="`create_async_engine` with a literal URL whose driver is not async (`postgresql+psycopg2://`, "
          "`postgresql://` without a driver)",
    hint="Name an async driver in the URL: `postgresql+asyncpg://...` (or `postgresql+psycopg://` with psycopg 3).",
    notebooks=("04-sync-driver-under-async-engine",),
)
LIBPQ_PARAMS = Rule(
    id="libpq-params-in-asyncpg-url",
    finds="an asyncpg URL literal carrying `sslmode=` or `channel_binding=`",
    hint="asyncpg spells it `ssl=require`; drop `channel_binding`, or translate the URL with "
         "`make_url(...).update_query_dict(...)`.",
    notebooks=("04-sync-driver-under-async-engine",),
)
HARDCODED_PASSWORD = Rule(
    id="hardcoded-db-password",
    finds="a database URL literal (or `URL.create(password=...)`) with a password in it",
    hint="Read the URL from the environment (a settings field with no default, ideally a SecretStr); "
         "keep secrets out of the repository.",
    notebooks=("04-sync-driver-under-async-engine", "11-config-and-secrets"),
)
LIBPQ_ONLY = ("sslmode", "channel_binding")


def is_test_file(rel: str) -> bool:
    """Tests hold throwaway credentials for throwaway databases: ``tests/``, ``test_*.py``, ``*_test.py``, conftest."""
    parts = rel.split("/")
    name = parts[-1]
    return (any(part in ("tests", "test", "testing") for part in parts[:-1]) or name.startswith("test_")
            or name.endswith("_test.py") or name == "conftest.py")


def _check_literal(text: str, node: ast.AST, ctx: FileContext) -> None:
    url = dburls.parse(text)
    if url is None:
        return
    if url.driver == "asyncpg" and url.dialect in ("postgresql", "postgres") and ctx.options.enabled(LIBPQ_PARAMS):
        bad = [name for name in LIBPQ_ONLY if name in url.query]
        if bad:
            ctx.report(LIBPQ_PARAMS, node,
                       f"asyncpg URL with {' and '.join(n + '=' for n in bad)}: asyncpg gets them as keyword "
                       f"arguments and fails with TypeError: connect() got an unexpected keyword argument "
                       f"'{bad[0]}' (write ssl=require)")
    if url.literal_password and ctx.options.enabled(HARDCODED_PASSWORD) and not is_test_file(ctx.rel):
        ctx.report(HARDCODED_PASSWORD, node,
                   f"{url.dialect} URL with a password written in the code (host {url.host or 'local'}): "
                   "whoever can read the repository can read it, in every past commit too")


@LIBPQ_PARAMS.on_node(ast.Constant)
@HARDCODED_PASSWORD.on_node(ast.Constant)
def literal_url(node: ast.Constant, ctx: FileContext) -> None:
    value = node.value
    if value.__class__ is not str or "://" not in value or id(node) in skipped_strings(ctx):
        return
    _check_literal(value, node, ctx)


@LIBPQ_PARAMS.on_node(ast.JoinedStr)
@HARDCODED_PASSWORD.on_node(ast.JoinedStr)
def fstring_url(node: ast.JoinedStr, ctx: FileContext) -> None:
    skipped = skipped_strings(ctx)
    skipped.update(id(part) for part in node.values)
    text = string(node)
    if text is not None and "://" in text and id(node) not in skipped:
        _check_literal(text, node, ctx)


@HARDCODED_PASSWORD.on_call("create")
def url_create_password(node: ast.Call, ctx: FileContext) -> None:
    """``URL.create("postgresql+asyncpg", password="...")``: the same secret, spelled as arguments."""
    func = node.func
    if not (isinstance(func, ast.Attribute) and func.attr == "create") or is_test_file(ctx.rel):
        return
    symbol = ctx.symbol(func) or ""
    if symbol.split(".", 1)[0] not in values.EXTERNAL_ROOTS or not symbol.endswith("URL.create"):
        return
    password = string(keyword(node, "password"))
    url = dburls.LiteralURL("", None, password, "", frozenset())
    if url.literal_password:
        ctx.report(HARDCODED_PASSWORD, node,
                   "URL.create(password=...) with the password written in the code: whoever can read the "
                   "repository can read it, in every past commit too")


@SYNC_DRIVER.on_call("create_async_engine")
def sync_driver(node: ast.Call, ctx: FileContext) -> None:
    if not isinstance(node.func, (ast.Name, ast.Attribute)):
        return
    symbol = ctx.symbol(node.func)
    if symbol is None or values.external_kind(symbol) != values.FACTORY + values.ASYNC_ENGINE:
        return
    url = argument(node, 0, "url")
    found = _scheme_of(url, ctx)
    if found is None:
        return
    dialect, driver = found
    if driver in dburls.SYNC_DRIVERS:
        reason = (f"the {driver} driver is not async: InvalidRequestError (the asyncio extension requires an "
                  "async driver)")
    elif driver is None and dialect in ("postgresql", "postgres"):
        reason = ("no driver named: SQLAlchemy 2.0 picks psycopg2 (not async, InvalidRequestError); 2.1 picks "
                  "psycopg 3 (ModuleNotFoundError unless it is installed)")
        if dialect == "postgres":
            reason = "postgres:// is not a SQLAlchemy dialect name (NoSuchModuleError) and names no driver"
    elif driver is None and dialect in ("sqlite", "mysql", "mariadb"):
        reason = f"no driver named, so SQLAlchemy picks the default {dialect} driver, which is not async"
    else:
        return
    shown = f"{dialect}+{driver}://" if driver else f"{dialect}://"
    ctx.report(SYNC_DRIVER, node, f"create_async_engine() with a {shown} URL: {reason}")


def _scheme_of(url: ast.AST | None, ctx: FileContext) -> tuple[str, str | None] | None:
    text = string(url, ctx.consts)
    if text is not None:
        return dburls.scheme(text) if not text.startswith(HOLE) else None
    if isinstance(url, ast.Call) and isinstance(url.func, ast.Attribute) and url.func.attr == "create":
        symbol = ctx.symbol(url.func) or ""
        drivername = string(argument(url, 0, "drivername"))
        if symbol.endswith("URL.create") and drivername and HOLE not in drivername:
            return dburls.scheme(drivername + "://")
    return None

