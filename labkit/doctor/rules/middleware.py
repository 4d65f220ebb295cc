"""``duplicate-middleware``: the same middleware class added twice to the same app.

Starlette does not deduplicate: both copies run on every request (measured:
two calls per request), and the last one added is the outermost. "Same app"
means the same name in the same scope (a module, or one ``create_app()``
body), whether added with ``add_middleware`` or listed in
``FastAPI(middleware=[Middleware(...)])``.

Not flagged: two different classes; additions in arms that never both run
(``if``/``else``, ``try``/``except``, ``match`` cases); two
``BaseHTTPMiddleware`` with different ``dispatch`` functions; and, for a class
of the project's own, two additions with different arguments (it may be
built to be used twice). Starlette's and FastAPI's own middleware are
singletons, so for them different arguments still count.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from labkit.doctor.context import FileContext
from labkit.doctor.literals import argument, dotted, keyword
from labkit.doctor.rule import Rule

DUPLICATE_MIDDLEWARE = Rule(
    id="duplicate-middleware",
    finds="the same middleware class added twice to the same app",
    hint="Add each middleware once, in one place (the last one added is the outermost).",
    notebooks=("09-middleware-twice-and-order",),
)
DUPLICATE_MIDDLEWARE.needs("middleware")  # add_middleware() or middleware=[...]
_STATE = "duplicate-middleware:adds"


@dataclass(frozen=True)
class Added:
    """One middleware added to one app: where, in which branch, with which arguments."""

    app: tuple[int, str]  # (id of the scope node, the app's name)
    cls: str
    node: ast.AST
    branch: tuple[tuple[int, int], ...]
    options: str  # the other arguments, as an AST dump


def _adds(ctx: FileContext) -> list[Added]:
    found = ctx.state.get(_STATE)
    if found is None:
        found = ctx.state[_STATE] = []
    return found  # type: ignore[return-value]


def _scope_id(ctx: FileContext) -> int:
    function = ctx.function
    return id(function.node) if function is not None else 0


def _options(call: ast.Call, skip: int) -> str:
    rest = ast.Call(
        func=ast.Name("_", ast.Load()),
        args=call.args[skip:],
        keywords=[kw for kw in call.keywords if kw.arg not in ("middleware_class", "cls")],
    )
    return ast.dump(rest)


@DUPLICATE_MIDDLEWARE.on_call("add_middleware")
def add_middleware(node: ast.Call, ctx: FileContext) -> None:
    func = node.func
    if not (isinstance(func, ast.Attribute) and func.attr == "add_middleware"):
        return
    app = dotted(func.value)
    cls = argument(node, 0, "middleware_class")
    name = (ctx.symbol(cls) or dotted(cls)) if cls is not None else None
    if app is None or name is None:
        return
    _adds(ctx).append(Added((_scope_id(ctx), app), name, node, ctx.branch, _options(node, 1)))


@DUPLICATE_MIDDLEWARE.on_node(ast.Assign)
def middleware_list(node: ast.Assign, ctx: FileContext) -> None:
    """``app = FastAPI(middleware=[Middleware(CORSMiddleware, ...), ...])``."""
    call = node.value
    if not (isinstance(call, ast.Call) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)):
        return
    listed = keyword(call, "middleware")
    if not isinstance(listed, (ast.List, ast.Tuple)):
        return
    app = (_scope_id(ctx), node.targets[0].id)
    for item in listed.elts:
        if not (isinstance(item, ast.Call) and (dotted(item.func) or "").endswith("Middleware")):
            continue
        cls = argument(item, 0, "cls")
        name = (ctx.symbol(cls) or dotted(cls)) if cls is not None else None
        if name is not None:
            _adds(ctx).append(Added(app, name, item, ctx.branch, _options(item, 1)))


def _exclusive(a: tuple[tuple[int, int], ...], b: tuple[tuple[int, int], ...]) -> bool:
    """Whether two branch paths part ways at some if/try/match (so they never both run)."""
    arms = dict(a)
    return any(owner in arms and arms[owner] != arm for owner, arm in b)


def _same_use(first: Added, second: Added) -> bool:
    if first.options == second.options:
        return True
    last = first.cls.rpartition(".")[2]
    if last == "BaseHTTPMiddleware":
        return False  # one generic wrapper, different dispatch functions: two middlewares
    return first.cls.split(".", 1)[0] in ("starlette", "fastapi")


@DUPLICATE_MIDDLEWARE.on_finish
def finish(ctx: FileContext) -> None:
    seen: dict[tuple[tuple[int, str], str], list[Added]] = {}
    for added in _adds(ctx):
        earlier = seen.setdefault((added.app, added.cls), [])
        for first in earlier:
            if not _exclusive(first.branch, added.branch) and _same_use(first, added):
                short = added.cls.rpartition(".")[2]
                ctx.report(
                    DUPLICATE_MIDDLEWARE,
                    added.node,
                    f"{short} is added to {added.app[1]} again (first at line "
                    f"{getattr(first.node, 'lineno', '?')}): both copies run on every request",
                    subject=short,
                )
                break
        earlier.append(added)
