"""labkit: the helpers behind Backend Lifecycle Lab.

A real PostgreSQL (:func:`postgres`), broken scenarios and their fixes
(:class:`Lab`), real uvicorn processes (:meth:`Lab.serve`), the set-up
report (:func:`env`), and the learner's progress (:func:`progress`).

The names below are imported when first used, so ``labkit doctor`` (which
needs none of them) starts without loading SQLAlchemy, httpx or psutil.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from labkit.errors import LabkitError

if TYPE_CHECKING:
    from labkit.appserver import AppExited, AppNotAnswering, AppServer
    from labkit.claims import claim
    from labkit.envreport import env
    from labkit.lab import Lab
    from labkit.learner_progress import progress
    from labkit.load import LoadResult, load, start_load
    from labkit.postgres import Postgres, postgres

_WHERE = {
    "AppExited": "labkit.appserver", "AppNotAnswering": "labkit.appserver", "AppServer": "labkit.appserver",
    "claim": "labkit.claims", "env": "labkit.envreport", "Lab": "labkit.lab",
    "progress": "labkit.learner_progress", "LoadResult": "labkit.load", "load": "labkit.load",
    "start_load": "labkit.load", "Postgres": "labkit.postgres", "postgres": "labkit.postgres",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'labkit' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value  # later uses skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_WHERE))


__all__ = ["AppExited", "AppNotAnswering", "AppServer", "Lab", "LabkitError", "LoadResult", "Postgres", "claim", "env", "load", "postgres", "progress", "start_load"]
