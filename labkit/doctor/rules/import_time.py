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
from typing import Any

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


_TARGETS = "engine-at-import:targets"  # id of an assigned value -> the name it is bound to
_BUILT = "engine-at-import:built"  # (call, bound name, engine function) waiting for the end of the file
_DISPOSED = "engine-at-import:disposed"  # bound name -> line of its first .dispose()


def _state(ctx: FileContext, key: str, empty: object) -> Any:
    found = ctx.state.get(key)
    if found is None:
        found = ctx.state[key] = empty
    return found


ENGINE_AT_IMPORT.loud("create_engine", "create_async_engine")  # a class body that builds one is walked
# An engine comes from SQLAlchemy (by these names), from the project's other files or from app.state.
ENGINE_AT_IMPORT.needs("create_engine", "create_async_engine", "state")


@ENGINE_AT_IMPORT.on_node(ast.Assign, ast.AnnAssign)
def remember_target(node: ast.Assign | ast.AnnAssign, ctx: FileContext) -> None:
    """Which name an engine is bound to, so a later ``name.dispose()`` can be matched to it."""
    if ctx.functions or not isinstance(node.value, ast.Call):
        return  # only engines built at import time are reported
    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
    if len(targets) == 1:
        name = dotted(targets[0])
        if name is not None:
            _state(ctx, _TARGETS, {})[id(node.value)] = name


@ENGINE_AT_IMPORT.on_call("dispose")
def remember_dispose(node: ast.Call, ctx: FileContext) -> None:
    if isinstance(node.func, ast.Attribute) and node.func.attr == "dispose":
        name = dotted(node.func.value)
        if name is not None:
            _state(ctx, _DISPOSED, {}).setdefault(name.rpartition(".")[2], node.lineno)


@ENGINE_AT_IMPORT.on_call(where="import")
def engine_at_import(node: ast.Call, ctx: FileContext) -> None:
    if not ctx.at_import_time or not isinstance(node.func, (ast.Name, ast.Attribute)):
        return
    symbol = ctx.symbol(node.func)
    if symbol is None:
        return
    name = symbol.rpartition(".")[2]
    if values.external_kind(symbol) in _ENGINE_FACTORIES:
        poolclass = keyword(node, "poolclass")
        if poolclass is not None and (ctx.symbol(poolclass) or "").endswith("NullPool"):
            return  # no pool to outlive the app (the usual fix for engines shared by tests)
        bound = _state(ctx, _TARGETS, {}).get(id(node))
        _state(ctx, _BUILT, []).append((node, bound, name))
        return
    root = symbol.split(".", 1)[0]
    if root in ctx.first_party or symbol.startswith(ctx.module + "."):
        ctx.defer(
            ENGINE_AT_IMPORT,
            node,
            ctx.value(node),
            values.ENGINES,
            f"{name}() returns an engine and runs when the module is imported: the engine belongs to the "
            "process, not the app, and is bound to the settings of import time",
        )


@ENGINE_AT_IMPORT.on_finish
def report_engines(ctx: FileContext) -> None:
    """The engines built at import, with what happens to them said truly: disposed somewhere, or never."""
    disposed: dict[str, int] = ctx.state.get(_DISPOSED) or {}  # type: ignore[assignment]
    for node, bound, name in ctx.state.get(_BUILT) or ():  # type: ignore[attr-defined]
        line = disposed.get(bound.rpartition(".")[2]) if bound else None
        if line is not None:
            fate = (
                f"its dispose() at line {line} runs outside the app's lifespan, so the app cannot build "
                "it again for another URL or event loop"
            )
        else:
            fate = "nothing in this module disposes it"
        ctx.report(
            ENGINE_AT_IMPORT,
            node,
            f"{name}() runs when the module is imported: the engine and its pool belong to the process, "
            f"not the app, and are bound to the URL of import time; {fate}",
        )


@CREATE_ALL_AT_IMPORT.on_call("create_all")
def create_all_at_import(node: ast.Call, ctx: FileContext) -> None:
    func = node.func
    if not (isinstance(func, ast.Attribute) and func.attr == "create_all") or not ctx.at_import_time:
        return
    receiver = dotted(func.value) or ""
    message = (
        f"{receiver or 'metadata'}.create_all() runs when the module is imported: importing needs a live "
        "database, and only the models imported so far get tables"
    )
    if "metadata" in receiver.rpartition(".")[2].lower():
        ctx.report(CREATE_ALL_AT_IMPORT, node, message)
    else:  # `meta = MetaData()` ... `meta.create_all(engine)`
        ctx.defer(CREATE_ALL_AT_IMPORT, node, ctx.value(func.value), frozenset({values.METADATA}), message)
