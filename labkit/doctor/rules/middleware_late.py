"""``middleware-after-startup``: ``add_middleware`` called once the app is already serving.

Starlette builds the middleware stack on the first ASGI call, and the lifespan
message is that first call: ``add_middleware`` inside a lifespan, a startup
hook or a route raises ``RuntimeError: Cannot add middleware after an
application has started`` (older versions silently ignored it: the middleware
never ran). Notebook 09 is about what order middleware really runs in.

Flagged: ``x.add_middleware(...)`` in a function decorated with
``@asynccontextmanager`` or ``@contextmanager`` (a lifespan), with
``@app.on_event(...)``, or with a route decorator. Not flagged: module level,
``create_app()`` factories, plain helper functions.
"""

from __future__ import annotations

import ast

from labkit.doctor.context import FileContext
from labkit.doctor.literals import dotted
from labkit.doctor.rule import Rule
from labkit.doctor.walker import is_route_decorator

MIDDLEWARE_AFTER_STARTUP = Rule(
    id="middleware-after-startup",
    finds="`add_middleware(...)` inside a lifespan, a startup hook or a route, after the app has started",
    hint="Add middleware where the app is built (module level or `create_app()`), or list it in "
    "`FastAPI(middleware=[...])`.",
    notebooks=("09-middleware-twice-and-order",),
)


def _started_by(function: ast.FunctionDef | ast.AsyncFunctionDef) -> str | None:
    for decorator in function.decorator_list:
        name = dotted(decorator.func if isinstance(decorator, ast.Call) else decorator) or ""
        last = name.rpartition(".")[2]
        if last in ("asynccontextmanager", "contextmanager"):
            return "a lifespan"
        if last in ("on_event", "on_startup"):
            return "a startup hook"
        if is_route_decorator(decorator):
            return "a route"
    return None


@MIDDLEWARE_AFTER_STARTUP.on_call("add_middleware")
def middleware_after_startup(node: ast.Call, ctx: FileContext) -> None:
    function = ctx.function
    if function is None or not isinstance(node.func, ast.Attribute) or node.func.attr != "add_middleware":
        return
    defined = function.node
    if not isinstance(defined, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return
    where = _started_by(defined)
    if where is None:
        return
    ctx.report(
        MIDDLEWARE_AFTER_STARTUP,
        node,
        f"add_middleware() in {where} ({defined.name}) runs after the app has started: Starlette raises "
        "RuntimeError (Cannot add middleware after an application has started)",
    )
