"""``health-check-always-ok``: a health route that catches the database's failure and still answers 200.

A load balancer or an orchestrator reads only the status code. A route that
asks the database inside ``try`` and, in the handler, returns a body saying
"unhealthy" answers 200 all the same: the instance stays in rotation while
every real request fails (notebook 08 measures it).

Flagged: a route whose path or name says health/ready, with a ``try`` that
talks to the database and a broad handler (``Exception``, a SQLAlchemy or
driver error, or bare) that neither raises nor sets a status code. Not
flagged: a liveness route that asks nothing, a handler that raises (an
``HTTPException(503)`` included), a route that sets ``response.status_code``
or returns a ``Response`` with one.
"""

from __future__ import annotations

import ast

from labkit.doctor.context import FileContext
from labkit.doctor.literals import argument, string
from labkit.doctor.rule import Rule
from labkit.doctor.walker import is_route_decorator

HEALTH_ALWAYS_OK = Rule(
    id="health-check-always-ok",
    finds="a health or readiness route that catches the database's error and still answers 200",
    hint="Answer 503 when the database does not answer (`response.status_code = 503`, or raise "
    "`HTTPException(503)`); keep liveness (`/health/live`) free of database calls.",
    notebooks=("08-health-and-outages",),
)
HEALTH_ALWAYS_OK.needs("try")  # the error is caught in a try
_HEALTH_WORDS = ("health", "ready", "readiness")
_DATABASE_CALLS = frozenset(
    {
        "execute",
        "scalar",
        "scalars",
        "connect",
        "begin",
        "exec",
        "exec_driver_sql",
        "ping",
        "fetchval",
        "fetch",
        "fetchrow",
        "run_sync",
    }
)
_BROAD = frozenset(
    {
        "Exception",
        "BaseException",
        "SQLAlchemyError",
        "OperationalError",
        "DBAPIError",
        "InterfaceError",
        "DatabaseError",
        "PostgresError",
        "ConnectionError",
        "OSError",
        "TimeoutError",
        "ConnectionRefusedError",
    }
)


def _is_health_route(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    for decorator in node.decorator_list:
        if not is_route_decorator(decorator):
            continue
        assert isinstance(decorator, ast.Call)
        path = (string(argument(decorator, 0, "path")) or "").lower()
        if any(word in path for word in _HEALTH_WORDS) or any(word in node.name.lower() for word in _HEALTH_WORDS):
            return True
    return False


def _calls(nodes: list[ast.stmt]) -> set[str]:
    names = set()
    for statement in nodes:
        for node in ast.walk(statement):
            if isinstance(node, ast.Call):
                func = node.func
                names.add(
                    func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
                )
    return names


def _broad(handler: ast.ExceptHandler) -> bool:
    if handler.type is None:
        return True
    kinds = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    for kind in kinds:
        name = kind.attr if isinstance(kind, ast.Attribute) else kind.id if isinstance(kind, ast.Name) else ""
        if name in _BROAD:
            return True
    return False


def _sets_a_status(function: ast.AST) -> bool:
    """A raise anywhere, ``x.status_code = ...``, ``status_code=`` given to a response, or an HTTPException."""
    for node in ast.walk(function):
        if isinstance(node, ast.Raise):
            return True
        if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Attribute) and t.attr == "status_code" for t in targets):
                return True
        if isinstance(node, ast.Call):
            if any(kw.arg == "status_code" for kw in node.keywords):
                return True
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
            if name == "HTTPException" or (name.endswith("Response") and len(node.args) >= 2):
                return True
    return False


@HEALTH_ALWAYS_OK.on_node(ast.FunctionDef, ast.AsyncFunctionDef)
def health_always_ok(node: ast.FunctionDef | ast.AsyncFunctionDef, ctx: FileContext) -> None:
    if not node.decorator_list or not _is_health_route(node) or _sets_a_status(node):
        return
    for statement in ast.walk(node):
        if not isinstance(statement, ast.Try) or not (_calls(statement.body) & _DATABASE_CALLS):
            continue
        for handler in statement.handlers:
            if _broad(handler):
                caught = ast.unparse(handler.type) if handler.type is not None else "every error"
                ctx.report(
                    HEALTH_ALWAYS_OK,
                    handler,
                    f"{node.name}() catches {caught} from the database and still answers 200: a load "
                    "balancer reads only the status code, so this instance stays in rotation while the "
                    "database is down",
                )
                return
