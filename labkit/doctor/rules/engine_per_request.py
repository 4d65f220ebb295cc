"""``engine-per-request``: an engine built inside a route or a request dependency.

An engine is a pool. Built per request, every request opens a fresh
connection (the handshake and authentication included), and an engine that is
never disposed leaves its connections open until the garbage collector runs:
under load the server runs out of ``max_connections`` (notebook 07).

Flagged: ``create_engine`` / ``create_async_engine`` in a route, or in a
generator function without decorators (the shape of a ``Depends`` dependency).
Not flagged: lifespans (``@asynccontextmanager``), pytest fixtures, factories
that return the engine, ``lru_cache``d getters, test files.
"""

from __future__ import annotations

import ast

from labkit.doctor import values
from labkit.doctor.context import FileContext
from labkit.doctor.rule import Rule
from labkit.doctor.walker import is_route_decorator

ENGINE_PER_REQUEST = Rule(
    id="engine-per-request",
    finds="`create_engine` / `create_async_engine` inside a route or a request dependency",
    hint="Build one engine per process in the lifespan (store it on `app.state`) and hand out sessions from "
    "it per request.",
    notebooks=("07-connection-pool",),
)
_ENGINE_FACTORIES = frozenset({values.FACTORY + values.ENGINE, values.FACTORY + values.ASYNC_ENGINE})


def _is_generator(function: ast.AST) -> bool:
    stack = list(getattr(function, "body", []))
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.Yield, ast.YieldFrom)):
            return True
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            stack.extend(ast.iter_child_nodes(node))
    return False


@ENGINE_PER_REQUEST.on_call("create_engine", "create_async_engine")
def engine_per_request(node: ast.Call, ctx: FileContext) -> None:
    function = ctx.function
    if function is None or not isinstance(function.node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return
    if not isinstance(node.func, (ast.Name, ast.Attribute)) or ctx.is_test:
        return
    if values.external_kind(ctx.symbol(node.func) or "") not in _ENGINE_FACTORIES:
        return
    defined = function.node
    if any(is_route_decorator(d) for d in defined.decorator_list):
        where = f"the route {defined.name}()"
    elif not defined.decorator_list and "lifespan" not in defined.name and _is_generator(defined):
        where = f"the dependency {defined.name}()"
    else:
        return
    ctx.report(
        ENGINE_PER_REQUEST,
        node,
        f"{ctx.symbol(node.func).rpartition('.')[2]}() in {where} builds a new pool for every request: "  # type: ignore[union-attr]
        "each opens fresh connections, and undisposed engines keep theirs until garbage collection",
    )
