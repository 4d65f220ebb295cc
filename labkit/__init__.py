"""labkit: the helpers behind Backend Lifecycle Lab.

A real PostgreSQL (:func:`postgres`), broken scenarios and their fixes
(:class:`Lab`), real uvicorn processes (:meth:`Lab.serve`), the set-up
report (:func:`env`), and the learner's progress (:func:`progress`).
"""

from labkit.appserver import AppExited, AppNotAnswering, AppServer
from labkit.claims import claim
from labkit.envreport import env
from labkit.errors import LabkitError
from labkit.lab import Lab
from labkit.learner_progress import progress
from labkit.load import LoadResult, load, start_load
from labkit.postgres import Postgres, postgres

__all__ = ["AppExited", "AppNotAnswering", "AppServer", "Lab", "LabkitError", "LoadResult", "Postgres", "claim", "env", "load", "postgres", "progress", "start_load"]
