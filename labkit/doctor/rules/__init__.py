"""The rules, one module per family; each rule is one :class:`labkit.doctor.rule.Rule` in its module.

:data:`ALL` lists them in the workbook's order (the order of ``--list-rules``
and of the text output); :data:`SHARED` holds the hooks several rules rely on.
"""

from __future__ import annotations

from labkit.doctor.rule import Rule
from labkit.doctor.rules import (
    blocking,
    events,
    import_time,
    imports,
    middleware,
    pool,
    raw_sql,
    runtime,
    server,
    sessions,
    unchecked,
    urls,
)
from labkit.doctor.rules.shared import SHARED

ALL: tuple[Rule, ...] = (
    import_time.ENGINE_AT_IMPORT,
    import_time.CREATE_ALL_AT_IMPORT,
    events.ON_EVENT,
    server.RELOAD_WITHOUT_MAIN_GUARD,
    urls.SYNC_DRIVER,
    urls.LIBPQ_PARAMS,
    blocking.BLOCKING,
    urls.HARDCODED_PASSWORD,
    raw_sql.RAW_SQL,
    sessions.SESSIONMAKER_ASYNC,
    pool.OVERSIZED_POOL,
    middleware.DUPLICATE_MIDDLEWARE,
    imports.SWALLOWED_IMPORT_ERROR,
    unchecked.SYNTAX_ERROR,
    unchecked.UNREADABLE_FILE,
    runtime.IMPORT_FAILED,
    runtime.NO_LIFESPAN,
)

__all__ = ["ALL", "SHARED"]
