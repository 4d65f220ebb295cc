"""``blocking-db-call-in-async-route``: a sync engine, connection or session used in an ``async def`` route.

An ``async def`` route runs on the event loop itself; a blocking psycopg2
call there stops every other request until the database answers (measured:
20 concurrent requests of ``pg_sleep(0.2)`` took 4.08 s, 0.29 s with asyncpg).
A plain ``def`` route runs in FastAPI's threadpool and is not flagged, nor is
anything in a nested function or lambda (``run_in_threadpool(lambda: ...)``)
or anything awaited (sync methods cannot be awaited).

What counts as sync is decided from the whole project (see
:mod:`labkit.doctor.values`): ``Session(engine)``, ``SessionLocal()`` from a
plain ``sessionmaker``, a parameter annotated ``Session`` (directly or through
an ``Annotated`` alias), an engine from ``create_engine`` or from a factory
declared ``-> Engine``, ``app.state.engine`` set from one of those. One
finding per route, at the first blocking call.
"""

from __future__ import annotations

import ast

from labkit.doctor import values
from labkit.doctor.context import FileContext
from labkit.doctor.literals import dotted
from labkit.doctor.rule import Rule
from labkit.doctor.rules.shared import awaited
from labkit.doctor.values import KIND, UNKNOWN, Value
from labkit.doctor.walker import is_route_decorator

BLOCKING = Rule(
    id="blocking-db-call-in-async-route",
    finds="a sync engine, connection or session used inside an `async def` route",
    hint="Use an async engine / AsyncSession and `await` the call, or make the route a plain `def` "
    "(FastAPI runs it in a worker thread).",
    notebooks=("04-sync-driver-under-async-engine",),
)
BLOCKING.needs("async")  # reports only inside an async def; the other hooks record what helpers do
# Methods that talk to the database (or hand out something that will).
IO_METHODS = frozenset(
    {
        "execute",
        "scalar",
        "scalars",
        "scalar_one",
        "get",
        "commit",
        "flush",
        "refresh",
        "rollback",
        "query",
        "merge",
        "exec",
        "exec_driver_sql",
        "connect",
        "begin",
        "stream",
        "get_one",
        "delete",
    }
)
_MADE = frozenset({values.SESSION, values.CONNECTION})


# Database methods a project's own helper may call on a session it was given (one call level deep).
# Narrower than IO_METHODS: each is a word that makes a function body worth walking, and `get` or
# `delete` would wake most of a project.
HELPER_IO = frozenset(
    {"query", "commit", "execute", "scalars", "scalar", "refresh", "flush", "exec", "scalar_one", "rollback"}
)


def _root(node: ast.expr) -> str:
    while isinstance(node, ast.Attribute):
        node = node.value
    return node.id if isinstance(node, ast.Name) else ""


@BLOCKING.on_call(*HELPER_IO)
def helper_io(node: ast.Call, ctx: FileContext) -> None:
    """Remember that a module-level function calls a database method, and on what (sync or not: decided later)."""
    scopes = ctx.scopes
    if id(node) in awaited(ctx) or ctx.in_async_route or not isinstance(node.func, ast.Attribute):
        return
    if len(scopes) == 2 and scopes[1].kind == "function":
        owner = ctx.module  # a module-level function
    elif len(scopes) == 3 and scopes[1].kind == "class" and scopes[2].kind == "function":
        owner = f"{ctx.module}.{getattr(scopes[1].node, 'name', '?')}"  # a method of a module-level class
    else:
        return
    function = scopes[-1].node
    if isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
        value = ctx.value(node.func.value)
        if value is not UNKNOWN:
            ctx.symbols.does_io(f"{owner}.{function.name}", value)


# Annotations worth a look at the body: a session, a connection, an engine, or an alias such as SessionDep.
_DATABASE_TYPE_WORDS = ("Session", "Connection", "Engine", "Dep", "DB", "Db")


def _may_name_a_database_type(annotation: ast.expr) -> bool:
    """A quick look at the names in an annotation (``Session``, ``Annotated[Session, ...]``, ``SessionDep``)."""
    if isinstance(annotation, ast.Name):
        return any(word in annotation.id for word in _DATABASE_TYPE_WORDS)
    if isinstance(annotation, ast.Attribute):
        return any(word in annotation.attr for word in _DATABASE_TYPE_WORDS)
    if isinstance(annotation, ast.Subscript):
        inner = annotation.slice
        first = inner.elts[0] if isinstance(inner, ast.Tuple) and inner.elts else inner
        return _may_name_a_database_type(first)
    if isinstance(annotation, ast.BinOp):
        return _may_name_a_database_type(annotation.left) or _may_name_a_database_type(annotation.right)
    if isinstance(annotation, ast.Constant) and isinstance(annotation.value, str):
        return any(word in annotation.value for word in _DATABASE_TYPE_WORDS)
    return False


def _owner(ctx: FileContext) -> str | None:
    """Where a function defined here lives: the module, or a module-level class (None when nested deeper)."""
    scopes = ctx.scopes
    if len(scopes) == 1:
        return ctx.module
    if len(scopes) == 2 and scopes[1].kind == "class":
        return f"{ctx.module}.{getattr(scopes[1].node, 'name', '?')}"
    return None


