"""Bookkeeping several rules rely on: which string constants are docstrings or f-string pieces, which calls are awaited.

Pre-order walking visits a parent before its children, so a parent can mark
a child here and the rule that later meets the child knows its context
without a parent pointer on every node.
"""

from __future__ import annotations

import ast

from labkit.doctor.context import FileContext
from labkit.doctor.rule import Hooks

SKIP_STRINGS = "shared:skip-strings"  # ids of constants that are docstrings or parts of f-strings
AWAITED = "shared:awaited"  # ids of calls under `await`
# Not a rule: hooks several rules rely on, always wired.
SHARED = Hooks()
SHARED.needs()  # bookkeeping: reports nothing itself


def skipped_strings(ctx: FileContext) -> set[int]:
    found = ctx.state.get(SKIP_STRINGS)
    if found is None:
        found = ctx.state[SKIP_STRINGS] = set()
    return found  # type: ignore[return-value]


def awaited(ctx: FileContext) -> set[int]:
    found = ctx.state.get(AWAITED)
    if found is None:
        found = ctx.state[AWAITED] = set()
    return found  # type: ignore[return-value]


@SHARED.on_node(ast.Expr)
def _docstring(node: ast.Expr, ctx: FileContext) -> None:
    value = node.value
    if isinstance(value, ast.Constant) and isinstance(value.value, str):
        skipped_strings(ctx).add(id(value))


@SHARED.on_node(ast.Await)
def _await(node: ast.Await, ctx: FileContext) -> None:
    awaited(ctx).add(id(node.value))
