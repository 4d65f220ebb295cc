"""``session-not-closed``: a session opened for a request and never closed, or one session for the whole process.

A session holds a pooled connection from its first query until it is closed.
A dependency that ``yield``s ``sessions()`` without ``async with`` or a
``finally: close()`` keeps the connection checked out after the response
(and with an open transaction); a handful of requests empty the pool, and the
next ones wait for ``pool_timeout`` (notebook 05). A session made at module
level is shared by every request at once, which a session is not built for.

Flagged: a function that makes a session (a call whose name says session, or
a known sessionmaker) into a name it yields or uses, with neither a ``with``
around it nor a ``close()``; and a session made at import time. Not flagged:
``with``/``async with`` sessions, ``try``/``finally: close()``, a function that
returns the session to its caller, HTTP client sessions (requests, aiohttp).
"""

from __future__ import annotations

import ast
import re

from labkit.doctor import values
from labkit.doctor.context import FileContext
from labkit.doctor.literals import dotted
from labkit.doctor.rule import Rule

SESSION_NOT_CLOSED = Rule(
    id="session-not-closed",
    finds="a dependency or route that opens a session and never closes it; a session made at module level",
    hint="Open it with `async with sessions() as session: yield session` (or close it in `finally`); make one "
    "session per request, never one per process.",
    notebooks=("05-async-session-pitfalls",),
)
SESSION_NOT_CLOSED.needs("session")  # a call that makes a session (_SESSION_CALL)
_FACTORIES = frozenset({"sessionmaker", "async_sessionmaker", "scoped_session", "async_scoped_session"})
_HTTP_ROOTS = frozenset({"requests", "aiohttp", "httpx", "boto3", "botocore", "aioboto3", "urllib3"})
_SESSIONS = frozenset({values.SESSION, values.ASYNC_SESSION})
# What only a session does (a sessionmaker has `begin()` too, so it is not here).
_USES = frozenset(
    {
        "execute",
        "scalar",
        "scalars",
        "add",
        "add_all",
        "commit",
        "query",
        "get",
        "refresh",
        "flush",
        "delete",
        "merge",
        "rollback",
        "exec",
        "scalar_one",
    }
)
# `= SessionLocal()`, `= sessions()`, `= Session(engine)`: a line worth a closer look (most functions have none).
_SESSION_CALL = re.compile(r"=\s*[\w.]*[Ss]ession\w*\(")


def _callee(call: ast.Call) -> str:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""


def _makes_session(call: ast.Call, ctx: FileContext) -> bool:
    name = _callee(call)
    if "session" not in name.lower() or name in _FACTORIES or name.lower().endswith(("maker", "factory_class")):
        return False
    symbol = ctx.symbol(call.func) or ""
    return symbol.split(".", 1)[0] not in _HTTP_ROOTS and "ClientSession" not in name


def _own_statements(function: ast.AST) -> list[ast.AST]:
    """Every node of a function's body, not those of functions or classes nested in it."""
    found: list[ast.AST] = []
    stack = list(getattr(function, "body", []))
    while stack:
        node = stack.pop()
        found.append(node)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            continue
        stack.extend(ast.iter_child_nodes(node))
    return found


@SESSION_NOT_CLOSED.on_node(ast.FunctionDef, ast.AsyncFunctionDef)
def session_in_function(node: ast.FunctionDef | ast.AsyncFunctionDef, ctx: FileContext) -> None:
    if ctx.is_test or not ctx.mentions(_SESSION_CALL, node):
        return
    nodes = _own_statements(node)
    opened: dict[str, ast.Assign] = {}
    for item in nodes:
        if (
            isinstance(item, ast.Assign)
            and len(item.targets) == 1
            and isinstance(item.targets[0], ast.Name)
            and isinstance(item.value, ast.Call)
            and _makes_session(item.value, ctx)
        ):
            opened.setdefault(item.targets[0].id, item)
    if not opened:
        return
    yielded: set[str] = set()
    returned: set[str] = set()
    closed: set[str] = set()
    entered: set[str] = set()
    for item in nodes:
        if isinstance(item, (ast.Yield, ast.Return)) and isinstance(item.value, ast.Name):
            (yielded if isinstance(item, ast.Yield) else returned).add(item.value.id)
        elif (
            isinstance(item, ast.Call)
            and isinstance(item.func, ast.Attribute)
            and item.func.attr in ("close", "aclose", "remove")
            and isinstance(item.func.value, ast.Name)
        ):
            closed.add(item.func.value.id)
        elif isinstance(item, (ast.With, ast.AsyncWith)):
            for with_item in item.items:
                entered.add(dotted(with_item.context_expr) or "")
                context = with_item.context_expr  # `with closing(session)`, `with session_cleanup(session)`
                if isinstance(context, ast.Call):
                    entered.update(a.id for a in context.args if isinstance(a, ast.Name))
        elif isinstance(item, ast.Return) and isinstance(item.value, ast.Call):
            returned.update(a.id for a in item.value.args if isinstance(a, ast.Name))  # handed on
    for name, assign in opened.items():
        if name in closed or name in entered or name in returned:
            continue
        if name in yielded:
            message = (
                f"{node.name}() yields the session {name} but never closes it: after the response its "
                "connection stays checked out, in a transaction, until the pool runs dry"
            )
        elif any(
            isinstance(item, ast.Call)
            and isinstance(item.func, ast.Attribute)
            and item.func.attr in _USES
            and isinstance(item.func.value, ast.Name)
            and item.func.value.id == name
            for item in nodes
        ):
            message = (
                f"{node.name}() opens the session {name} and never closes it: its connection stays "
                "checked out until the garbage collector finds it"
            )
        else:
            continue
        ctx.report(SESSION_NOT_CLOSED, assign, message)


@SESSION_NOT_CLOSED.on_node(ast.Assign)
def session_at_import(node: ast.Assign, ctx: FileContext) -> None:
    """``session = SessionLocal()`` at module level: one session shared by every request."""
    if not ctx.at_import_time or ctx.scope.kind != "module" or ctx.is_test:
        return
    if not (isinstance(node.value, ast.Call) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)):
        return
    name = node.targets[0].id
    ctx.defer(
        SESSION_NOT_CLOSED,
        node,
        ctx.value(node.value),
        _SESSIONS,
        f"{name} = {_callee(node.value)}() makes one session when the module is imported, shared by every "
        "request at once: a session is not safe to share, and its connection is never given back",
    )
