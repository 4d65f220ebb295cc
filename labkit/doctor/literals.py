"""Reading literal values out of expressions: strings, f-strings with holes, integers.

Rules about URLs and SQL only speak when the text is really written in the
code. An f-string keeps its literal parts and marks each ``{...}`` with
``HOLE``, so ``f"postgresql://{user}:{pw}@db/app"`` is known to carry no
literal password, while ``f"postgresql://app:secret@{host}/app"`` is.
"""

from __future__ import annotations

import ast
from typing import Protocol

HOLE = "\x00"  # stands for an interpolated value; never part of real source text


class Literals(Protocol):
    """Where names bound to literals are looked up (a dict, or the scopes of a walk)."""

    def get(self, name: str, default: object = None, /) -> object: ...


def string(node: ast.AST | None, consts: Literals | None = None) -> str | None:
    """The text of a string literal or f-string (holes as ``HOLE``), or a name bound to one."""
    if isinstance(node, ast.Constant):
        return node.value if isinstance(node.value, str) else None
    if isinstance(node, ast.JoinedStr):
        parts = []
        for part in node.values:
            if isinstance(part, ast.Constant) and isinstance(part.value, str):
                parts.append(part.value)
            else:
                parts.append(HOLE)
        return "".join(parts)
    if isinstance(node, ast.BinOp):
        if isinstance(node.op, ast.Mod):  # "select ... %s" % args: the format is the literal
            return string(node.left, consts)
        if isinstance(node.op, ast.Add):
            left, right = string(node.left, consts), string(node.right, consts)
            if left is None and right is None:
                return None
            return (left if left is not None else HOLE) + (right if right is not None else HOLE)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format":
        return string(node.func.value, consts)
    if isinstance(node, ast.Name) and consts is not None:
        value = consts.get(node.id)
        return value if isinstance(value, str) else None
    return None


def integer(node: ast.AST | None, consts: Literals | None = None) -> int | None:
    """The value of an integer literal (``-1`` included), or a name bound to one.

    ``int("50")`` and ``int(os.environ.get("POOL_SIZE", "50"))`` count too: the
    default is what runs wherever the variable is not set, so it is written in the code.
    """
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = integer(node.operand, consts)
        return None if inner is None else -inner
    if isinstance(node, ast.Name) and consts is not None:
        value = consts.get(node.id)
        return value if type(value) is int else None
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "int"
        and len(node.args) == 1
        and not node.keywords
    ):
        text = environment_default(node.args[0])
        if text is None:
            text = string(node.args[0])
        if text is not None and text.strip().lstrip("-").isdigit():
            return int(text)
        return integer(node.args[0], consts)
    return None


def environment_default(node: ast.AST | None) -> str | None:
    """The literal default of ``os.environ.get("X", "5")`` / ``os.getenv("X", "5")``, else None."""
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and len(node.args) == 2):
        return None
    func = node.func
    if (func.attr == "get" and (dotted(func.value) or "").endswith("environ")) or (
        func.attr == "getenv" and dotted(func.value) == "os"
    ):
        default = node.args[1]
        if isinstance(default, ast.Constant) and isinstance(default.value, str):
            return default.value
    return None


def keyword(call: ast.Call, name: str) -> ast.expr | None:
    """The expression passed as ``name=...``, or ``None``."""
    for kw in call.keywords:
        if kw.arg == name:
            return kw.value
    return None


def argument(call: ast.Call, position: int, name: str) -> ast.expr | None:
    """An argument given by position or by keyword (``create_engine(url)`` / ``create_engine(url=...)``)."""
    if len(call.args) > position and not any(isinstance(a, ast.Starred) for a in call.args[: position + 1]):
        return call.args[position]
    return keyword(call, name)


def dotted(node: ast.AST) -> str | None:
    """``request.app.state.engine`` -> that text; ``None`` for anything but names and attributes."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    return ".".join(reversed(parts))
