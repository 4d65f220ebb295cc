"""``oversized-pool``: ``pool_size + max_overflow`` larger than the database can give every process.

Each process holds up to ``pool_size + max_overflow`` connections; times the
workers and replicas, that total must stay under the server's
``max_connections`` (100 by default) or new connections fail with ``sorry, too
many clients already``. Flagged: a total above the limit (30 by default,
``--pool-limit``), or ``max_overflow=-1`` (no limit at all). Only sizes written
in the code count: literals, names bound to them in the same file, and the
literal defaults of ``int(os.environ.get("POOL_SIZE", "50"))`` (what runs where
the variable is not set). SQLAlchemy's defaults (5 and 10) fill in a missing
one. ``poolclass=NullPool`` and other non-queue pools are skipped.
"""

from __future__ import annotations

import ast

from labkit.doctor import values
from labkit.doctor.context import FileContext
from labkit.doctor.literals import integer, keyword
from labkit.doctor.rule import Rule

OVERSIZED_POOL = Rule(
    id="oversized-pool",
    finds="`pool_size + max_overflow` above a limit (default 30, `--pool-limit`), or `max_overflow=-1`",
    hint="Size the pool from the server's max_connections: (pool_size + max_overflow) x processes must stay below it.",
    notebooks=("07-connection-pool",),
    severity="warning",
)
DEFAULT_SIZE, DEFAULT_OVERFLOW = 5, 10
_ENGINE_FACTORIES = frozenset({values.FACTORY + values.ENGINE, values.FACTORY + values.ASYNC_ENGINE})


@OVERSIZED_POOL.on_call("create_engine", "create_async_engine")
def oversized_pool(node: ast.Call, ctx: FileContext) -> None:
    if not node.keywords or not isinstance(node.func, (ast.Name, ast.Attribute)):
        return
    size_node, overflow_node = keyword(node, "pool_size"), keyword(node, "max_overflow")
    if size_node is None and overflow_node is None:
        return
    symbol = ctx.symbol(node.func)
    if symbol is None or values.external_kind(symbol) not in _ENGINE_FACTORIES:
        return
    poolclass = keyword(node, "poolclass")
    if poolclass is not None and not (ctx.symbol(poolclass) or "").endswith("QueuePool"):
        return
    size = DEFAULT_SIZE if size_node is None else integer(size_node, ctx.consts)
    overflow = DEFAULT_OVERFLOW if overflow_node is None else integer(overflow_node, ctx.consts)
    if size is None or overflow is None:
        return
    limit = ctx.options.pool_limit
    if overflow < 0:
        ctx.report(
            OVERSIZED_POOL,
            node,
            f"max_overflow={overflow} puts no limit on connections per process (pool_size={size}); "
            f"under load it opens as many as requests arrive, until the server refuses them",
        )
    elif size + overflow > limit:
        ctx.report(
            OVERSIZED_POOL,
            node,
            f"pool_size={size} + max_overflow={overflow} = {size + overflow} connections per process, "
            f"above {limit}: times workers and replicas it outgrows max_connections",
        )
