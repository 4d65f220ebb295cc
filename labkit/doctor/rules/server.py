"""``reload-without-main-guard``: ``uvicorn.run(..., reload=True)`` that runs whenever the module is imported.

uvicorn starts its reloader child and its workers with multiprocessing's
``spawn`` method, on every OS. The child re-imports the main module; an
unguarded ``uvicorn.run`` then runs again inside a process that is still
bootstrapping: ``RuntimeError: An attempt has been made to start a new process
before the current process has finished its bootstrapping phase.``

Not flagged: the call under ``if __name__ == "__main__":``, inside a function
(a ``main()`` for a console script), ``workers=1``, ``reload=False``.
"""

from __future__ import annotations

import ast

from labkit.doctor.context import FileContext
from labkit.doctor.literals import argument, integer, keyword, string
from labkit.doctor.rule import Rule

RELOAD_WITHOUT_MAIN_GUARD = Rule(
    id="reload-without-main-guard",
    finds='`uvicorn.run(..., reload=True or workers=N)` run at import time, outside `if __name__ == "__main__":`',
    hint='Call `uvicorn.run("module:app", reload=True)` only under `if __name__ == "__main__":` '
    "(or use the uvicorn command line).",
    notebooks=("03-reload-crashes",),
)
_RUN = frozenset({"uvicorn.run", "uvicorn.main.run"})


RELOAD_WITH_APP_OBJECT = Rule(
    id="reload-with-app-object",
    finds="`uvicorn.run(app, reload=True)` or `workers=N` with the app object instead of an import string",
    hint='Pass the app as an import string: `uvicorn.run("app.main:app", reload=True)`.',
    notebooks=("03-reload-crashes",),
)


@RELOAD_WITHOUT_MAIN_GUARD.on_call("run")
def reload_without_main_guard(node: ast.Call, ctx: FileContext) -> None:
    if not ctx.at_import_time or not isinstance(node.func, (ast.Name, ast.Attribute)):
        return
    if ctx.symbol(node.func) not in _RUN:
        return
    spawns = []
    reload = keyword(node, "reload")
    if reload is not None and not (isinstance(reload, ast.Constant) and not reload.value):
        spawns.append("reload=True" if isinstance(reload, ast.Constant) else "reload=...")
    workers = keyword(node, "workers")
    if workers is not None:
        count = integer(workers, ctx.consts)
        if count is None or count > 1:
            spawns.append(f"workers={count}" if count is not None else "workers=...")
    if not spawns:
        return
    message = (
        f"uvicorn.run(..., {', '.join(spawns)}) runs whenever this module is imported, outside "
        '`if __name__ == "__main__":`; the spawned child imports it again and crashes with '
        "RuntimeError (bootstrapping phase)"
    )
    ctx.report(RELOAD_WITHOUT_MAIN_GUARD, node, message)


@RELOAD_WITH_APP_OBJECT.on_call("run")
def reload_with_app_object(node: ast.Call, ctx: FileContext) -> None:
    """``uvicorn.run(app, reload=True)``: wherever it is, uvicorn refuses it."""
    if not isinstance(node.func, (ast.Name, ast.Attribute)) or ctx.symbol(node.func) not in _RUN:
        return
    app = argument(node, 0, "app")
    if app is None or isinstance(app, (ast.Constant, ast.JoinedStr)) or string(app, ctx.consts) is not None:
        return
    reload = keyword(node, "reload")
    workers = keyword(node, "workers")
    count = integer(workers, ctx.consts) if workers is not None else None
    if reload is not None and isinstance(reload, ast.Constant) and reload.value is True:
        what = "reload=True"
    elif count is not None and count > 1:
        what = f"workers={count}"
    else:
        return
    ctx.report(
        RELOAD_WITH_APP_OBJECT,
        node,
        f'uvicorn.run() gets the app object with {what}: uvicorn needs an import string ("module:app") to '
        "start the app again in a new process, so it prints a warning and exits",
    )
