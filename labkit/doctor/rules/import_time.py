"""``engine-at-import`` and ``create-all-at-import``: database work done because a module was imported.

Import time is any code outside a function body and outside
``if __name__ == "__main__":`` (class bodies included: they run at import).
Code inside a function, a lifespan or a factory is not flagged, nor is
``engine = None`` at module level: nothing is built until startup. An engine
with ``poolclass=NullPool`` is not flagged either: it holds no connection
between uses, which is why test suites share one that way.
"""

from __future__ import annotations

import ast

from labkit.doctor import values
from labkit.doctor.context import FileContext
from labkit.doctor.literals import dotted, keyword
from labkit.doctor.rule import Rule

ENGINE_AT_IMPORT = Rule(
    id="engine-at-import",
    finds="`create_engine` / `create_async_engine` called at module level (or a factory declared to "
          "return an engine, called there)",
    hint="Build the engine in the app's lifespan (or a factory the lifespan calls) and dispose() it on "
         "the way out; `engine = None` at module level is fine.",
    notebooks=("01-import-time-engine",),
    severity="warning",
)
CREATE_ALL_AT_IMPORT = Rule(
    id="create-all-at-import",
    finds="`metadata.create_all(...)` at module level",
    hint="Create tables at startup (in the lifespan), or better with migrations run once before the app starts.",
    notebooks=("01-import-time-engine",),
    severity="warning",
)
_ENGINE_FACTORIES = frozenset({values.FACTORY + values.ENGINE, values.FACTORY + values.ASYNC_ENGINE})


@ENGINE_AT_IMPORT.on_call()
def engine_at_import(node: ast.Call, ctx: FileContext) -> None:
    if not ctx.at_import_time or not isinstance(node.func, (ast.Name, ast.Attribute)):
        return
    symbol = ctx.symbol(node.func)
    if symbol is None:
        return
    name = symbol.rpartition(".")[2]
    where = "when the module is imported"
    if values.external_kind(symbol) in _ENGINE_FACTORIES:
        poolclass = keyword(node, "poolclass")
        if poolclass is not None and (ctx.symbol(poolclass) or "").endswith("NullPool"):
            return  # no pool to outlive the app (the usual fix for engines shared by tests)
        ctx.report(ENGINE_AT_IMPORT, node,
                   f"{name}() runs {where}: the engine and its pool belong to the process, not the app; "
                   "they are bound to the URL of import time and never disposed")
        return
    root = symbol.split(".", 1)[0]
    if root in ctx.first_party or symbol.startswith(ctx.module + "."):
        ctx.defer(ENGINE_AT_IMPORT, node, ctx.value(node), values.ENGINES,
                  f"{name}() returns an engine and runs {where}: the engine belongs to the process, "
                  "not the app, and is never disposed")


@CREATE_ALL_AT_IMPORT.on_call("create_all")
def create_all_at_import(node: ast.Call, ctx: FileContext) -> None:
    func = node.func
    if not (isinstance(func, ast.Attribute) and func.attr == "create_all") or not ctx.at_import_time:
        return
    receiver = dotted(func.value) or ""
    message = (f"{receiver or 'metadata'}.create_all() runs when the module is imported: importing needs a live "
               "database, and only the models imported so far get tables")
    if "metadata" in receiver.rpartition(".")[2].lower():
        ctx.report(CREATE_ALL_AT_IMPORT, node, message)
    else:  # `meta = MetaData()` ... `meta.create_all(engine)`
        ctx.defer(CREATE_ALL_AT_IMPORT, node, ctx.value(func.value), frozenset({values.METADATA}), message)

