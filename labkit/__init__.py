"""labkit: the helpers behind Backend Lifecycle Lab.

What notebooks and scenario checks use is exported here and documented in the README's API
block; everything else lives in private modules (``labkit._name``) and may change.

- a real PostgreSQL: :func:`postgres`, :class:`Postgres`
- a scenario the learner edits: :class:`Lab` (``lab.serve`` runs the app as :class:`AppServer`)
- load and evidence: :func:`load`, :func:`start_load`, :func:`claim`, :func:`wait_until`
- the learner's side: :func:`progress`, :func:`save`, :func:`restore`, :func:`env`,
  :func:`command` (the ``labkit`` CLI)
- a notebook's self-checks: :func:`expect`
- display: :class:`Table`, :class:`Code`, :class:`Tabular` (a result shown as its table)

Names load on first use (PEP 562), so ``import labkit.doctor`` or ``labkit progress`` does not
pay for SQLAlchemy, psycopg2 and httpx. The server backends are the private package
``labkit._postgres``: a public package ``labkit.postgres`` would clash with the function.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# public name -> (private module, name there)
_EXPORTS: dict[str, tuple[str, str]] = {
    "AppExited": ("labkit._appserver", "AppExited"),
    "AppNotAnswering": ("labkit._appserver", "AppNotAnswering"),
    "AppServer": ("labkit._appserver", "AppServer"),
    "Stopped": ("labkit._appserver", "Stopped"),
    "claim": ("labkit._claims", "claim"),
    "command": ("labkit._cli", "main"),
    "Code": ("labkit._display", "Code"),
    "Table": ("labkit._display", "Table"),
    "Tabular": ("labkit._display", "Tabular"),
    "env": ("labkit._envreport", "env"),
    "LabkitError": ("labkit._errors", "LabkitError"),
    "Lab": ("labkit._lab", "Lab"),
    "Ran": ("labkit._lab", "Ran"),
    "Checklist": ("labkit._requirements", "Checklist"),
    "Hint": ("labkit._requirements", "Hint"),
    "expect": ("labkit._expect", "expect"),
    "ExpectationFailed": ("labkit._expect", "ExpectationFailed"),
    "save": ("labkit._saves", "save"),
    "restore": ("labkit._saves", "restore"),
    "LoadResult": ("labkit._load", "LoadResult"),
    "load": ("labkit._load", "load"),
    "start_load": ("labkit._load", "start_load"),
    "free_port": ("labkit._ports", "free_port"),
    "progress": ("labkit._progress", "progress"),
    "Scenario": ("labkit._scenario", "Scenario"),
    "scenarios": ("labkit._scenario", "available"),
    "WaitTimeout": ("labkit._waiting", "WaitTimeout"),
    "wait_until": ("labkit._waiting", "wait_until"),
    "Postgres": ("labkit._postgres", "Postgres"),
    "postgres": ("labkit._postgres", "postgres"),
}

__all__ = [  # the same names as _EXPORTS (a test keeps them equal), spelled out for tools
    "AppExited",
    "AppNotAnswering",
    "AppServer",
    "Checklist",
    "Code",
    "ExpectationFailed",
    "Hint",
    "Lab",
    "LabkitError",
    "LoadResult",
    "Postgres",
    "Ran",
    "Scenario",
    "Stopped",
    "Table",
    "Tabular",
    "WaitTimeout",
    "claim",
    "command",
    "env",
    "expect",
    "free_port",
    "load",
    "postgres",
    "progress",
    "restore",
    "save",
    "scenarios",
    "start_load",
    "wait_until",
]


def __getattr__(name: str) -> Any:
    try:
        module, attribute = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module 'labkit' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module), attribute)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})


if TYPE_CHECKING:
    from labkit._appserver import AppExited, AppNotAnswering, AppServer, Stopped
    from labkit._claims import claim
    from labkit._cli import main as command
    from labkit._display import Code, Table, Tabular
    from labkit._envreport import env
    from labkit._errors import LabkitError
    from labkit._expect import ExpectationFailed, expect
    from labkit._lab import Lab, Ran
    from labkit._load import LoadResult, load, start_load
    from labkit._ports import free_port
    from labkit._postgres import Postgres, postgres
    from labkit._progress import progress
    from labkit._requirements import Checklist, Hint
    from labkit._saves import restore, save
    from labkit._scenario import Scenario
    from labkit._scenario import available as scenarios
    from labkit._waiting import WaitTimeout, wait_until
