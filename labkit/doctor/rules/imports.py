"""``swallowed-import-error``: a ``try`` that lets a part of the app silently fail to load.

When a router or model module fails to import and the handler only passes or
logs, the app starts without it: its routes answer 404, its tables are never
created, and the log line scrolls away. Flagged: a ``try`` whose body imports
one of the project's own modules (or calls ``include_router``) and whose
handler for that error only ``pass``-es, ``continue``-s, logs or prints.

Not flagged, because it is how optional dependencies are meant to work:
third-party imports (``try: import orjson``), handlers that set a fallback
(``orjson = None``) or import an alternative, star imports (the
``local_settings`` pattern), handlers that re-raise or return.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from labkit.doctor.context import FileContext
from labkit.doctor.rule import Rule

SWALLOWED_IMPORT_ERROR = Rule(
    id="swallowed-import-error",
    finds="a `try` around imports of the project's own modules or `include_router` whose handler "
    "swallows the error (`pass`, log only)",
    hint="Let it fail: a router or model module that does not import should stop the app at startup, "
    "not vanish from it.",
    notebooks=("10-one-app-one-database",),
)
SWALLOWED_IMPORT_ERROR.needs("try")
_IMPORT_ERRORS = frozenset({"ImportError", "ModuleNotFoundError", "Exception", "BaseException"})
_LOGGING = frozenset(
    {
        "debug",
        "info",
        "warning",
        "warn",
        "error",
        "exception",
        "critical",
        "log",
        "msg",
        "print",
        "print_exc",
        "print_exception",
        "echo",
        "secho",
    }
)
_NESTED = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda, ast.Try, ast.TryStar)


def _guarded(body: list[ast.stmt], ctx: FileContext) -> Iterator[tuple[ast.AST, str, bool]]:
    """(node, what, is_import) for the project's own imports and include_router calls in a try body."""
    stack: list[ast.AST] = list(reversed(body))
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".", 1)[0] in ctx.first_party:
                    yield node, f"import {alias.name}", True
                    break
        elif isinstance(node, ast.ImportFrom):
            own = node.level > 0 or (node.module or "").split(".", 1)[0] in ctx.first_party
            if own and not any(alias.name == "*" for alias in node.names):
                yield node, f"from {'.' * node.level}{node.module or ''} import ...", True
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "include_router":
            yield node, "include_router()", False
        if not isinstance(node, _NESTED):
            stack.extend(reversed(list(ast.iter_child_nodes(node))))


def _catches_import_errors(handler: ast.ExceptHandler) -> bool:
    kinds = handler.type
    if kinds is None:
        return True
    names = kinds.elts if isinstance(kinds, ast.Tuple) else [kinds]
    for name in names:
        text = name.attr if isinstance(name, ast.Attribute) else name.id if isinstance(name, ast.Name) else ""
        if text in _IMPORT_ERRORS:
            return True
    return False


def _swallows(handler: ast.ExceptHandler) -> str | None:
    """ "passes" / "only logs" when the handler does nothing else; None when it does something."""
    logs = False
    for statement in handler.body:
        if isinstance(statement, (ast.Pass, ast.Continue)):
            continue
        if isinstance(statement, ast.Expr):
            value = statement.value
            if isinstance(value, ast.Constant):
                continue
            if isinstance(value, ast.Call):
                func = value.func
                name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
                if name in _LOGGING:
                    logs = True
                    continue
        return None
    return "only logs" if logs else "passes"


@SWALLOWED_IMPORT_ERROR.on_node(ast.Try, ast.TryStar)
def swallowed_import_error(node: ast.Try, ctx: FileContext) -> None:
    guarded = list(_guarded(node.body, ctx))
    if not guarded:
        return
    for handler in node.handlers:
        verdict = _swallows(handler)
        if verdict is None:
            continue
        relevant = [g for g in guarded if not g[2] or _catches_import_errors(handler)]
        if not relevant:
            continue
        target, what, _ = relevant[0]
        caught = ast.unparse(handler.type) if handler.type is not None else "everything"
        ctx.report(
            SWALLOWED_IMPORT_ERROR,
            target,
            f"{what} is in a try whose handler for {caught} (line {handler.lineno}) {verdict}: if it "
            "fails, the app starts without that part and nothing stops it",
        )
        return
