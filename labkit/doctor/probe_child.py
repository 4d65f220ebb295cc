"""The ``--app`` probe's child: import ``module:attr`` and describe the app as one JSON line.

Run as ``python -c <this file's text> module:attr`` with the project folder
as the working directory and ``DATABASE_URL`` pointing at a port where
nothing listens. It imports only the standard library before the app, so it
works with whatever the app's environment has, and writes its answer after a
marker so the app's own prints cannot be mistaken for it.
"""

from __future__ import annotations

import importlib
import inspect
import json
import os
import sys
import traceback
from typing import Any

MARK = "LABKIT-DOCTOR-PROBE:"
MAX_ERROR = 500


def emit(payload: dict[str, Any]) -> None:
    stream = sys.__stdout__
    assert stream is not None
    stream.write(MARK + json.dumps(payload) + "\n")
    stream.flush()


def own_file(filename: str, root: str) -> str | None:
    """The path relative to the project, for a file of the project (not of a library or a virtualenv)."""
    if not filename or filename.startswith("<"):  # <string>, <frozen ...>: not a file of the project
        return None
    path = os.path.abspath(filename)
    if not path.startswith(root + os.sep):
        return None
    rel = os.path.relpath(path, root)
    parts = rel.split(os.sep)
    if any(p in ("site-packages", "dist-packages", ".venv", "venv", "node_modules") for p in parts):
        return None
    return rel.replace(os.sep, "/")


def where(tb: Any, root: str) -> list[Any] | None:
    """The deepest frame of the traceback that is in the project's own code: [path, line]."""
    found = None
    for frame, line in traceback.walk_tb(tb):
        rel = own_file(frame.f_code.co_filename, root)
        if rel is not None:
            found = [rel, line]
    return found


def refuse_server_start() -> None:
    """An unguarded uvicorn.run() must fail the import, not serve (or fork a reloader) until the timeout."""
    try:
        import uvicorn
    except Exception:
        return

    def run(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError(
            'uvicorn.run() was called while the app was being imported (it is not under `if __name__ == "__main__":`)'
        )

    uvicorn.run = run


def qualified(obj: Any) -> str:
    if obj is None:
        return ""
    module = getattr(obj, "__module__", None) or ""
    name = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None) or type(obj).__name__
    return f"{module}.{name}" if module else str(name)


def has_lifespan(context: Any, depth: int = 0) -> bool:
    """Whether a real lifespan is behind ``router.lifespan_context`` (FastAPI merges included routers' ones)."""
    if depth > 20 or context is None:
        return False
    if type(context).__name__ == "_DefaultLifespan":
        return False
    inner = getattr(context, "__wrapped__", context)
    if getattr(inner, "__name__", "") == "merged_lifespan" and getattr(inner, "__closure__", None):
        parts = [cell.cell_contents for cell in inner.__closure__]
        return any(
            has_lifespan(part, depth + 1)
            for part in parts
            if callable(part) or type(part).__name__ == "_DefaultLifespan"
        )
    return True


def routes(app: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []

    def walk(items: Any, prefix: str, depth: int) -> None:
        if depth > 20:
            return
        for route in list(items or []):
            original = getattr(route, "original_router", None)
            if original is not None:  # FastAPI's include_router keeps the router and its prefix
                context = getattr(route, "include_context", None)
                walk(getattr(original, "routes", []), prefix + (getattr(context, "prefix", "") or ""), depth + 1)
                continue
            path = getattr(route, "path", "")
            endpoint = getattr(route, "endpoint", None)
            children = getattr(route, "routes", None)
            if endpoint is None and children:
                walk(children, prefix + (path if isinstance(path, str) else ""), depth + 1)
                continue
            found.append(
                {
                    "path": prefix + (path if isinstance(path, str) else ""),
                    "methods": sorted(getattr(route, "methods", None) or []),
                    "name": getattr(route, "name", None),
                    "endpoint": qualified(endpoint) if endpoint is not None else None,
                    "async": inspect.iscoroutinefunction(endpoint) if endpoint is not None else None,
                    "kind": type(route).__name__,
                }
            )

    walk(getattr(app, "routes", []), "", 0)
    return found


def describe(app: Any, root: str, module: Any) -> dict[str, Any]:
    router = getattr(app, "router", None)
    middleware = []
    for entry in getattr(app, "user_middleware", None) or []:
        cls = getattr(entry, "cls", None)
        if cls is None and isinstance(entry, tuple) and entry:
            cls = entry[0]
        middleware.append(qualified(cls))
    hooks = len(getattr(router, "on_startup", None) or []) + len(getattr(router, "on_shutdown", None) or [])
    return {
        "status": "ok",
        "app_type": qualified(type(app)),
        "is_app": router is not None and hasattr(app, "user_middleware"),
        "file": own_file(getattr(module, "__file__", "") or "", root),
        "middleware": middleware,
        "lifespan": has_lifespan(getattr(router, "lifespan_context", None)),
        "startup_hooks": hooks,
        "routes": routes(app),
    }


def main() -> None:
    target = sys.argv[1]
    root = os.getcwd()
    sys.argv = [target]  # an app that reads sys.argv at import sees no probe arguments
    if root not in sys.path:
        sys.path.insert(0, root)
    module_name, _, attr = target.partition(":")
    refuse_server_start()
    try:
        module = importlib.import_module(module_name)
    except BaseException as exc:  # SystemExit too: a settings check that exits is a failed import
        if isinstance(exc, KeyboardInterrupt):
            raise
        missing = getattr(exc, "name", None)
        if (
            isinstance(exc, ModuleNotFoundError)
            and missing
            and (module_name == missing or module_name.startswith(missing + "."))
        ):
            emit({"status": "no-module", "error": str(exc)})
            return
        first = next((line.strip() for line in str(exc).splitlines() if line.strip()), "")
        error = f"{type(exc).__name__}: {first}" if first else type(exc).__name__
        emit({"status": "import-failed", "error": error[:MAX_ERROR], "where": where(exc.__traceback__, root)})
        return
    obj: Any = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            emit(
                {
                    "status": "no-attr",
                    "error": f"module {module_name} has no attribute {attr}",
                    "file": own_file(getattr(module, "__file__", "") or "", root),
                }
            )
            return
        obj = getattr(obj, part)
    emit(describe(obj, root, module))


if __name__ == "__main__":
    main()
