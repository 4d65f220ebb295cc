"""``on-event``: startup and shutdown hooks registered one by one instead of a lifespan.

``@app.on_event("startup")`` still works in FastAPI 0.165 but warns that it
is deprecated (Starlette 1.x removed its own); more to the point, setup and
teardown live in separate functions, so nothing pairs the engine that
startup builds with the ``dispose()`` that shutdown should call.
"""

from __future__ import annotations

import ast

from labkit.doctor.context import FileContext
from labkit.doctor.literals import argument, keyword, string
from labkit.doctor.rule import Rule

ON_EVENT = Rule(
    id="on-event",
    finds="`@app.on_event(...)`, `add_event_handler(...)`, `FastAPI(on_startup=..., on_shutdown=...)`",
    hint="Use one lifespan: setup before `yield`, teardown after it, and `FastAPI(lifespan=lifespan)`.",
    notebooks=("02-lifespan-and-shutdown",),
    severity="warning",
)
_EVENTS = frozenset({"startup", "shutdown"})
_APP_CLASSES = frozenset({"FastAPI", "Starlette", "APIRouter", "Router"})


@ON_EVENT.on_call("on_event", "add_event_handler", *_APP_CLASSES)
def on_event(node: ast.Call, ctx: FileContext) -> None:
    func = node.func
    if isinstance(func, ast.Attribute) and func.attr in ("on_event", "add_event_handler"):
        event = string(argument(node, 0, "event_type"))
        if event in _EVENTS:  # a variable event name is a wrapper passing it on, not the pattern itself
            ctx.report(
                ON_EVENT,
                node,
                f'{func.attr}("{event}") registers a {event} hook, which is deprecated: setup and '
                "teardown live apart, so nothing pairs the engine with its dispose()",
            )
        return
    if not isinstance(func, (ast.Name, ast.Attribute)) or not node.keywords:
        return
    symbol = ctx.symbol(func) or ""
    if symbol.split(".", 1)[0] not in ("fastapi", "starlette") or symbol.rpartition(".")[2] not in _APP_CLASSES:
        return
    for name in ("on_startup", "on_shutdown"):
        hooks = keyword(node, name)
        if isinstance(hooks, (ast.List, ast.Tuple)) and hooks.elts:  # not a parameter passed through
            ctx.report(
                ON_EVENT,
                hooks,
                f"{symbol.rpartition('.')[2]}({name}=...) registers hooks one by one, which is deprecated: "
                "setup and teardown live apart, so nothing pairs the engine with its dispose()",
            )
