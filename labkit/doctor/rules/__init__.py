"""The rules, one module per family; each rule is one :class:`labkit.doctor.rule.Rule` in its module.

:data:`ALL` lists them in the workbook's order (the order of ``--list-rules``
and of the text output); :data:`SHARED` holds the hooks several rules rely on.
"""

from __future__ import annotations

from labkit.doctor.rule import Rule
from labkit.doctor.rules import (
    blocking,
    cors,
    engine_per_request,
    events,
    health,
    import_time,
    imports,
    middleware,
    middleware_late,
    pool,
    raw_sql,
    runtime,
    secrets,
    server,
    session_lifetime,
    sessions,
    sql_strings,
    unchecked,
    urls,
)
from labkit.doctor.rules.shared import SHARED

ALL: tuple[Rule, ...] = (
    import_time.ENGINE_AT_IMPORT,
    import_time.CREATE_ALL_AT_IMPORT,
    events.ON_EVENT,
    server.RELOAD_WITHOUT_MAIN_GUARD,
    server.RELOAD_WITH_APP_OBJECT,
    urls.SYNC_DRIVER,
    urls.LIBPQ_PARAMS,
    blocking.BLOCKING,
    urls.HARDCODED_PASSWORD,
    raw_sql.RAW_SQL,
    sql_strings.SQL_FROM_STRINGS,
    sessions.SESSIONMAKER_ASYNC,
    session_lifetime.SESSION_NOT_CLOSED,
    pool.OVERSIZED_POOL,
    engine_per_request.ENGINE_PER_REQUEST,
    health.HEALTH_ALWAYS_OK,
    middleware.DUPLICATE_MIDDLEWARE,
    middleware_late.MIDDLEWARE_AFTER_STARTUP,
    cors.CORS_WILDCARD,
    imports.SWALLOWED_IMPORT_ERROR,
    secrets.DEFAULT_SECRET,
    unchecked.SYNTAX_ERROR,
    unchecked.UNREADABLE_FILE,
    runtime.IMPORT_FAILED,
    runtime.NO_LIFESPAN,
)

__all__ = ["ALL", "SHARED"]
