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
are skipped; so are test files for the password rule (see ``FileContext.is_test``).
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
LIBPQ_PARAMS.needs("://")  # a URL literal
HARDCODED_PASSWORD.needs("://", "passw", "pwd")  # a URL literal, or a password keyword or key


def _check_literal(text: str, node: ast.AST, ctx: FileContext) -> None:
    url = dburls.parse(text)
    if url is None:
        return
    if url.driver == "asyncpg" and url.dialect in ("postgresql", "postgres") and ctx.options.enabled(LIBPQ_PARAMS):
        bad = [name for name in LIBPQ_ONLY if name in url.query]
        if bad:
            ctx.report(
                LIBPQ_PARAMS,
                node,
                f"asyncpg URL with {' and '.join(n + '=' for n in bad)}: asyncpg gets them as keyword "
                f"arguments and fails with TypeError: connect() got an unexpected keyword argument "
                f"'{bad[0]}' (write ssl=require)",
            )
    if url.literal_password and ctx.options.enabled(HARDCODED_PASSWORD) and not ctx.is_test:
        _report_password(ctx, node, f"{url.dialect} URL", url.host if HOLE not in url.host else None)


def is_development_host(host: str) -> bool:
    """Loopback, or a bare name such as ``db`` (a docker-compose service): a database on the developer's machine."""
    host = host.strip().lower()
    return host in dburls.LOOPBACK or (HOLE not in host and "." not in host and ":" not in host)


def _report_password(ctx: FileContext, node: ast.AST, what: str, host: str | None) -> None:
    """A password in the code: an error for a real server, a warning for a development default.

    ``host`` None: not known (then it counts as a real server).
    """
    if host is not None and is_development_host(host):
        shown = host or "local socket"
        ctx.report(
            HARDCODED_PASSWORD,
            node,
            f"{what} with a password written in the code, for a development database ({shown}): fine on "
            "your machine, but this default is used wherever the setting is missing; read it from the "
            "environment",
            severity="warning",
        )
        return
    where = f" for {host}" if host else ""
    ctx.report(
        HARDCODED_PASSWORD,
        node,
        f"{what} with a password written in the code{where}: whoever can read the repository can read "
        "it, in every past commit too",
    )


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
    if not (isinstance(func, ast.Attribute) and func.attr == "create") or ctx.is_test:
        return
    symbol = ctx.symbol(func) or ""
    if symbol.split(".", 1)[0] not in values.EXTERNAL_ROOTS or not symbol.endswith("URL.create"):
        return
    password = string(keyword(node, "password"))
    url = dburls.LiteralURL("", None, password, "", frozenset())
    if url.literal_password:
        _report_password(ctx, node, "URL.create(password=...)", _literal_host(keyword(node, "host")))


_PASSWORD_KEYS = frozenset({"password", "passwd", "pwd", "db_password", "database_password", "pg_password"})
# A password next to one of these is a server's; next to a user name alone it is often a login form or a test.
_SERVER_KEYS = frozenset({"host", "hostname", "server", "database", "dbname", "db", "port", "dsn"})


def _literal_host(node: ast.AST | None) -> str | None:
    if node is None:
        return None
    host = string(node)
    return host if host is not None and HOLE not in host else None


@HARDCODED_PASSWORD.on_node(ast.Dict)
def password_in_dict(node: ast.Dict, ctx: FileContext) -> None:
    """``{"user": "app", "password": "...", "host": "..."}``: connection settings built from a dict, then a URL."""
    if ctx.is_test:
        return
    keys = {}
    for key, value in zip(node.keys, node.values, strict=False):
        text = string(key) if key is not None else None
        if text is not None:
            keys[text.lower()] = value
    _password_among(keys, node, ctx, "a dict of connection settings")


# Calls that take a server's password as a keyword. `dict(...)` is looked at where modules are imported
# only: as a name to wake a function body for, `dict` would wake most of them (it is in every annotation).
_CONNECT_CALLS = ("connect", "create_pool", "Database")


@HARDCODED_PASSWORD.on_call(where="import")
def password_in_dict_call(node: ast.Call, ctx: FileContext) -> None:
    """``DB = dict(user=..., password="...", host=...)`` where the module is imported."""
    if isinstance(node.func, ast.Name) and node.func.id == "dict":
        password_in_call(node, ctx)


@HARDCODED_PASSWORD.on_call(*_CONNECT_CALLS)
def password_in_call(node: ast.Call, ctx: FileContext) -> None:
    """``psycopg2.connect(password="...", host=...)``, asyncpg's pools, ``dict(...)`` (see above)."""
    if ctx.is_test or not node.keywords:
        return
    keys = {kw.arg.lower(): kw.value for kw in node.keywords if kw.arg}
    func = node.func
    name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else "..."
    _password_among(keys, node, ctx, f"{name}(password=...)")


def _password_among(keys: dict[str, ast.expr], node: ast.AST, ctx: FileContext, what: str) -> None:
    found = [k for k in keys if k in _PASSWORD_KEYS]
    if not found or not any(k in _SERVER_KEYS for k in keys):
        return
    value = keys[found[0]]
    password = string(value) if isinstance(value, (ast.Constant, ast.JoinedStr)) else None
    if not dburls.LiteralURL("", None, password, "", frozenset()).literal_password:
        return
    host = keys.get("host", keys.get("hostname", keys.get("server")))
    _report_password(ctx, value, what, _literal_host(host) if host is not None else None)


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
        reason = (
            f"the {driver} driver is not async: InvalidRequestError (the asyncio extension requires an async driver)"
        )
    elif driver is None and dialect in ("postgresql", "postgres"):
        reason = (
            "no driver named: SQLAlchemy 2.0 picks psycopg2 (not async, InvalidRequestError); 2.1 picks "
            "psycopg 3 (ModuleNotFoundError unless it is installed)"
        )
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
