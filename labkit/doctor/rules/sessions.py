"""``sessionmaker-with-async-engine``: a plain ``sessionmaker`` bound to an async engine.

``sessionmaker(bind=async_engine)`` is accepted when it is created and fails
when it is used: its sessions are sync ``Session`` objects that cannot drive an
``AsyncEngine``. ``async_sessionmaker(engine)`` or
``sessionmaker(engine, class_=AsyncSession)`` are the working forms. A custom
``class_`` is trusted; the engine may come from another module (decided once
every file is read).
"""

from __future__ import annotations

import ast

from labkit.doctor import values
from labkit.doctor.context import FileContext
from labkit.doctor.literals import argument, dotted, keyword
from labkit.doctor.rule import Rule

SESSIONMAKER_ASYNC = Rule(
    id="sessionmaker-with-async-engine",
    finds="`sessionmaker(...)` bound to an async engine without `class_=AsyncSession`",
    hint="Use `async_sessionmaker(engine)` (or `sessionmaker(engine, class_=AsyncSession)`).",
    notebooks=("05-async-session-pitfalls",),
)


@SESSIONMAKER_ASYNC.on_call("sessionmaker")
def sessionmaker_with_async_engine(node: ast.Call, ctx: FileContext) -> None:
    if not isinstance(node.func, (ast.Name, ast.Attribute)):
        return
    symbol = ctx.symbol(node.func)
    if symbol is None or values.external_kind(symbol) != values.FACTORY + values.SESSIONMAKER:
        return
    class_ = keyword(node, "class_")
    if class_ is not None and values.external_kind(ctx.symbol(class_) or "") != values.TYPE + values.SESSION:
        return  # AsyncSession, or a class of the project's own: trusted
    bind = argument(node, 0, "bind")
    if bind is None:
        return
    name = dotted(bind) or "the engine"
    ctx.defer(
        SESSIONMAKER_ASYNC,
        node,
        ctx.value(bind),
        frozenset({values.ASYNC_ENGINE}),
        f"sessionmaker() bound to {name}, an AsyncEngine, makes sync Session objects that fail when used; "
        "use async_sessionmaker()",
    )
