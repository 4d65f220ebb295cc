"""``sql-built-from-strings``: SQL text built with f-strings, ``+``, ``%`` or ``.format()`` and given to ``text()``.

``text()`` is the right wrapper for raw SQL, but only with bound parameters:
``text("select * from users where name = :name")`` plus ``{"name": name}``.
A value pasted into the SQL string is SQL injection waiting for the first
quote character, and a new statement for the server to parse every time
(notebook 05 introduces ``text()``).

Flagged: ``text(...)`` and ``exec_driver_sql(...)`` whose SQL is an f-string,
a concatenation, a ``%`` format or a ``.format()`` call with a value in it,
directly or through a local variable. Not flagged: literals, bound
parameters, holes filled by module-level constants or UPPER_CASE names
(table names in a migration), test files.
"""

from __future__ import annotations

import ast

from labkit.doctor.context import FileContext
from labkit.doctor.literals import HOLE, argument, string
from labkit.doctor.rule import Rule
from labkit.doctor.rules.raw_sql import SQL_START

SQL_FROM_STRINGS = Rule(
    id="sql-built-from-strings",
    finds='`text(f"...{value}...")` (or `+`, `%`, `.format()`) and `exec_driver_sql` with values pasted into SQL',
    hint='Bind values as parameters: `text("... where id = :id")` with `{"id": value}`; build dynamic '
    "queries with `select()`.",
    notebooks=("05-async-session-pitfalls",),
    severity="warning",
)
SQL_FROM_STRINGS.needs()  # reports at text() / exec_driver_sql() calls only


def _constant(node: ast.expr, ctx: FileContext) -> bool:
    """A value that cannot come from a request: a literal, a constant name, an attribute of one."""
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, ast.Name):
        return node.id.isupper() or (ctx.local(node.id) is None and ctx.const(node.id) is not None)
    if isinstance(node, ast.Attribute):
        return node.attr.isupper() or (
            node.attr in ("__tablename__", "name", "fullname", "key")
            and isinstance(node.value, ast.Name)
            and node.value.id[:1].isupper()
        )
    return False


def _pasted(node: ast.expr | None, ctx: FileContext) -> bool:
    """Whether ``node`` builds SQL text with a non-constant value pasted in."""
    if isinstance(node, ast.JoinedStr):
        holes = [part.value for part in node.values if isinstance(part, ast.FormattedValue)]
        return any(not _constant(hole, ctx) for hole in holes)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return any(
            (not _constant(side, ctx) and not isinstance(side, (ast.BinOp, ast.JoinedStr))) or _pasted(side, ctx)
            for side in (node.left, node.right)
        )
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod):
        right = node.right
        values = right.elts if isinstance(right, ast.Tuple) else [right]
        return any(not _constant(value, ctx) for value in values)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format":
        return any(not _constant(value, ctx) for value in [*node.args, *(kw.value for kw in node.keywords)])
    if isinstance(node, ast.Name):
        built = ctx.state.get(_BUILT)
        return isinstance(built, dict) and bool(built.get(node.id, False))
    return False


_BUILT = "sql-built-from-strings:names"  # local name -> whether its SQL text has a non-constant value pasted in


def _uses_text(ctx: FileContext) -> bool:
    """Whether the file calls ``text(`` or ``exec_driver_sql(`` at all (asked once per file)."""
    known = ctx.state.get(_USES_TEXT)
    if known is None:
        known = ctx.state[_USES_TEXT] = "text(" in ctx.text or "exec_driver_sql(" in ctx.text
    return bool(known)


_USES_TEXT = "sql-built-from-strings:uses-text"


@SQL_FROM_STRINGS.on_node(ast.Assign)
def remember_built(node: ast.Assign, ctx: FileContext) -> None:
    """``query = f"... {value} ..."``: remembered, so ``text(query)`` is judged by how the string was built."""
    value = node.value
    if (
        not isinstance(value, (ast.JoinedStr, ast.BinOp, ast.Call))
        or len(node.targets) != 1
        or not isinstance(node.targets[0], ast.Name)
        or not _uses_text(ctx)
    ):
        return
    names: dict[str, bool] = ctx.state.setdefault(_BUILT, {})  # type: ignore[assignment]
    names[node.targets[0].id] = _pasted(value, ctx)


@SQL_FROM_STRINGS.on_call("text", "exec_driver_sql")
def sql_built_from_strings(node: ast.Call, ctx: FileContext) -> None:
    func = node.func
    if ctx.is_test:
        return
    if isinstance(func, ast.Attribute) and func.attr == "exec_driver_sql":
        what = "exec_driver_sql()"
    else:
        symbol = ctx.symbol(func) if isinstance(func, (ast.Name, ast.Attribute)) else None
        if symbol is None or symbol.split(".", 1)[0] not in ("sqlalchemy", "sqlmodel") or not symbol.endswith(".text"):
            return
        what = "text()"
    sql = argument(node, 0, "text" if what == "text()" else "statement")
    if sql is None or not _pasted(sql, ctx):
        return
    shown = string(sql, ctx.consts)
    if shown is not None and not SQL_START.match(shown.replace(HOLE, "x")):
        return  # not SQL (a fragment such as a column list is still flagged when it starts like SQL)
    ctx.report(
        SQL_FROM_STRINGS,
        node,
        f"{what} gets SQL with a value pasted into the string: a quote in that value changes the statement "
        "(SQL injection); bind it as a parameter instead",
    )