@BLOCKING.on_node(ast.FunctionDef, ast.AsyncFunctionDef)
def session_parameters(node: ast.FunctionDef | ast.AsyncFunctionDef, ctx: FileContext) -> None:
    """A helper that takes a session parameter: what it does with it, even when its body is not walked.

    Records database methods called on the parameter, and the project's functions the parameter
    is handed to (``check_exists(db, ...)``), so a route one or two calls away is judged by them.
    """
    owner = _owner(ctx)
    if owner is None or any(is_route_decorator(d) for d in node.decorator_list):
        return  # a route is judged as a route, not as a helper
    typed: dict[str, Value] = {}
    for arg in (*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs):
        annotation = arg.annotation
        if annotation is None or not _may_name_a_database_type(annotation):
            continue  # `str`, `int`, `UserIn`: the common case, decided without resolving anything
        value = ctx.type_value(annotation).then("instance")
        name = value.symbol.rpartition(".")[2] if value.symbol is not None else ""
        if not name.startswith("Async") and any(word in name for word in _DATABASE_TYPE_WORDS):
            typed[arg.arg] = value  # AsyncSession and friends never block: their bodies need no look
    if not typed:
        return
    function = f"{owner}.{node.name}"
    stack: list[ast.AST] = list(node.body)
    while stack:
        item = stack.pop()
        if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            continue
        if isinstance(item, ast.Call):
            func = item.func
            if (
                isinstance(func, ast.Attribute)
                and isinstance(func.value, ast.Name)
                and func.value.id in typed
                and func.attr in IO_METHODS
            ):
                ctx.symbols.does_io(function, typed[func.value.id])
            elif any(
                isinstance(a, ast.Name) and a.id in typed for a in (*item.args, *(k.value for k in item.keywords))
            ):
                callee = _callee_symbol(func, ctx, owner)
                if callee is not None:
                    ctx.symbols.hands_session(function, callee)
        stack.extend(ast.iter_child_nodes(item))


def _callee_symbol(func: ast.expr, ctx: FileContext, owner: str) -> str | None:
    """The project function a call names: ``helper``, ``module.helper``, ``self.method`` (in a class)."""
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id in ("self", "cls"):
        return f"{owner}.{func.attr}" if owner != ctx.module else None
    if not isinstance(func, (ast.Name, ast.Attribute)):
        return None
    symbol = ctx.symbol(func)
    if symbol is None or symbol.split(".", 1)[0] not in ctx.first_party:
        return None
    return symbol


@BLOCKING.on_call(where="async-route")
def blocking_call(node: ast.Call, ctx: FileContext) -> None:
    if not ctx.in_async_route:
        return
    route = ctx.scope.node
    assert isinstance(route, ast.AsyncFunctionDef)
    group = (ctx.rel, route.lineno, route.col_offset)
    func = node.func
    made: Value | None = None  # what the call is made on, once computed (nothing is bound meanwhile)
    if isinstance(func, (ast.Name, ast.Attribute)) and _root(func) not in ("self", "cls"):
        helper = ctx.symbol(func)
        if helper is None and isinstance(func, ast.Attribute):  # `service = UserService(db)`, then `service.get()`
            made = ctx.value(func.value)
            if made.symbol is not None and made.ops == ("call",):
                helper = f"{made.symbol}.{func.attr}"
            elif made.symbol is not None and len(made.ops) == 1 and made.ops[0].startswith("meth:"):
                helper = f"{made.symbol}.{made.ops[0][5:]}.{func.attr}"  # module.Class(db)
        if (
            helper is not None
            and helper.split(".", 1)[0] in ctx.first_party
            and (ctx.local(_root(func)) is None or isinstance(func, ast.Attribute))
        ):
            ctx.defer(
                BLOCKING,
                node,
                Value(symbol=helper, ops=("io",)),
                values.SYNC_DB,
                "",
                f"{dotted(func) or '...'}() works on a {KIND} and is called inside async def {route.name}(): "
                "it blocks the event loop, so every other request waits for the database",
                group,
            )
    if id(node) in awaited(ctx):
        return
    if isinstance(func, ast.Attribute) and func.attr in IO_METHODS:
        value = made if made is not None else ctx.value(func.value)
        if not ctx.may_become(value, values.SYNC_DB):
            return  # decided already: no message to write
        ctx.defer(
            BLOCKING,
            node,
            value,
            values.SYNC_DB,
            "",
            f"{dotted(func) or '...' + func.attr}() on a {KIND} inside async def {route.name}(): it blocks the "
            "event loop, so every other request waits for the database",
            group,
        )
    elif isinstance(func, (ast.Name, ast.Attribute)):
        # ctx.value(node) is that of the receiver, then the method (keywords may say more: asked then)
        if made is not None and isinstance(func, ast.Attribute) and not node.keywords:
            value = made.then(f"meth:{func.attr}")
        else:
            value = ctx.value(node)
        if not ctx.may_become(value, _MADE):
            return  # decided already: no message to write
        ctx.defer(
            BLOCKING,
            node,
            value,
            _MADE,
            "",
            f"{dotted(func) or '...'}() makes a {KIND} inside async def {route.name}(): its queries block the "
            "event loop, so every other request waits for the database",
            group,
        )
